// Core entry points: errors, lifetime, metadata, creation, conversion, autograd, generators, threads, devices.
#include "vx.h"
#include <ATen/CPUGeneratorImpl.h>
#include <ATen/Parallel.h>
#include <ATen/detail/CUDAHooksInterface.h>
#include <torch/version.h>
#include <cstring>

static thread_local std::string g_last_error;

void vx_set_error(const char* msg) { g_last_error = msg ? msg : "(null)"; }

VX_API const char* vx_last_error() { return g_last_error.c_str(); }

VX_API void vx_free(TH t) { delete t; }  // at::Tensor's destructor does not throw

// ---- metadata -------------------------------------------------------------------------------------------------
VX_API int vx_dim(TH t) { VX_GUARD(-1, return (int)t->dim();) }
VX_API int vx_sizes(TH t, int64_t* out, int cap) {
  VX_GUARD(-1, auto s = t->sizes(); int n = (int)s.size(); for (int i = 0; i < n && i < cap; i++) out[i] = s[i];
           return n;)
}
VX_API int64_t vx_numel(TH t) { VX_GUARD(-1, return t->numel();) }
VX_API int vx_dtype(TH t) { VX_GUARD(-1, return (int)t->scalar_type();) }
VX_API int vx_device(TH t, int* index) {
  VX_GUARD(-1, auto d = t->device(); *index = d.index(); return (int)d.type();)
}
VX_API int vx_requires_grad(TH t) { VX_GUARD(-1, return t->requires_grad() ? 1 : 0;) }
VX_API int vx_is_leaf(TH t) { VX_GUARD(-1, return t->is_leaf() ? 1 : 0;) }
VX_API int vx_is_contiguous(TH t) { VX_GUARD(-1, return t->is_contiguous() ? 1 : 0;) }
VX_API int vx_same_storage(TH a, TH b) { VX_GUARD(-1, return a->is_same(*b) ? 1 : 0;) }

