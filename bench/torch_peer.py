#!/usr/bin/env python3
"""PyTorch eager peer of the training benches (bench/train-step, bench/dpo), driven by bench/peers.mjs.

The models are written so their parameter names and layouts equal the ONNX initializers of
alignkit's builders (src/models/fixtures): GPT-2 with Hugging Face names and Conv1D weights [in, out];
LLaMA/Qwen2 with Hugging Face names and linear weights stored [in, out] (x @ W), RMSNorm, rotary
embeddings in transformers' rotate_half form, grouped-query attention (repeat_kv) and a SiLU-gated
MLP. So alignkit's weights load by name, and loss and gradients compare tensor by tensor.

Tasks: `next-token` (mean cross-entropy of the shifted tokens, as alignkit's next-token loss) and
`dpo` (TRL DPOTrainer's sigmoid loss on summed response log-probs against given reference sums).
Modes: `fwd-bwd` (forward + backward) or `adamw` (plus torch.optim.AdamW's step). LoRA: PEFT's
formulation (y = x W + b + (alpha / r) x A B, A ~ U(-1/sqrt(in), 1/sqrt(in)), B = 0) on every linear
layer of the blocks, base weights frozen.

Protocol: argv[1] is a JSON config; the process prints one JSON `hello` line once the model is built,
then answers each stdin JSON line with one JSON line: {"op": "steps", "n": N} -> {"ms": [...]};
{"op": "check", "dir": D} -> loss and gradient agreement with alignkit's values in D;
{"op": "sgemm", "n": N, "seconds": S} -> OpenBLAS sgemm GFLOP/s; {"op": "exit"}. Every answer
carries the peak RSS so far.
"""
import ctypes
import json
import math
import os
import resource
import sys
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

CFG = json.loads(sys.argv[1])
torch.set_num_threads(CFG.get('threads', 2))
torch.manual_seed(0)


def blas_info():
    """The OpenBLAS core (kernel family) and thread count torch's BLAS calls use."""
    try:
        lib = ctypes.CDLL('libopenblas.so.0')
        lib.openblas_get_corename.restype = ctypes.c_char_p
        lib.openblas_get_config.restype = ctypes.c_char_p
        return {'blas': 'OpenBLAS', 'core': lib.openblas_get_corename().decode(), 'config': lib.openblas_get_config().decode(),
                'blasThreads': lib.openblas_get_num_threads()}
    except OSError:
        return {'blas': 'not OpenBLAS (libopenblas.so.0 not loadable)'}


# ---------------------------------------------------------------- models

class Affine(nn.Module):
    """x @ W + b with W [in, out] (GPT-2's Conv1D layout; torch.onnx's folded MatMul weights)."""

    def __init__(self, n_in, n_out, bias=True):
        super().__init__()
        self.weight = nn.Parameter(torch.randn(n_in, n_out) * 0.02)
        self.bias = nn.Parameter(torch.zeros(n_out)) if bias else None
        self.lora = None

    def forward(self, x):
        y = x @ self.weight
        if self.bias is not None:
            y = y + self.bias
        if self.lora is not None:
            a, b, scale = self.lora
            y = y + (x @ a) @ b * scale
        return y


def add_lora(model, rank, alpha):
    """PEFT LoraLayer on every Affine; everything else frozen. Returns the trainable parameters."""
    for p in model.parameters():
        p.requires_grad_(False)
    params = []
    for name, m in model.named_modules():
        if isinstance(m, Affine):
            n_in, n_out = m.weight.shape
            a = nn.Parameter(torch.empty(n_in, rank).uniform_(-1 / math.sqrt(n_in), 1 / math.sqrt(n_in)))
            b = nn.Parameter(torch.zeros(rank, n_out))
            m.register_parameter('lora_A', a)
            m.register_parameter('lora_B', b)
            m.lora = (a, b, alpha / rank)
            params += [a, b]
    return params


def causal_mask(T):
    return torch.ones(T, T, dtype=torch.bool).tril()


def attention(q, k, v, keep):
    att = (q @ k.transpose(-1, -2)) / math.sqrt(q.shape[-1])
    att = att.masked_fill(~keep, -1e9).softmax(-1)
    return att @ v


