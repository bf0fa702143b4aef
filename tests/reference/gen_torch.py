#!/usr/bin/python3
"""Independent reference for ViXml.Torch: Debian's PyTorch (fixed seeds) computes op results, gradients and a
few AdamW steps; everything is written to tests/fixtures/torch/ops.safetensors (written by hand: 8-byte
little-endian header length, JSON header, raw little-endian data). Run with /usr/bin/python3."""
import json, math, os, struct
import torch
import torch.nn.functional as F

torch.manual_seed(0)
torch.set_num_threads(1)
out = {}

def put(name, t):
    out[name] = t.detach().contiguous().cpu()

# ---- op results (float32 inputs) ----
x = torch.randn(4, 6)
y = torch.randn(6, 5)
w = torch.randn(6)
b = torch.randn(6)
ids = torch.tensor([3, 0, 5, 1], dtype=torch.int64)
put("in.x", x); put("in.y", y); put("in.w", w); put("in.b", b); put("in.ids", ids)
put("out.matmul", x @ y)
put("out.softmax", x.softmax(-1))
put("out.log_softmax", x.log_softmax(0))
put("out.gelu", F.gelu(x))
put("out.gelu_tanh", F.gelu(x, approximate="tanh"))
put("out.silu", F.silu(x))
put("out.sigmoid", torch.sigmoid(x))
put("out.layer_norm", F.layer_norm(x, (6,), w, b, 1e-12))
put("out.normalize", F.normalize(x, dim=-1))
put("out.cross_entropy", F.cross_entropy(x, ids))
put("out.cross_entropy_ls", F.cross_entropy(x, ids, label_smoothing=0.1))
v, i = x.topk(3, dim=1)
put("out.topk_values", v); put("out.topk_indices", i)
put("out.sort_values", x.sort(dim=0, descending=True).values)
put("out.cumsum", x.cumsum(1))
put("out.logsumexp", x.logsumexp(1))
put("out.norm", x.norm(dim=1))
put("out.mean_keepdim", x.mean(dim=1, keepdim=True))
put("out.var", x.var(dim=0))
put("out.triu", x.triu(1))
put("out.erfinv", torch.erfinv(x.clamp(-0.99, 0.99)))
put("out.gather", x.gather(1, ids.view(4, 1)))
put("out.masked_fill", x.masked_fill(x > 0.5, -1.0))
put("out.bf16_matmul", (x.to(torch.bfloat16) @ y.to(torch.bfloat16)))
put("out.pow_rsqrt", (x.abs() + 1).pow(1.5) * (x * x + 1).rsqrt())
put("out.embedding", F.embedding(ids, y))

# ---- gradients of an attention-like composite with respect to its inputs (float32) ----
q = torch.randn(2, 4, 8, requires_grad=True)
k = torch.randn(2, 4, 8, requires_grad=True)
vv = torch.randn(2, 4, 8, requires_grad=True)
causal = torch.ones(4, 4).triu(1).bool()
att = (q @ k.transpose(1, 2) / math.sqrt(8)).masked_fill(causal, float("-inf")).softmax(-1)
o = F.layer_norm(att @ vv, (8,))
loss = (F.gelu(o) * torch.linspace(-1, 1, 8)).sum()
loss.backward()
put("in.q", q); put("in.k", k); put("in.v", vv)
put("out.att_loss", loss); put("grad.q", q.grad); put("grad.k", k.grad); put("grad.v", vv.grad)

# ---- AdamW: a small MLP trained for 6 steps (float64), two parameter groups, clipping, warm-up/decay ----
g = torch.Generator().manual_seed(1)
W1 = torch.randn(5, 4, generator=g, dtype=torch.float64)
b1 = torch.randn(5, generator=g, dtype=torch.float64)
W2 = torch.randn(3, 5, generator=g, dtype=torch.float64)
X = torch.randn(8, 4, generator=g, dtype=torch.float64)
T = torch.randint(0, 3, (8,), generator=g)
for n, t in (("adamw.W1", W1), ("adamw.b1", b1), ("adamw.W2", W2), ("adamw.X", X), ("adamw.T", T)):
    put(n + ".init", t)
params = [t.clone().requires_grad_(True) for t in (W1, b1, W2)]
opt = torch.optim.AdamW([{"params": [params[0], params[2]], "weight_decay": 0.1},
                         {"params": [params[1]], "weight_decay": 0.0, "lr": 0.05}],
                        lr=0.02, betas=(0.9, 0.98), eps=1e-6)
warm, total = 2, 6
sched = torch.optim.lr_scheduler.LambdaLR(
    opt, lambda s: s / max(1, warm) if s < warm else max(0.0, (total - s) / max(1, total - warm)))
losses, norms = [], []
for step in range(total):
    opt.zero_grad()
    h = F.gelu(X @ params[0].T + params[1])
    l = F.cross_entropy(h @ params[2].T, T)
    l.backward()
    norms.append(float(torch.nn.utils.clip_grad_norm_(params, 1.0)))
    opt.step()
    sched.step()
    losses.append(float(l))
put("adamw.losses", torch.tensor(losses, dtype=torch.float64))
put("adamw.grad_norms", torch.tensor(norms, dtype=torch.float64))
for n, t in zip(("W1", "b1", "W2"), params):
    put(f"adamw.{n}.final", t)
st = opt.state[params[0]]
put("adamw.W1.exp_avg", st["exp_avg"]); put("adamw.W1.exp_avg_sq", st["exp_avg_sq"])

# ---- random streams: the same seed gives the same numbers as libtorch's C++ generator ----
torch.manual_seed(7)
put("rng.randn_seed7", torch.randn(5))
put("rng.rand_gen3", torch.rand(4, generator=torch.Generator().manual_seed(3)))

# ---- write safetensors ----
DT = {torch.float32: "F32", torch.float64: "F64", torch.int64: "I64", torch.bool: "BOOL", torch.bfloat16: "BF16"}
header, blobs, offset = {}, [], 0
for name in sorted(out):
    t = out[name]
    if t.dtype == torch.bfloat16:
        raw = t.view(torch.int16).numpy().tobytes()
    else:
        raw = t.numpy().tobytes()
    header[name] = {"dtype": DT[t.dtype], "shape": list(t.shape), "data_offsets": [offset, offset + len(raw)]}
    blobs.append(raw)
    offset += len(raw)
header["__metadata__"] = {"generator": "tests/reference/gen_torch.py", "torch": torch.__version__}
h = json.dumps(header, separators=(",", ":")).encode()
h += b" " * ((8 - len(h) % 8) % 8)
dst = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "fixtures", "torch", "ops.safetensors")
tmp = dst + ".tmp"
with open(tmp, "wb") as f:
    f.write(struct.pack("<Q", len(h))); f.write(h)
    for r in blobs: f.write(r)
os.replace(tmp, dst)
print(f"wrote {dst}: {len(out)} tensors, {offset} bytes")