// ---- creation -------------------------------------------------------------------------------------------------
VX_API TH vx_empty(const int64_t* shape, int nd, VX_OPTS_ARGS) { VX_GUARD(nullptr, return vx_wrap(at::empty(vx_shape(shape, nd), VX_OPTS));) }
VX_API TH vx_zeros(const int64_t* shape, int nd, VX_OPTS_ARGS) { VX_GUARD(nullptr, return vx_wrap(at::zeros(vx_shape(shape, nd), VX_OPTS));) }
VX_API TH vx_ones(const int64_t* shape, int nd, VX_OPTS_ARGS) { VX_GUARD(nullptr, return vx_wrap(at::ones(vx_shape(shape, nd), VX_OPTS));) }
VX_API TH vx_full(const int64_t* shape, int nd, VX_SCALAR_ARGS, VX_OPTS_ARGS) {
  VX_GUARD(nullptr, return vx_wrap(at::full(vx_shape(shape, nd), VX_S, VX_OPTS));)
}
VX_API TH vx_arange(double start, double end, double step, VX_OPTS_ARGS) {
  VX_GUARD(nullptr, {
    // integer dtypes get integer bounds, so arange(0, 5) is exactly 0..4
    auto st = static_cast<at::ScalarType>(dtype);
    if (at::isIntegralType(st, /*includeBool=*/false))
      return vx_wrap(at::arange((int64_t)start, (int64_t)end, (int64_t)step, VX_OPTS));
    return vx_wrap(at::arange(start, end, step, VX_OPTS));
  })
}
VX_API TH vx_linspace(double start, double end, int64_t steps, VX_OPTS_ARGS) {
  VX_GUARD(nullptr, return vx_wrap(at::linspace(start, end, steps, VX_OPTS));)
}
VX_API TH vx_eye(int64_t n, VX_OPTS_ARGS) { VX_GUARD(nullptr, return vx_wrap(at::eye(n, VX_OPTS));) }
VX_API TH vx_randn(const int64_t* shape, int nd, void* gen, VX_OPTS_ARGS) {
  VX_GUARD(nullptr, return vx_wrap(at::randn(vx_shape(shape, nd), vx_gen(gen), VX_OPTS));)
}
VX_API TH vx_rand(const int64_t* shape, int nd, void* gen, VX_OPTS_ARGS) {
  VX_GUARD(nullptr, return vx_wrap(at::rand(vx_shape(shape, nd), vx_gen(gen), VX_OPTS));)
}
VX_API TH vx_randint(int64_t low, int64_t high, const int64_t* shape, int nd, void* gen, VX_OPTS_ARGS) {
  VX_GUARD(nullptr, return vx_wrap(at::randint(low, high, vx_shape(shape, nd), vx_gen(gen), VX_OPTS));)
}
VX_API TH vx_randperm(int64_t n, void* gen, VX_OPTS_ARGS) {
  VX_GUARD(nullptr, return vx_wrap(at::randperm(n, vx_gen(gen), VX_OPTS));)
}
// Copies nbytes of raw little-endian data into a new tensor of the given dtype/shape (then moves it to the device).
VX_API TH vx_from_data(const void* data, int64_t nbytes, const int64_t* shape, int nd, VX_OPTS_ARGS) {
  VX_GUARD(nullptr, {
    auto st = static_cast<at::ScalarType>(dtype);
    // Check the byte count before allocating: a hostile shape must not trigger a huge allocation.
    int64_t need = (int64_t)c10::elementSize(st);
    for (int i = 0; i < nd; i++) {
      TORCH_CHECK(shape[i] >= 0, "from_data: negative dimension ", shape[i], " at index ", i);
      TORCH_CHECK(shape[i] == 0 || need <= INT64_MAX / shape[i], "from_data: shape ", vx_shape(shape, nd), " overflows");
      need *= shape[i];
    }
    TORCH_CHECK(need == nbytes, "from_data: shape ", vx_shape(shape, nd), " of ", st, " needs ", need, " bytes, got ", nbytes);
    auto t = at::empty(vx_shape(shape, nd), at::TensorOptions().dtype(st));
    if (need > 0) std::memcpy(t.data_ptr(), data, (size_t)need);
    auto dev = at::Device(static_cast<c10::DeviceType>(dev_type), (c10::DeviceIndex)dev_index);
    if (dev != t.device()) t = t.to(dev);
    if (requires_grad) t.requires_grad_(true);
    return vx_wrap(t);
  })
}

// ---- conversion -----------------------------------------------------------------------------------------------
// Copies the tensor's elements (row-major, on the CPU) into dst; nbytes must equal numel * element size.
VX_API int vx_copy_to(TH t, void* dst, int64_t nbytes) {
  VX_GUARD(-1, {
    auto c = t->detach().to(at::kCPU).contiguous();
    int64_t need = c.numel() * (int64_t)c.element_size();
    TORCH_CHECK(need == nbytes, "copy_to: tensor has ", need, " bytes, buffer ", nbytes);
    if (need > 0) std::memcpy(dst, c.data_ptr(), (size_t)need);
    return 0;
  })
}
VX_API int vx_item(TH t, double* d, int64_t* i) {
  VX_GUARD(-1, {
    auto s = t->item();
    if (s.isFloatingPoint()) { *d = s.toDouble(); *i = (int64_t)*d; return 0; }
    if (s.isBoolean()) { *i = s.toBool() ? 1 : 0; *d = (double)*i; return 1; }
    *i = s.toLong(); *d = (double)*i; return 1;
  })
}
// dtype < 0 keeps the dtype; dev_type < 0 keeps the device.
VX_API TH vx_to(TH t, int dtype, int dev_type, int dev_index, int copy) {
  VX_GUARD(nullptr, {
    auto st = dtype < 0 ? t->scalar_type() : static_cast<at::ScalarType>(dtype);
    auto dev = dev_type < 0 ? t->device() : at::Device(static_cast<c10::DeviceType>(dev_type), (c10::DeviceIndex)dev_index);
    return vx_wrap(t->to(dev, st, /*non_blocking=*/false, copy != 0));
  })
}

