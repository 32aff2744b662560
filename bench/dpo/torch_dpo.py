#!/usr/bin/env python3
"""PyTorch eager peer of bench/dpo/run.mjs: one DPO training step (forward of chosen + rejected
rows, masked per-token log-probs summed over the response, the DPO loss against cached reference
sums, backward, AdamW update) on the GPT-2 shape of bench/train-step/torch_step.py, whose model
classes and request loop are reused (it is imported with our shape in argv). Protocol: argv = vocab dim layers heads pairs seq prompt; then each
stdin line `N` runs N steps and answers one JSON line {"ms": [...], "maxRssKb": ...}."""
import os
import sys

import torch
import torch.nn.functional as F

V, D, L, H, PAIRS, T, PROMPT = (int(x) for x in sys.argv[1:8])
ROWS = 2 * PAIRS  # chosen rows then rejected rows, as alignkit batches them

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'train-step'))
argv = sys.argv
sys.argv = ['torch_step.py', str(V), str(D), str(L), str(H), str(ROWS), str(T)]
import torch_step  # noqa: E402  (builds its GPT for [ROWS, T])
sys.argv = argv

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


torch_step.serve(step)
