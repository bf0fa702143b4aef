namespace ViXml.Torch;

// Managed mirrors of the op table in native/ops.def, in the same order. Native.VerifyOpTables() compares every
// name with the shim's (vx_op_name) when the library loads, so a mismatch fails loudly instead of calling the
// wrong op. Adding an op: a line in ops.def, the same name at the same place here, a method on Tensor.

internal enum UnaryOp
{
    neg, abs, exp, log, log1p, sqrt, rsqrt, square, reciprocal, tanh, sigmoid, relu, gelu, gelu_tanh, silu, cos, sin, erf, erfinv, floor, ceil, round, sign, logical_not, isnan, contiguous, clone, detach, @t, alias, zeros_like, ones_like, empty_like, sum_all, mean_all, max_all, min_all, argmax_all, all, any, nonzero,
}

internal enum BinaryOp
{
    add, sub, mul, div, pow, remainder, matmul, mm, bmm, maximum, minimum, eq, ne, lt, le, gt, ge, logical_and, logical_or, expand_as, type_as, view_as, reshape_as, dot, outer,
}

internal enum ScalarOp
{
    add, sub, mul, div, pow, rsub, rdiv, rpow, remainder, eq, ne, lt, le, gt, ge, clamp_min, clamp_max, full_like, leaky_relu,
}

internal enum UnaryInplaceOp
{
    zero_, neg_, exp_, sqrt_, relu_, sigmoid_, tanh_,
}

internal enum BinaryInplaceOp
{
    add_, sub_, mul_, div_, copy_, pow_,
}

internal enum ScalarInplaceOp
{
    add_, sub_, mul_, div_, pow_, fill_, clamp_min_, clamp_max_,
}

internal enum DimOp
{
    softmax, log_softmax, cumsum, unsqueeze, squeeze_dim, softmax_f32, log_softmax_f32, triu, tril, flatten_from,
}

internal enum DimsOp
{
    sum, mean, amax, amin, logsumexp, @var, var_biased, std, norm2, norm1, sum_f32, mean_f32, permute, view, reshape, expand, repeat, flip,
}