// ---- autograd -------------------------------------------------------------------------------------------------
VX_API int vx_set_requires_grad(TH t, int on) { VX_GUARD(-1, t->requires_grad_(on != 0); return 0;) }
// *out = the gradient, or null when there is none.
VX_API int vx_grad(TH t, TH* out) {
  VX_GUARD(-1, { auto g = t->grad(); *out = g.defined() ? vx_wrap(g) : nullptr; return 0; })
}
VX_API int vx_set_grad(TH t, TH g) {
  VX_GUARD(-1, { t->mutable_grad() = g ? *g : at::Tensor(); return 0; })
}
VX_API int vx_backward(TH t, TH gradient, int retain_graph, int create_graph) {
  VX_GUARD(-1, {
    t->backward(gradient ? *gradient : at::Tensor(), c10::optional<bool>(retain_graph != 0), create_graph != 0);
    return 0;
  })
}
VX_API int vx_grad_enabled() { return at::GradMode::is_enabled() ? 1 : 0; }
VX_API void vx_set_grad_enabled(int on) { at::GradMode::set_enabled(on != 0); }
// Replaces t's data with src's (shape/dtype/device may change), keeping t's identity: Module.to() uses this so
// optimizers holding the parameter keep working.
VX_API int vx_set_data(TH t, TH src) { VX_GUARD(-1, t->set_data(*src); return 0;) }

// ---- generators, threads, devices, versions -------------------------------------------------------------------
VX_API void* vx_generator_new(uint64_t seed) {
  VX_GUARD(nullptr, return new at::Generator(at::detail::createCPUGenerator(seed));)
}
VX_API void vx_generator_free(void* g) { delete static_cast<at::Generator*>(g); }
VX_API int vx_generator_set_seed(void* g, uint64_t seed) {
  VX_GUARD(-1, {
    auto* gen = static_cast<at::Generator*>(g);
    std::lock_guard<std::mutex> lock(gen->mutex());
    gen->set_current_seed(seed);
    return 0;
  })
}
VX_API TH vx_generator_get_state(void* g) {
  VX_GUARD(nullptr, {
    auto* gen = static_cast<at::Generator*>(g);
    std::lock_guard<std::mutex> lock(gen->mutex());
    return vx_wrap(gen->get_state());
  })
}
VX_API int vx_generator_set_state(void* g, TH state) {
  VX_GUARD(-1, {
    auto* gen = static_cast<at::Generator*>(g);
    std::lock_guard<std::mutex> lock(gen->mutex());
    gen->set_state(*state);
    return 0;
  })
}
VX_API int vx_manual_seed(uint64_t seed) { VX_GUARD(-1, at::manual_seed(seed); return 0;) }
VX_API int vx_set_num_threads(int n) { VX_GUARD(-1, at::set_num_threads(n); return 0;) }
VX_API int vx_get_num_threads() { VX_GUARD(-1, return at::get_num_threads();) }
VX_API int vx_cuda_device_count() {
  VX_GUARD(0, return at::hasCUDA() ? (int)at::detail::getCUDAHooks().getNumGPUs() : 0;)
}
VX_API int vx_version(int* major, int* minor, int* patch) {
  *major = TORCH_VERSION_MAJOR; *minor = TORCH_VERSION_MINOR; *patch = TORCH_VERSION_PATCH;
  return 0;
}
// at::show_config() (build flags, BLAS, parallel backend); copied into buf, returns the full length.
VX_API int vx_config(char* buf, int cap) {
  VX_GUARD(-1, {
    auto s = at::show_config() + "\nparallel: " + at::get_parallel_info();
    if (buf && cap > 0) { std::strncpy(buf, s.c_str(), (size_t)cap - 1); buf[cap - 1] = 0; }
    return (int)s.size();
  })
}