class Gpt2Block(nn.Module):
    def __init__(self, d, heads):
        super().__init__()
        self.heads = heads
        self.ln_1, self.ln_2 = nn.LayerNorm(d), nn.LayerNorm(d)
        self.attn = nn.Module()
        self.attn.c_attn, self.attn.c_proj = Affine(d, 3 * d), Affine(d, d)
        self.mlp = nn.Module()
        self.mlp.c_fc, self.mlp.c_proj = Affine(d, 4 * d), Affine(4 * d, d)

    def forward(self, x, keep):
        B, T, D = x.shape
        q, k, v = self.attn.c_attn(self.ln_1(x)).split(D, dim=-1)
        q, k, v = (t.view(B, T, self.heads, D // self.heads).transpose(1, 2) for t in (q, k, v))
        x = x + self.attn.c_proj(attention(q, k, v, keep).transpose(1, 2).reshape(B, T, D))
        return x + self.mlp.c_proj(F.gelu(self.mlp.c_fc(self.ln_2(x)), approximate='tanh'))


class Gpt2(nn.Module):
    """GPT2LMHeadModel: learned positions, pre-LayerNorm blocks, tanh GELU, head tied to wte."""

    def __init__(self, s):
        super().__init__()
        self.transformer = nn.Module()
        self.transformer.wte = nn.Embedding(s['vocab'], s['dim'])
        self.transformer.wpe = nn.Embedding(s['positions'], s['dim'])
        self.transformer.h = nn.ModuleList(Gpt2Block(s['dim'], s['heads']) for _ in range(s['layers']))
        self.transformer.ln_f = nn.LayerNorm(s['dim'])
        self.eps = s.get('eps', 1e-5)
        for m in self.modules():
            if isinstance(m, nn.LayerNorm):
                m.eps = self.eps

    def forward(self, ids, logits_to_keep=0):
        T = ids.shape[1]
        keep = causal_mask(T)
        x = self.transformer.wte(ids) + self.transformer.wpe.weight[:T][None]
        for b in self.transformer.h:
            x = b(x, keep)
        return self.transformer.ln_f(x[:, -logits_to_keep:]) @ self.transformer.wte.weight.t()


class RmsNorm(nn.Module):
    def __init__(self, d, eps):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(d))
        self.eps = eps

    def forward(self, x):
        return self.weight * (x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.eps))


def rotate_half(x):
    x1, x2 = x.chunk(2, dim=-1)
    return torch.cat((-x2, x1), dim=-1)


class LlamaBlock(nn.Module):
    def __init__(self, s):
        super().__init__()
        d, self.h, self.kv = s['dim'], s['heads'], s['kvHeads']
        self.hd = d // self.h
        self.input_layernorm, self.post_attention_layernorm = RmsNorm(d, s['eps']), RmsNorm(d, s['eps'])
        bias = s['attentionBias']
        self.self_attn = nn.Module()
        self.self_attn.q_proj = Affine(d, d, bias)
        self.self_attn.k_proj = Affine(d, self.kv * self.hd, bias)
        self.self_attn.v_proj = Affine(d, self.kv * self.hd, bias)
        self.self_attn.o_proj = Affine(d, d, False)
        self.mlp = nn.Module()
        self.mlp.gate_proj, self.mlp.up_proj = Affine(d, s['intermediate'], False), Affine(d, s['intermediate'], False)
        self.mlp.down_proj = Affine(s['intermediate'], d, False)

    def forward(self, x, keep, cos, sin):
        B, T, D = x.shape
        a = self.self_attn
        y = self.input_layernorm(x)
        q = a.q_proj(y).view(B, T, self.h, self.hd).transpose(1, 2)
        k = a.k_proj(y).view(B, T, self.kv, self.hd).transpose(1, 2)
        v = a.v_proj(y).view(B, T, self.kv, self.hd).transpose(1, 2)
        q, k = q * cos + rotate_half(q) * sin, k * cos + rotate_half(k) * sin
        rep = self.h // self.kv  # repeat_kv
        k = k[:, :, None].expand(B, self.kv, rep, T, self.hd).reshape(B, self.h, T, self.hd)
        v = v[:, :, None].expand(B, self.kv, rep, T, self.hd).reshape(B, self.h, T, self.hd)
        x = x + a.o_proj(attention(q, k, v, keep).transpose(1, 2).reshape(B, T, D))
        m = self.post_attention_layernorm(x)
        return x + self.mlp.down_proj(F.silu(self.mlp.gate_proj(m)) * self.mlp.up_proj(m))


