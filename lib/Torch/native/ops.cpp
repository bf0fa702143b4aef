// Tensor operations: the table-driven families from ops.def, then the hand-written ones with unusual arguments.
#include "vx.h"

// ---- table-driven ops (ops.def) -------------------------------------------------------------------------------
// Each family is one entry point taking the op's index in its table; the switch is generated from ops.def.
enum VxKind { K_UNARY = 0, K_BINARY, K_BSCALAR, K_UNARY_, K_BINARY_, K_BSCALAR_, K_DIM, K_DIMS, K_COUNT };

#define VX_CASE(n, e) case __COUNTER__ - base - 1: return e;
#define VX_CASE_(n, e) case __COUNTER__ - base - 1: e; return;

// The switches live in plain functions (a #include cannot sit inside a macro argument such as VX_GUARD's).
static at::Tensor unary_impl(int op, const at::Tensor& a) {
  enum { base = __COUNTER__ };
  switch (op) {
#define VX_UNARY VX_CASE
#include "ops.def"
  }
  TORCH_CHECK(false, "vx_unary: unknown op ", op);
}
static at::Tensor binary_impl(int op, const at::Tensor& a, const at::Tensor& b) {
  enum { base = __COUNTER__ };
  switch (op) {
#define VX_BINARY VX_CASE
#include "ops.def"
  }
  TORCH_CHECK(false, "vx_binary: unknown op ", op);
}
static at::Tensor bscalar_impl(int op, const at::Tensor& a, const at::Scalar& s) {
  enum { base = __COUNTER__ };
  switch (op) {
#define VX_BSCALAR VX_CASE
#include "ops.def"
  }
  TORCH_CHECK(false, "vx_bscalar: unknown op ", op);
}
static void unary_inplace_impl(int op, at::Tensor& a) {
  enum { base = __COUNTER__ };
  switch (op) {
#define VX_UNARY_ VX_CASE_
#include "ops.def"
  }
  TORCH_CHECK(false, "vx_unary_: unknown op ", op);
}
static void binary_inplace_impl(int op, at::Tensor& a, const at::Tensor& b) {
  enum { base = __COUNTER__ };
  switch (op) {
#define VX_BINARY_ VX_CASE_
#include "ops.def"
  }
  TORCH_CHECK(false, "vx_binary_: unknown op ", op);
}
static void bscalar_inplace_impl(int op, at::Tensor& a, const at::Scalar& s) {
  enum { base = __COUNTER__ };
  switch (op) {
#define VX_BSCALAR_ VX_CASE_
#include "ops.def"
  }
  TORCH_CHECK(false, "vx_bscalar_: unknown op ", op);
}
static at::Tensor dim_impl(int op, const at::Tensor& a, int64_t dim) {
  enum { base = __COUNTER__ };
  switch (op) {
#define VX_DIM VX_CASE
#include "ops.def"
  }
  TORCH_CHECK(false, "vx_dim_op: unknown op ", op);
}
static at::Tensor dims_impl(int op, const at::Tensor& a, at::IntArrayRef dims, bool keepdim) {
  enum { base = __COUNTER__ };
  switch (op) {
#define VX_DIMS VX_CASE
#include "ops.def"
  }
  TORCH_CHECK(false, "vx_dims_op: unknown op ", op);
}

VX_API TH vx_unary(int op, TH a) { VX_GUARD(nullptr, return vx_wrap(unary_impl(op, *a));) }
VX_API TH vx_binary(int op, TH a, TH b) { VX_GUARD(nullptr, return vx_wrap(binary_impl(op, *a, *b));) }
VX_API TH vx_bscalar(int op, TH a, VX_SCALAR_ARGS) { VX_GUARD(nullptr, return vx_wrap(bscalar_impl(op, *a, VX_S));) }
VX_API int vx_unary_(int op, TH a) { VX_GUARD(-1, unary_inplace_impl(op, *a); return 0;) }
VX_API int vx_binary_(int op, TH a, TH b) { VX_GUARD(-1, binary_inplace_impl(op, *a, *b); return 0;) }
VX_API int vx_bscalar_(int op, TH a, VX_SCALAR_ARGS) { VX_GUARD(-1, bscalar_inplace_impl(op, *a, VX_S); return 0;) }
VX_API TH vx_dim_op(int op, TH a, int64_t dim) { VX_GUARD(nullptr, return vx_wrap(dim_impl(op, *a, dim));) }
VX_API TH vx_dims_op(int op, TH a, const int64_t* dims, int nd, int keepdim) {
  VX_GUARD(nullptr, return vx_wrap(dims_impl(op, *a, vx_shape(dims, nd), keepdim != 0));)
}

