// Neural-network functions (torch.nn.functional counterparts) and losses.
#include "vx.h"

VX_API TH vx_linear(TH x, TH w, TH b) { VX_GUARD(nullptr, return vx_wrap(at::linear(*x, *w, vx_opt(b)));) }
VX_API TH vx_layer_norm(TH x, const int64_t* shape, int nd, TH w, TH b, double eps) {
  VX_GUARD(nullptr, return vx_wrap(at::layer_norm(*x, vx_shape(shape, nd), vx_opt(w), vx_opt(b), eps));)
}
VX_API TH vx_embedding(TH w, TH idx, int64_t padding_idx) {
  VX_GUARD(nullptr, return vx_wrap(at::embedding(*w, *idx, padding_idx));)
}
VX_API TH vx_dropout(TH x, double p, int train) { VX_GUARD(nullptr, return vx_wrap(at::dropout(*x, p, train != 0));) }
// reduction: 0 none, 1 mean, 2 sum (at::Reduction).
VX_API TH vx_cross_entropy(TH logits, TH target, TH weight, int64_t reduction, int64_t ignore_index, double label_smoothing) {
  VX_GUARD(nullptr, return vx_wrap(at::cross_entropy_loss(*logits, *target, vx_opt(weight), reduction, ignore_index, label_smoothing));)
}
VX_API TH vx_nll_loss(TH logp, TH target, TH weight, int64_t reduction, int64_t ignore_index) {
  VX_GUARD(nullptr, return vx_wrap(at::nll_loss(*logp, *target, vx_opt(weight), reduction, ignore_index));)
}
VX_API TH vx_mse_loss(TH a, TH b, int64_t reduction) { VX_GUARD(nullptr, return vx_wrap(at::mse_loss(*a, *b, reduction));) }
VX_API TH vx_bce_with_logits(TH x, TH y, TH weight, TH pos_weight, int64_t reduction) {
  VX_GUARD(nullptr, return vx_wrap(at::binary_cross_entropy_with_logits(*x, *y, vx_opt(weight), vx_opt(pos_weight), reduction));)
}
// F.normalize: x / max(||x||_p, eps) along dim.
VX_API TH vx_normalize(TH x, double p, int64_t dim, double eps) {
  VX_GUARD(nullptr, {
    auto n = at::norm(*x, p, {dim}, /*keepdim=*/true).clamp_min(eps).expand_as(*x);
    return vx_wrap(*x / n);
  })
}
VX_API TH vx_cosine_similarity(TH a, TH b, int64_t dim, double eps) {
  VX_GUARD(nullptr, return vx_wrap(at::cosine_similarity(*a, *b, dim, eps));)
}
// 2-D convolution (patch embeddings of vision towers); stride/padding/dilation as (h, w) pairs.
VX_API TH vx_conv2d(TH x, TH w, TH b, const int64_t* stride, const int64_t* padding, const int64_t* dilation, int64_t groups) {
  VX_GUARD(nullptr, return vx_wrap(at::conv2d(*x, *w, vx_opt(b), vx_shape(stride, 2), vx_shape(padding, 2), vx_shape(dilation, 2), groups));)
}
// F.pad with a constant: pad lists (left, right) pairs starting from the last dimension.
VX_API TH vx_pad(TH x, const int64_t* pad, int n, double value) {
  VX_GUARD(nullptr, return vx_wrap(at::constant_pad_nd(*x, vx_shape(pad, n), value));)
}
