#!/usr/bin/env python3
"""PyTorch eager peer of bench/dpo/run.mjs: one DPO training step (forward of chosen + rejected
rows, masked per-token log-probs summed over the response, the DPO loss against cached reference
sums, backward, AdamW update) on the GPT-2 shape of bench/train-step/torch_step.py, whose model
classes are reused: that script is imported with our shape in argv and an empty stdin, so its
request loop ends at once. Protocol: argv = vocab dim layers heads pairs seq prompt; then each
stdin line `N` runs N steps and answers one JSON line {"ms": [...], "maxRssKb": ...}."""
import io
import json
import os
import resource
import sys
import time

import torch
import torch.nn.functional as F

V, D, L, H, PAIRS, T, PROMPT = (int(x) for x in sys.argv[1:8])
ROWS = 2 * PAIRS  # chosen rows then rejected rows, as alignkit batches them

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'train-step'))
argv, stdin = sys.argv, sys.stdin
sys.argv, sys.stdin = ['torch_step.py', str(V), str(D), str(L), str(H), str(ROWS), str(T)], io.StringIO('')
import torch_step  # noqa: E402  (builds its GPT for [ROWS, T])
sys.argv, sys.stdin = argv, stdin

model = torch_step.model
opt = torch.optim.AdamW(model.parameters(), lr=1e-4)
torch.manual_seed(1)
ids = torch.randint(0, V, (ROWS, T))
mask = torch.zeros(ROWS, T - 1)
mask[:, PROMPT - 1:] = 1  # response tokens (targets shifted by one)
ref = torch.randn(ROWS) - 300.0
beta = 0.1


def step():
    opt.zero_grad(set_to_none=True)
    logp = model(ids)[:, :-1].log_softmax(-1).gather(-1, ids[:, 1:, None]).squeeze(-1)
    seq = (logp * mask).sum(-1)
    h = seq - ref
    loss = -F.logsigmoid(beta * (h[:PAIRS] - h[PAIRS:])).mean()  # TRL DPOTrainer sigmoid loss
    loss.backward()
    opt.step()


for line in sys.stdin:
    n = int(line)
    ms = []
    for _ in range(n):
        t0 = time.perf_counter()
        step()
        ms.append((time.perf_counter() - t0) * 1000)
    print(json.dumps({'ms': ms, 'maxRssKb': resource.getrusage(resource.RUSAGE_SELF).ru_maxrss}), flush=True)