class Llama(nn.Module):
    """LlamaForCausalLM / Qwen2ForCausalLM with the embedding tied to the head."""

    def __init__(self, s):
        super().__init__()
        self.model = nn.Module()
        self.model.embed_tokens = nn.Embedding(s['vocab'], s['dim'])
        self.model.layers = nn.ModuleList(LlamaBlock(s) for _ in range(s['layers']))
        self.model.norm = RmsNorm(s['dim'], s['eps'])
        hd = s['dim'] // s['heads']
        self.inv_freq = 1.0 / (s['ropeTheta'] ** (torch.arange(0, hd, 2).float() / hd))

    def forward(self, ids, logits_to_keep=0):
        T = ids.shape[1]
        freqs = torch.arange(T).float()[:, None] * self.inv_freq[None]
        emb = torch.cat((freqs, freqs), dim=-1)
        cos, sin = emb.cos()[None, None], emb.sin()[None, None]
        keep = causal_mask(T)
        x = self.model.embed_tokens(ids)
        for b in self.model.layers:
            x = b(x, keep, cos, sin)
        return self.model.norm(x[:, -logits_to_keep:]) @ self.model.embed_tokens.weight.t()


MODELS = {'gpt2': Gpt2, 'llama': Llama}

# ---------------------------------------------------------------- the step

S = CFG['shape']
ROWS, T = CFG['rows'], CFG['seq']
t_build = time.perf_counter()
model = MODELS[S['family']](S)
trainable = add_lora(model, CFG['lora']['rank'], CFG['lora']['alpha']) if CFG.get('lora') else list(model.parameters())
optimizer = torch.optim.AdamW(trainable, lr=1e-4, foreach=CFG.get('foreach', False)) if CFG['mode'] == 'adamw' else None
build_ms = (time.perf_counter() - t_build) * 1000
ids = torch.randint(0, S['vocab'], (ROWS, T))
# DPO: chosen rows then rejected rows, as alignkit batches them; response tokens from `prompt` on.
pairs = ROWS // 2
response = torch.zeros(ROWS, T - 1)
response[:, CFG.get('prompt', 0) - 1:] = 1  # log p(ids[t] | ids[<t]) sits at index t - 1
# TRL's DPOConfig(use_logits_to_keep=True), as its users on long prompts set it: the head runs only
# from the first position whose log-prob the loss reads (transformers' `logits_to_keep` slices the
# hidden states before lm_head). alignkit's run graph does the same (LOGITS_FROM).
FIRST = max(CFG.get('prompt', 0) - 1, 0) if CFG['task'] == 'dpo' else 0
LOGITS_TO_KEEP = T - FIRST if FIRST > 0 else 0  # 0 keeps every position (x[:, -0:] is all of x)


def response_logps():
    """log p(ids[t] | ids[<t]) for t > FIRST, [ROWS, T - 1 - FIRST], and the response mask over them."""
    logits = model(ids, LOGITS_TO_KEEP)[:, :-1]
    return logits.log_softmax(-1).gather(-1, ids[:, FIRST + 1:, None]).squeeze(-1), response[:, FIRST:]
reference = torch.randn(ROWS) - 300.0
BETA = 0.1


def loss_fn():
    if CFG['task'] == 'next-token':
        logits = model(ids)[:, :-1]
        return F.cross_entropy(logits.reshape(-1, S['vocab']), ids[:, 1:].reshape(-1))
    logp, mask = response_logps()
    h = (logp * mask).sum(-1) - reference
    return -F.logsigmoid(BETA * (h[:pairs] - h[pairs:])).mean()  # TRL DPOTrainer, loss_type sigmoid


