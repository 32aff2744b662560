#!/usr/bin/env python3
"""PyTorch eager peer of bench/train-step/run.mjs: the same GPT-2 shape (learned positions,
pre-LayerNorm blocks, tanh GELU, tied head), forward + next-token cross-entropy + backward.
Protocol: argv = vocab dim layers heads batch seq; then each stdin line `N` runs N steps and
answers one JSON line {"ms": [...], "maxRssKb": ...}."""
import json
import math
import resource
import sys

import torch
import torch.nn as nn
import torch.nn.functional as F

V, D, L, H, B, T = (int(x) for x in sys.argv[1:7])
torch.manual_seed(0)


class Block(nn.Module):
    def __init__(self):
        super().__init__()
        self.ln_1, self.ln_2 = nn.LayerNorm(D), nn.LayerNorm(D)
        self.c_attn, self.c_proj = nn.Linear(D, 3 * D), nn.Linear(D, D)
        self.c_fc, self.mlp_proj = nn.Linear(D, 4 * D), nn.Linear(4 * D, D)
        self.register_buffer('mask', torch.ones(T, T, dtype=torch.bool).tril())

    def forward(self, x):
        q, k, v = self.c_attn(self.ln_1(x)).split(D, dim=-1)
        q, k, v = (t.view(B, T, H, D // H).transpose(1, 2) for t in (q, k, v))
        att = (q @ k.transpose(-1, -2)) / math.sqrt(D // H)
        att = att.masked_fill(~self.mask, float('-inf')).softmax(-1)
        x = x + self.c_proj((att @ v).transpose(1, 2).reshape(B, T, D))
        return x + self.mlp_proj(F.gelu(self.c_fc(self.ln_2(x)), approximate='tanh'))


class GPT(nn.Module):
    def __init__(self):
        super().__init__()
        self.wte, self.wpe = nn.Embedding(V, D), nn.Embedding(T, D)
        self.h = nn.ModuleList(Block() for _ in range(L))
        self.ln_f = nn.LayerNorm(D)

    def forward(self, ids):
        x = self.wte(ids) + self.wpe.weight[None]
        for b in self.h:
            x = b(x)
        return self.ln_f(x) @ self.wte.weight.t()


model = GPT()
ids = torch.randint(0, V, (B, T))


def step():
    for p in model.parameters():
        p.grad = None
    logits = model(ids)
    loss = F.cross_entropy(logits[:, :-1].reshape(-1, V), ids[:, 1:].reshape(-1))
    loss.backward()


import time  # noqa: E402


def serve(step_fn):
    """The request loop bench/torch-peer.mjs speaks: each stdin line `N` runs N steps and answers
    one JSON line {"ms": [...], "maxRssKb": ...}. Shared with bench/dpo/torch_dpo.py."""
    for line in sys.stdin:
        n = int(line)
        ms = []
        for _ in range(n):
            t0 = time.perf_counter()
            step_fn()
            ms.append((time.perf_counter() - t0) * 1000)
        print(json.dumps({'ms': ms, 'maxRssKb': resource.getrusage(resource.RUSAGE_SELF).ru_maxrss}), flush=True)


if __name__ == '__main__':
    serve(step)
