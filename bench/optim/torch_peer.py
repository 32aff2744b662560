"""The torch side of bench/optim: one optimizer over one float32 parameter of n elements, kept alive so
the bench can alternate it with alignkit and the C loop in rounds. Reads a line `N` (steps) on stdin,
answers one JSON line {"sec": [seconds of each step]}; an empty line ends it.

    python3 bench/optim/torch_peer.py <impl> <n> <rows> [--foreach] [--official DIR]

impl: torch.optim classes (sgd, adam, adamw; --foreach for their multi-tensor path) or, with
--official (checkouts named owner+name as the `fetch` tool brings them; nothing of them is in this
repository), the official implementation of exadam, spam, stable-spam, adabelief, adamp, sgdp, sgd-sai
or soap. Run by bench/optim/run.mjs with 2 threads, OMP_WAIT_POLICY=PASSIVE and OPENBLAS_CORETYPE /
OPENBLAS_L2_SIZE unset (its own environment only).
"""
import importlib.util
import json
import os
import sys
import time
import types

import numpy as np
import torch

torch.set_num_threads(2)


def load(root, rel, name):
    spec = importlib.util.spec_from_file_location(name, os.path.join(root, rel))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def official(impl, root, p):
    if impl == 'exadam':
        mod = load(root, 'AhmedMostafa16+EXAdam/exadam.py', 'exadam')
        mod.np = np  # the file calls np.sqrt without importing numpy
        return mod.EXAdam([p], lr=1e-3)
    if impl == 'spam':
        return load(root, 'TianjinYellow+SPAM-Optimizer/galore_torch/SPAM.py', 'spam').AdamW([p], lr=1e-3, no_deprecation_warning=True)
    if impl == 'stable-spam':
        return load(root, 'TianjinYellow+StableSPAM/galore_torch/stablespam.py', 'stablespam').StableSPAM([p], lr=1e-3)
    if impl == 'adabelief':
        sys.modules.setdefault('tabulate', types.SimpleNamespace(tabulate=lambda *a, **k: ''))
        colors = types.SimpleNamespace(RED='', BLUE='', GREEN='', RESET_ALL='')
        sys.modules.setdefault('colorama', types.SimpleNamespace(Fore=colors, Back=colors, Style=colors))
        mod = load(root, 'juntang-zhuang+Adabelief-Optimizer/pypi_packages/adabelief_pytorch0.2.1/adabelief_pytorch/AdaBelief.py', 'adabelief')
        return mod.AdaBelief([p], lr=1e-3, rectify=False, print_change_log=False)
    if impl == 'adamp':
        return load(root, 'clovaai+AdamP/adamp/adamp.py', 'adamp').AdamP([p], lr=1e-3)
    if impl == 'sgdp':
        return load(root, 'clovaai+AdamP/adamp/sgdp.py', 'sgdp').SGDP([p], lr=0.1, momentum=0.9)
    if impl == 'sgd-sai':
        return load(root, 'AnonymousAlethiometer+SGD_SaI/sgd_sai/sgd_sai.py', 'sgd_sai').SGD_sai([p], lr=1e-2)
    if impl == 'soap':
        # The bench's SOAP settings: only the 64-wide side rotated, bases refreshed every 10 steps.
        return load(root, 'nikhilvyas+SOAP/soap.py', 'soap').SOAP([p], lr=3e-3, max_precond_dim=1024, precondition_frequency=10)
    raise SystemExit(f'no official implementation for {impl}')


def main():
    # Official code prints banners and progress: keep stdout for the answers only.
    answers = os.fdopen(os.dup(1), 'w')
    sys.stdout = sys.stderr
    impl, n, rows = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    foreach = '--foreach' in sys.argv
    root = sys.argv[sys.argv.index('--official') + 1] if '--official' in sys.argv else None
    i = torch.arange(n, dtype=torch.float32)
    p = torch.nn.Parameter((((i % 1000) - 500) * 1e-3).view(rows, n // rows))
    p.grad = (((i % 777) - 388) * 1e-4).view(rows, n // rows)
    kw = {'foreach': True} if foreach else {}
    if impl == 'sgd':
        opt = torch.optim.SGD([p], lr=1e-2, momentum=0.9, **kw)
    elif impl == 'adam':
        opt = torch.optim.Adam([p], lr=1e-3, **kw)
    elif impl == 'adamw':
        opt = torch.optim.AdamW([p], lr=1e-3, weight_decay=1e-2, **kw)
    else:
        opt = official(impl, root, p)
    opt.step()  # state initialised (SOAP: the eigenbasis)
    for line in sys.stdin:
        if not line.strip():
            break
        secs = []
        for _ in range(int(line)):
            t0 = time.perf_counter()
            opt.step()
            secs.append(time.perf_counter() - t0)
        print(json.dumps({'sec': secs, 'threads': torch.get_num_threads()}), file=answers, flush=True)


if __name__ == '__main__':
    main()