def step():
    for p in trainable:
        p.grad = None
    loss = loss_fn()
    loss.backward()
    if optimizer is not None:
        optimizer.step()
    return loss


def rss_kb():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def read_tensors(d, stem):
    """alignkit's exchange format: <stem>.json {name: {dims, offset}} over <stem>.bin float32 LE.
    Yields (name, tensor) one at a time, read with plain file reads (a memmap's pages would count in RSS)."""
    index = json.load(open(os.path.join(d, stem + '.json')))
    with open(os.path.join(d, stem + '.bin'), 'rb') as f:
        for n, e in index.items():
            f.seek(4 * e['offset'])
            yield n, torch.from_numpy(np.fromfile(f, dtype='<f4', count=int(np.prod(e['dims']))).reshape(e['dims']))


def load_weights(d):
    """alignkit's weights and ids into the model (every parameter must be among them)."""
    global ids
    meta = json.load(open(os.path.join(d, 'meta.json')))
    ids = torch.tensor(meta['ids'], dtype=torch.long).view(ROWS, T)
    params = dict(model.named_parameters())
    loaded = set()
    with torch.no_grad():
        for n, w in read_tensors(d, 'weights'):
            if n in params:
                params[n].copy_(w)
                loaded.add(n)
    missing = set(params) - loaded
    if missing:
        raise SystemExit(f'check: alignkit wrote no values for {sorted(missing)[:5]}')
    return meta, params


def policy_sums(d):
    """Per-row response log-prob sums on alignkit's weights (the DPO check's reference is set from them)."""
    load_weights(d)
    with torch.no_grad():
        logp, mask = response_logps()
        return {'sums': (logp * mask).sum(-1).tolist()}


def check(d):
    """Load alignkit's weights and batch, run one forward+backward, compare loss and gradients."""
    global reference
    meta, params = load_weights(d)
    if 'reference' in meta:
        reference = torch.tensor(meta['reference'], dtype=torch.float32)
    for p in trainable:
        p.grad = None
    loss = loss_fn()
    loss.backward()
    worst, worst_name, compared = 0.0, None, 0
    for n, ours in read_tensors(d, 'grads'):
        theirs = params[n].grad
        if theirs is None:
            continue
        scale = theirs.abs().max().item() or 1.0
        err = (ours - theirs).abs().max().item() / scale
        compared += 1
        if err > worst:
            worst, worst_name = err, n
    return {'lossTorch': loss.item(), 'lossOurs': meta['loss'], 'lossRelErr': abs(loss.item() - meta['loss']) / max(abs(loss.item()), 1e-12),
            'gradMaxRelErr': worst, 'worstTensor': worst_name, 'tensors': compared}


def sgemm(n, seconds):
    a, b = torch.randn(n, n), torch.randn(n, n)
    for _ in range(2):
        a @ b
    reps, t0 = 0, time.perf_counter()
    while time.perf_counter() - t0 < seconds:
        a @ b
        reps += 1
    return {'gflops': 2 * n ** 3 * reps / (time.perf_counter() - t0) / 1e9}


def reply(obj):
    obj['maxRssKb'] = rss_kb()
    print(json.dumps(obj), flush=True)


reply({'hello': {'torch': torch.__version__, 'threads': torch.get_num_threads(), 'buildMs': build_ms,
                 'trainable': sum(p.numel() for p in trainable), 'foreach': CFG.get('foreach', False),
                 'env': {k: os.environ.get(k) for k in ('OPENBLAS_CORETYPE', 'OPENBLAS_L2_SIZE', 'OMP_WAIT_POLICY', 'OMP_NUM_THREADS')},
                 **blas_info()}})
for line in sys.stdin:
    req = json.loads(line)
    if req['op'] == 'steps':
        ms = []
        for _ in range(req['n']):
            t0 = time.perf_counter()
            step()
            ms.append((time.perf_counter() - t0) * 1000)
        reply({'ms': ms})
    elif req['op'] == 'check':
        reply(check(req['dir']))
    elif req['op'] == 'sums':
        reply(policy_sums(req['dir']))
    elif req['op'] == 'sgemm':
        reply(sgemm(req['n'], req['seconds']))
    elif req['op'] == 'exit':
        reply({})
        break
