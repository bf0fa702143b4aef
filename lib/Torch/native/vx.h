// Common machinery of the shim: export macro, thread-local last error, the guard every entry point uses,
// and small conversions between C arguments and ATen types.
#pragma once
#include <ATen/ATen.h>
#include <c10/core/GradMode.h>
#include <string>
#include <vector>

#define VX_API extern "C" __attribute__((visibility("default")))

typedef at::Tensor* TH;  // opaque tensor handle owned by the managed side (freed by vx_free)

void vx_set_error(const char* msg);

// Every entry point runs its body inside VX_GUARD: a c10::Error (or any other exception) is caught, its message
// stored for vx_last_error() and `fail` returned. Nothing ever unwinds into the managed caller.
#define VX_GUARD(fail, ...)                                                        \
  try {                                                                            \
    __VA_ARGS__                                                                    \
  } catch (const c10::Error& e) {                                                  \
    vx_set_error(e.what_without_backtrace());                                      \
    return fail;                                                                   \
  } catch (const std::exception& e) {                                              \
    vx_set_error(e.what());                                                        \
    return fail;                                                                   \
  } catch (...) {                                                                  \
    vx_set_error("unknown native exception");                                      \
    return fail;                                                                   \
  }

inline TH vx_wrap(at::Tensor t) { return new at::Tensor(std::move(t)); }

// Scalars cross the ABI as (double, int64, kind): kind 0 = floating, 1 = integer, 2 = bool. The kind matters for
// type promotion (int64 tensor + 1 stays int64, + 1.0 becomes float) exactly as in PyTorch.
inline at::Scalar vx_scalar(double d, int64_t i, int kind) {
  if (kind == 1) return at::Scalar(i);
  if (kind == 2) return at::Scalar(i != 0);
  return at::Scalar(d);
}
#define VX_SCALAR_ARGS double sd, int64_t si, int sk
#define VX_S vx_scalar(sd, si, sk)

inline at::IntArrayRef vx_shape(const int64_t* p, int n) { return at::IntArrayRef(p, (size_t)n); }

inline at::TensorOptions vx_options(int dtype, int dev_type, int dev_index, int requires_grad) {
  auto o = at::TensorOptions()
               .dtype(static_cast<at::ScalarType>(dtype))
               .device(at::Device(static_cast<c10::DeviceType>(dev_type), (c10::DeviceIndex)dev_index));
  return o.requires_grad(requires_grad != 0);
}
#define VX_OPTS_ARGS int dtype, int dev_type, int dev_index, int requires_grad
#define VX_OPTS vx_options(dtype, dev_type, dev_index, requires_grad)

inline c10::optional<at::Tensor> vx_opt(TH t) {
  if (t == nullptr) return c10::nullopt;
  return *t;
}

// Optional generator: null means the default (global) generator.
inline c10::optional<at::Generator> vx_gen(void* g) {
  if (g == nullptr) return c10::nullopt;
  return *static_cast<at::Generator*>(g);
}