// Name of entry `index` in family `kind`, or null past the end: the managed side checks its enums against these.
#define VX_NAME(n, e) #n,
static const char* const k_unary[] = {
#define VX_UNARY VX_NAME
#include "ops.def"
    nullptr};
static const char* const k_binary[] = {
#define VX_BINARY VX_NAME
#include "ops.def"
    nullptr};
static const char* const k_bscalar[] = {
#define VX_BSCALAR VX_NAME
#include "ops.def"
    nullptr};
static const char* const k_unary_[] = {
#define VX_UNARY_ VX_NAME
#include "ops.def"
    nullptr};
static const char* const k_binary_[] = {
#define VX_BINARY_ VX_NAME
#include "ops.def"
    nullptr};
static const char* const k_bscalar_[] = {
#define VX_BSCALAR_ VX_NAME
#include "ops.def"
    nullptr};
static const char* const k_dim[] = {
#define VX_DIM VX_NAME
#include "ops.def"
    nullptr};
static const char* const k_dims[] = {
#define VX_DIMS VX_NAME
#include "ops.def"
    nullptr};
static const char* const* const k_tables[K_COUNT] = {k_unary, k_binary, k_bscalar, k_unary_, k_binary_, k_bscalar_, k_dim, k_dims};

VX_API const char* vx_op_name(int kind, int index) {
  if (kind < 0 || kind >= K_COUNT || index < 0) return nullptr;
  const char* const* t = k_tables[kind];
  for (int i = 0; i <= index; i++)
    if (t[i] == nullptr) return nullptr;
  return t[index];
}

// ---- helpers for multi-output ops -------------------------------------------------------------------------------
static int vx_out_list(const std::vector<at::Tensor>& v, TH* out, int cap) {
  TORCH_CHECK((int)v.size() <= cap, "internal: ", v.size(), " outputs but room for ", cap);
  for (size_t i = 0; i < v.size(); i++) out[i] = vx_wrap(v[i]);
  return (int)v.size();
}
static std::vector<at::Tensor> vx_list(TH* ts, int n) {
  std::vector<at::Tensor> v;
  v.reserve((size_t)n);
  for (int i = 0; i < n; i++) v.push_back(*ts[i]);
  return v;
}
static int vx_pair(std::tuple<at::Tensor, at::Tensor> r, TH* a, TH* b) {
  *a = vx_wrap(std::get<0>(r));
  *b = vx_wrap(std::get<1>(r));
  return 0;
}

// ---- arithmetic with extra arguments ----------------------------------------------------------------------------
VX_API TH vx_add_alpha(TH a, TH b, VX_SCALAR_ARGS) { VX_GUARD(nullptr, return vx_wrap(at::add(*a, *b, VX_S));) }
VX_API int vx_add_alpha_(TH a, TH b, VX_SCALAR_ARGS) { VX_GUARD(-1, a->add_(*b, VX_S); return 0;) }
VX_API int vx_addcmul_(TH a, TH t1, TH t2, VX_SCALAR_ARGS) { VX_GUARD(-1, a->addcmul_(*t1, *t2, VX_S); return 0;) }
VX_API int vx_addcdiv_(TH a, TH t1, TH t2, VX_SCALAR_ARGS) { VX_GUARD(-1, a->addcdiv_(*t1, *t2, VX_S); return 0;) }
VX_API int vx_lerp_(TH a, TH end, VX_SCALAR_ARGS) { VX_GUARD(-1, a->lerp_(*end, VX_S); return 0;) }
VX_API TH vx_addmm(TH bias, TH a, TH b, double beta, double alpha) {
  VX_GUARD(nullptr, return vx_wrap(at::addmm(*bias, *a, *b, beta, alpha));)
}
// has_min/has_max select which bounds apply (clamp(min=None) etc.).
VX_API TH vx_clamp(TH a, int has_min, double mn, int has_max, double mx) {
  VX_GUARD(nullptr, {
    c10::optional<at::Scalar> lo, hi;
    if (has_min) lo = at::Scalar(mn);
    if (has_max) hi = at::Scalar(mx);
    return vx_wrap(at::clamp(*a, lo, hi));
  })
}
VX_API int vx_clamp_(TH a, int has_min, double mn, int has_max, double mx) {
  VX_GUARD(-1, {
    c10::optional<at::Scalar> lo, hi;
    if (has_min) lo = at::Scalar(mn);
    if (has_max) hi = at::Scalar(mx);
    a->clamp_(lo, hi);
    return 0;
  })
}
VX_API TH vx_norm(TH a, double p, const int64_t* dims, int nd, int keepdim) {
  VX_GUARD(nullptr, return vx_wrap(at::norm(*a, p, vx_shape(dims, nd), keepdim != 0));)
}
VX_API int vx_allclose(TH a, TH b, double rtol, double atol) { VX_GUARD(-1, return at::allclose(*a, *b, rtol, atol) ? 1 : 0;) }
VX_API int vx_equal(TH a, TH b) { VX_GUARD(-1, return at::equal(*a, *b) ? 1 : 0;) }

