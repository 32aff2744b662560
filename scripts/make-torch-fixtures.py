#!/usr/bin/env python3
"""Make the torch-exported ONNX fixtures in test/fixtures/torch/.

Tiny GPT-2-like (learned positions, LayerNorm, GELU, tied embedding/head) and LLaMA-like (RMSNorm,
rotary, SwiGLU, untied head) causal LMs, randomly initialised with a fixed seed, exported with
torch.onnx.export at opsets 14 and 17, with inputs input_ids/attention_mask and output logits.
The opset-17 files use constant folding (torch's default: Linear weights become transposed
`onnx::MatMul_*` initializers and GPT-2's tied embedding is written twice, once transposed); the
opset-14 files do not fold, so parameters keep their module names.

Next to each .onnx a .json holds torch's reference numbers for fixed inputs: logits, per-token
log-probs lp[b, t] = log p(ids[b, t] | ids[b, <t]) (0 at t = 0), the scalar
S = sum_{b, t >= 1} weights[b, t] * mask[b, t] * lp[b, t], and dS/dparam for every parameter. The
tied head and embedding are differentiated as separate tensors (each its own gradient), which is
what the ONNX graph holds when they are exported as two initializers. Float arrays are base64 of
little-endian float32. Each parameter also has a fingerprint (shape, first values, sum) so a test
can find its initializer by value whatever the exporter named it.

Run with Debian's torch (apt-get install python3-torch libopenblas0-pthread):
    /usr/bin/python3 scripts/make-torch-fixtures.py
"""
import base64
import json
import math
import os

import torch
import torch.nn as nn

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'test', 'fixtures', 'torch')
VOCAB, DIM, HEADS, LAYERS, MAX_POS = 48, 16, 2, 2, 16
NEG = torch.finfo(torch.float32).min


def b64(t):
    return base64.b64encode(t.detach().contiguous().float().numpy().astype('<f4').tobytes()).decode()


def attention(q, k, v, attention_mask):
    # q, k, v: [B, H, T, hd]; causal plus padding mask filled with the float32 minimum, as HF does.
    T = q.shape[2]
    scores = q @ k.transpose(-1, -2) / math.sqrt(q.shape[-1])
    causal = torch.ones(T, T, dtype=torch.bool).tril()
    keep = causal[None, None] & attention_mask[:, None, None, :].bool()
    scores = scores.masked_fill(~keep, NEG)
    return torch.softmax(scores, dim=-1) @ v


def split_heads(x):
    B, T, _ = x.shape
    return x.view(B, T, HEADS, DIM // HEADS).transpose(1, 2)


def merge_heads(x):
    B, _, T, hd = x.shape
    return x.transpose(1, 2).reshape(B, T, HEADS * hd)


class GPTBlock(nn.Module):
    def __init__(self):
        super().__init__()
        self.ln_1 = nn.LayerNorm(DIM)
        self.c_attn = nn.Linear(DIM, 3 * DIM)
        self.c_proj = nn.Linear(DIM, DIM)
        self.ln_2 = nn.LayerNorm(DIM)
        self.c_fc = nn.Linear(DIM, 4 * DIM)
        self.mlp_proj = nn.Linear(4 * DIM, DIM)

    def forward(self, x, mask):
        q, k, v = self.c_attn(self.ln_1(x)).split(DIM, dim=-1)
        x = x + self.c_proj(merge_heads(attention(split_heads(q), split_heads(k), split_heads(v), mask)))
        return x + self.mlp_proj(nn.functional.gelu(self.c_fc(self.ln_2(x))))


class TinyGPT2(nn.Module):
    def __init__(self):
        super().__init__()
        self.wte = nn.Embedding(VOCAB, DIM)
        self.wpe = nn.Embedding(MAX_POS, DIM)
        self.h = nn.ModuleList([GPTBlock() for _ in range(LAYERS)])
        self.ln_f = nn.LayerNorm(DIM)
        self.lm_head = nn.Linear(DIM, VOCAB, bias=False)
        self.lm_head.weight = self.wte.weight  # tied, as GPT-2 does

    def forward(self, input_ids, attention_mask):
        T = input_ids.shape[1]
        x = self.wte(input_ids) + self.wpe(torch.arange(T))[None]
        for block in self.h:
            x = block(x, attention_mask)
        return self.lm_head(self.ln_f(x))


class RMSNorm(nn.Module):
    def __init__(self, eps=1e-6):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(DIM) + 0.1 * torch.randn(DIM))
        self.eps = eps

    def forward(self, x):
        return self.weight * (x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.eps))


def rotate_half(x):
    a, b = x.chunk(2, dim=-1)
    return torch.cat((-b, a), dim=-1)


