"""A MiniLM-L3-shaped BERT encoder in plain PyTorch (eager, HF modeling_bert.py numerics), for the side-by-side
benchmarks bench_bert.py (inference) and bench_bert_train.py (training step). No transformers package needed."""
import math

import torch
import torch.nn as nn
import torch.nn.functional as F

MINILM_L3 = dict(vocab_size=30522, hidden_size=384, num_hidden_layers=3, num_attention_heads=12,
                 intermediate_size=1536, max_position_embeddings=512, type_vocab_size=2, layer_norm_eps=1e-12,
                 hidden_dropout_prob=0.1, attention_probs_dropout_prob=0.1)


class Layer(nn.Module):
    def __init__(self, c):
        super().__init__()
        H, I = c["hidden_size"], c["intermediate_size"]
        self.nh = c["num_attention_heads"]
        self.query, self.key, self.value = nn.Linear(H, H), nn.Linear(H, H), nn.Linear(H, H)
        self.attn_out, self.ln1 = nn.Linear(H, H), nn.LayerNorm(H, eps=c["layer_norm_eps"])
        self.inter, self.out, self.ln2 = nn.Linear(H, I), nn.Linear(I, H), nn.LayerNorm(H, eps=c["layer_norm_eps"])
        self.drop = nn.Dropout(c["hidden_dropout_prob"])
        self.attn_drop = nn.Dropout(c["attention_probs_dropout_prob"])

    def forward(self, x, ext):
        B, T, H = x.shape
        hd = H // self.nh

        def heads(t):
            return t.view(B, T, self.nh, hd).permute(0, 2, 1, 3)

        q, k, v = heads(self.query(x)), heads(self.key(x)), heads(self.value(x))
        p = torch.softmax(torch.matmul(q, k.transpose(-1, -2)) / math.sqrt(hd) + ext, dim=-1)
        ctx = torch.matmul(self.attn_drop(p), v).permute(0, 2, 1, 3).reshape(B, T, H)
        a = self.ln1(self.drop(self.attn_out(ctx)) + x)
        return self.ln2(self.drop(self.out(F.gelu(self.inter(a)))) + a)


class Encoder(nn.Module):
    def __init__(self, c):
        super().__init__()
        H = c["hidden_size"]
        self.word = nn.Embedding(c["vocab_size"], H)
        self.pos = nn.Embedding(c["max_position_embeddings"], H)
        self.tok = nn.Embedding(c["type_vocab_size"], H)
        self.ln = nn.LayerNorm(H, eps=c["layer_norm_eps"])
        self.drop = nn.Dropout(c["hidden_dropout_prob"])
        self.layers = nn.ModuleList([Layer(c) for _ in range(c["num_hidden_layers"])])
        for m in self.modules():  # HF init: normal(0.02), zero bias, unit LayerNorm
            if isinstance(m, (nn.Linear, nn.Embedding)):
                nn.init.normal_(m.weight, std=0.02)
            if isinstance(m, nn.Linear):
                nn.init.zeros_(m.bias)

    def forward(self, ids, mask):
        B, T = ids.shape
        pos = torch.arange(T).unsqueeze(0)
        x = self.word(ids) + self.tok(torch.zeros_like(ids)) + self.pos(pos)
        x = self.drop(self.ln(x))
        ext = (1.0 - mask[:, None, None, :].to(x.dtype)) * torch.finfo(x.dtype).min
        for l in self.layers:
            x = l(x, ext)
        return x

    def embed(self, ids, mask):
        h = self.forward(ids, mask)
        m = mask.unsqueeze(-1).to(h.dtype)
        pooled = (h * m).sum(1) / torch.clamp(m.sum(1), min=1e-9)
        return F.normalize(pooled, p=2, dim=1)


def batch(gen, n, t, vocab):
    ids = torch.randint(1, vocab, (n, t), generator=gen)
    mask = torch.ones(n, t, dtype=torch.int64)
    return ids, mask