// ---- random in place --------------------------------------------------------------------------------------------
VX_API int vx_normal_(TH a, double mean, double std, void* gen) { VX_GUARD(-1, a->normal_(mean, std, vx_gen(gen)); return 0;) }
VX_API int vx_uniform_(TH a, double from, double to, void* gen) { VX_GUARD(-1, a->uniform_(from, to, vx_gen(gen)); return 0;) }
VX_API TH vx_multinomial(TH probs, int64_t n, int replacement, void* gen) {
  VX_GUARD(nullptr, return vx_wrap(at::multinomial(*probs, n, replacement != 0, vx_gen(gen)));)
}

// ---- shape ------------------------------------------------------------------------------------------------------
VX_API TH vx_transpose(TH a, int64_t d0, int64_t d1) { VX_GUARD(nullptr, return vx_wrap(a->transpose(d0, d1));) }
VX_API TH vx_narrow(TH a, int64_t dim, int64_t start, int64_t len) { VX_GUARD(nullptr, return vx_wrap(a->narrow(dim, start, len));) }
VX_API TH vx_select(TH a, int64_t dim, int64_t index) { VX_GUARD(nullptr, return vx_wrap(a->select(dim, index));) }
VX_API TH vx_slice(TH a, int64_t dim, int64_t start, int64_t end, int64_t step) {
  VX_GUARD(nullptr, return vx_wrap(a->slice(dim, start, end, step));)
}
VX_API TH vx_squeeze_all(TH a) { VX_GUARD(nullptr, return vx_wrap(a->squeeze());) }
VX_API TH vx_flatten(TH a, int64_t start, int64_t end) { VX_GUARD(nullptr, return vx_wrap(a->flatten(start, end));) }
VX_API int vx_chunk(TH a, int64_t chunks, int64_t dim, TH* out, int cap) { VX_GUARD(-1, return vx_out_list(a->chunk(chunks, dim), out, cap);) }
VX_API int vx_split(TH a, int64_t size, int64_t dim, TH* out, int cap) { VX_GUARD(-1, return vx_out_list(a->split(size, dim), out, cap);) }
VX_API int vx_split_sizes(TH a, const int64_t* sizes, int n, int64_t dim, TH* out, int cap) {
  VX_GUARD(-1, return vx_out_list(a->split_with_sizes(vx_shape(sizes, n), dim), out, cap);)
}
VX_API int vx_unbind(TH a, int64_t dim, TH* out, int cap) { VX_GUARD(-1, return vx_out_list(a->unbind(dim), out, cap);) }
VX_API TH vx_cat(TH* ts, int n, int64_t dim) { VX_GUARD(nullptr, return vx_wrap(at::cat(vx_list(ts, n), dim));) }
VX_API TH vx_stack(TH* ts, int n, int64_t dim) { VX_GUARD(nullptr, return vx_wrap(at::stack(vx_list(ts, n), dim));) }