class LlamaBlock(nn.Module):
    def __init__(self):
        super().__init__()
        self.input_layernorm = RMSNorm()
        self.q_proj = nn.Linear(DIM, DIM, bias=False)
        self.k_proj = nn.Linear(DIM, DIM, bias=False)
        self.v_proj = nn.Linear(DIM, DIM, bias=False)
        self.o_proj = nn.Linear(DIM, DIM, bias=False)
        self.post_attention_layernorm = RMSNorm()
        self.gate_proj = nn.Linear(DIM, 2 * DIM, bias=False)
        self.up_proj = nn.Linear(DIM, 2 * DIM, bias=False)
        self.down_proj = nn.Linear(2 * DIM, DIM, bias=False)

    def forward(self, x, mask, cos, sin):
        h = self.input_layernorm(x)
        q, k, v = split_heads(self.q_proj(h)), split_heads(self.k_proj(h)), split_heads(self.v_proj(h))
        q = q * cos + rotate_half(q) * sin
        k = k * cos + rotate_half(k) * sin
        x = x + self.o_proj(merge_heads(attention(q, k, v, mask)))
        h = self.post_attention_layernorm(x)
        return x + self.down_proj(nn.functional.silu(self.gate_proj(h)) * self.up_proj(h))


class TinyLlama(nn.Module):
    def __init__(self):
        super().__init__()
        self.embed_tokens = nn.Embedding(VOCAB, DIM)
        self.layers = nn.ModuleList([LlamaBlock() for _ in range(LAYERS)])
        self.norm = RMSNorm()
        self.lm_head = nn.Linear(DIM, VOCAB, bias=False)
        hd = DIM // HEADS
        self.register_buffer('inv_freq', 1.0 / (10000 ** (torch.arange(0, hd, 2).float() / hd)), persistent=False)

    def forward(self, input_ids, attention_mask):
        T = input_ids.shape[1]
        freqs = torch.arange(T).float()[:, None] * self.inv_freq[None]  # rotary of positions: no gradient
        emb = torch.cat((freqs, freqs), dim=-1)
        cos, sin = emb.cos()[None, None], emb.sin()[None, None]
        x = self.embed_tokens(input_ids)
        for block in self.layers:
            x = block(x, attention_mask, cos, sin)
        return self.lm_head(self.norm(x))


def token_logprobs(logits, ids):
    lp = torch.log_softmax(logits[:, :-1], dim=-1).gather(-1, ids[:, 1:, None])[..., 0]
    return torch.cat((torch.zeros(ids.shape[0], 1), lp), dim=1)


def reference(model, ids, mask, weights):
    params = dict(model.named_parameters())
    for p in params.values():
        p.grad = None
    logits = model(ids, mask)
    lp = token_logprobs(logits, ids)
    s = (lp * weights * mask.float()).sum()
    s.backward()
    return logits, lp, s, params


def fingerprint(p):
    flat = p.detach().flatten()
    return {'dims': list(p.shape), 'head': [float(v) for v in flat[:6]], 'sum': float(flat.sum())}


def untie(model):
    """Give GPT-2's head its own copy of the embedding so each gets its own gradient."""
    if isinstance(model, TinyGPT2):
        model.lm_head.weight = nn.Parameter(model.wte.weight.detach().clone())


def export(name, make, opset, fold):
    torch.manual_seed(1234)
    model = make().eval()
    # torch.onnx.export merges initializers holding equal values: LayerNorm's ones and zeros would
    # all collapse into one tensor, so give every norm its own values.
    with torch.no_grad():
        for pname, p in model.named_parameters():
            if 'ln' in pname or 'norm' in pname:
                p.add_(0.1 * torch.randn_like(p))
    ids = torch.randint(0, VOCAB, (2, 8))
    mask = torch.ones(2, 8, dtype=torch.long)
    mask[1, 6:] = 0  # right padding on the second row
    weights = torch.rand(2, 8)
    path = os.path.join(OUT, f'{name}-opset{opset}.onnx')
    torch.onnx.export(
        model, (ids, mask), path, opset_version=opset, do_constant_folding=fold,
        input_names=['input_ids', 'attention_mask'], output_names=['logits'],
        dynamic_axes={'input_ids': {0: 'batch', 1: 'sequence'}, 'attention_mask': {0: 'batch', 1: 'sequence'},
                      'logits': {0: 'batch', 1: 'sequence'}},
    )
    untie(model)
    logits, lp, s, params = reference(model, ids, mask, weights)
    ref = {
        'model': name, 'opset': opset, 'constantFolding': fold, 'torch': torch.__version__,
        'tiedInTorch': name == 'tiny-gpt2', 'vocab': VOCAB,
        'inputIds': ids.flatten().tolist(), 'attentionMask': mask.flatten().tolist(), 'dims': [2, 8],
        'weights': b64(weights), 'logits': b64(logits), 'tokenLogprobs': b64(lp), 'weightedSum': float(s),
        'params': {k: fingerprint(p) for k, p in params.items()},
        'grads': {k: b64(p.grad) for k, p in params.items()},
    }
    with open(os.path.join(OUT, f'{name}-opset{opset}.json'), 'w') as f:
        json.dump(ref, f, indent=1)
    print(path, os.path.getsize(path), 'bytes')


if __name__ == '__main__':
    os.makedirs(OUT, exist_ok=True)
    for opset, fold in ((14, False), (17, True)):
        export('tiny-gpt2', TinyGPT2, opset, fold)
        export('tiny-llama', TinyLlama, opset, fold)