// ---- indexing ---------------------------------------------------------------------------------------------------
VX_API TH vx_index_select(TH a, int64_t dim, TH idx) { VX_GUARD(nullptr, return vx_wrap(at::index_select(*a, dim, *idx));) }
VX_API TH vx_gather(TH a, int64_t dim, TH idx) { VX_GUARD(nullptr, return vx_wrap(at::gather(*a, dim, *idx));) }
VX_API TH vx_scatter(TH a, int64_t dim, TH idx, TH src) { VX_GUARD(nullptr, return vx_wrap(at::scatter(*a, dim, *idx, *src));) }
VX_API TH vx_scatter_add(TH a, int64_t dim, TH idx, TH src) { VX_GUARD(nullptr, return vx_wrap(at::scatter_add(*a, dim, *idx, *src));) }
VX_API int vx_scatter_(TH a, int64_t dim, TH idx, TH src) { VX_GUARD(-1, a->scatter_(dim, *idx, *src); return 0;) }
VX_API int vx_index_add_(TH a, int64_t dim, TH idx, TH src) { VX_GUARD(-1, a->index_add_(dim, *idx, *src); return 0;) }
VX_API TH vx_masked_fill(TH a, TH mask, VX_SCALAR_ARGS) { VX_GUARD(nullptr, return vx_wrap(at::masked_fill(*a, *mask, VX_S));) }
VX_API int vx_masked_fill_(TH a, TH mask, VX_SCALAR_ARGS) { VX_GUARD(-1, a->masked_fill_(*mask, VX_S); return 0;) }
VX_API TH vx_masked_select(TH a, TH mask) { VX_GUARD(nullptr, return vx_wrap(at::masked_select(*a, *mask));) }
VX_API TH vx_where(TH cond, TH a, TH b) { VX_GUARD(nullptr, return vx_wrap(at::where(*cond, *a, *b));) }
VX_API TH vx_where_scalar(TH cond, TH a, VX_SCALAR_ARGS) { VX_GUARD(nullptr, return vx_wrap(at::where(*cond, *a, VX_S));) }
// a[i0, i1, ...] with index tensors; a null entry means a full slice (":") at that position.
VX_API TH vx_index(TH a, TH* idx, int n) {
  VX_GUARD(nullptr, {
    c10::List<c10::optional<at::Tensor>> l;
    for (int i = 0; i < n; i++) l.push_back(vx_opt(idx[i]));
    return vx_wrap(at::index(*a, l));
  })
}
VX_API int vx_index_put_(TH a, TH* idx, int n, TH values, int accumulate) {
  VX_GUARD(-1, {
    c10::List<c10::optional<at::Tensor>> l;
    for (int i = 0; i < n; i++) l.push_back(vx_opt(idx[i]));
    a->index_put_(l, *values, accumulate != 0);
    return 0;
  })
}
VX_API TH vx_one_hot(TH a, int64_t num_classes) { VX_GUARD(nullptr, return vx_wrap(at::one_hot(*a, num_classes));) }

// ---- reductions with indices, ordering ----------------------------------------------------------------------------
VX_API int vx_max_dim(TH a, int64_t dim, int keepdim, TH* values, TH* indices) {
  VX_GUARD(-1, return vx_pair(at::max(*a, dim, keepdim != 0), values, indices);)
}
VX_API int vx_min_dim(TH a, int64_t dim, int keepdim, TH* values, TH* indices) {
  VX_GUARD(-1, return vx_pair(at::min(*a, dim, keepdim != 0), values, indices);)
}
VX_API TH vx_argmax(TH a, int64_t dim, int keepdim) { VX_GUARD(nullptr, return vx_wrap(at::argmax(*a, dim, keepdim != 0));) }
VX_API TH vx_argmin(TH a, int64_t dim, int keepdim) { VX_GUARD(nullptr, return vx_wrap(at::argmin(*a, dim, keepdim != 0));) }
VX_API int vx_topk(TH a, int64_t k, int64_t dim, int largest, int sorted, TH* values, TH* indices) {
  VX_GUARD(-1, return vx_pair(at::topk(*a, k, dim, largest != 0, sorted != 0), values, indices);)
}
VX_API int vx_sort(TH a, int64_t dim, int descending, int stable, TH* values, TH* indices) {
  VX_GUARD(-1, return vx_pair(at::sort(*a, c10::optional<bool>(stable != 0), dim, descending != 0), values, indices);)
}
VX_API TH vx_argsort(TH a, int64_t dim, int descending) { VX_GUARD(nullptr, return vx_wrap(at::argsort(*a, dim, descending != 0));) }
