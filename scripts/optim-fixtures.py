#!/usr/bin/env python3
"""Write test/fixtures/optim/*.json: trajectories of the official optimizer implementations.

Each case runs an official optimizer class (imported from a checkout given on the command line; no
official code lives in this repository) for 30-40 steps in float64 on three or four tensors of rank
1, 2, 3 (and 4 for AdaHessian), with seeded gradients (and, for AdaHessian, Hessian diagonals), and
records every gradient and every p_t - p_0. test/optim/official-fixtures.test.ts replays the same
gradients through alignkit's optimizer of the same name and compares.

The checkouts are the `fetch`ed repositories, one directory per repository named `owner+name`
(with `@tag` for an older commit), each holding a COMMIT file with the commit hash:

    /usr/bin/python3 scripts/optim-fixtures.py --official /tmp/official [--only exadam,soap]

Shims (environment only, never changing an algorithm): EXAdam's current file uses `np` without
importing numpy, so `np` is provided; AdaHessian draws its Rademacher vector on 'cuda', so
`torch.randint_like` ignores the device; AdaBelief imports tabulate/colorama for its banner only.
bitsandbytes' CUDA kernels cannot run here: its 8-bit case runs the library's own pure-PyTorch
reference of the block-wise update (backends/triton/kernels_optim.py) and its default 32-bit
update (backends/default/ops.py), loaded from the source file without their torch.compile
decorators (torch 1.13 has no torch.compile).
"""
import argparse
import ast
import base64
import importlib.util
import json
import math
import os
import sys
import types

import numpy as np
import torch

torch.set_default_dtype(torch.float64)
OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'test', 'fixtures', 'optim')


def b64(a):
    return base64.b64encode(np.asarray(a, dtype='<f4').tobytes()).decode()


def load(path, name):
    spec = importlib.util.spec_from_file_location(name, path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def functions_from(path, names, namespace):
    """Exec the named top-level functions of a source file, without decorators, into namespace."""
    tree = ast.parse(open(path).read())
    picked = [n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name in names]
    for n in picked:
        n.decorator_list = []
    exec(compile(ast.Module(body=picked, type_ignores=[]), path, 'exec'), namespace)
    return namespace


class Case:
    def __init__(self, name, repo, file, shapes, steps, ours, official_args, seed, spikes=(), hessian=False,
                 orthogonal_every=0, trace=None):
        self.name, self.repo, self.file, self.shapes, self.steps = name, repo, file, shapes, steps
        self.ours, self.official_args, self.seed, self.spikes = ours, official_args, seed, spikes
        self.hessian, self.orthogonal_every, self.trace = hessian, orthogonal_every, trace


def draw(rng, shape):
    return rng.standard_normal(shape).astype(np.float32)


def run_case(case, root, make_opt, step_fn=None):
    rng = np.random.default_rng(case.seed)
    p0 = [(0.5 * draw(rng, s)).astype(np.float32) for s in case.shapes]
    params = [torch.nn.Parameter(torch.tensor(x.astype(np.float64))) for x in p0]
    opt = make_opt(params)
    grads_log, hess_log, delta_log, trace_log = [], [], [], []
    for t in range(1, case.steps + 1):
        gs = [draw(rng, s) for s in case.shapes]
        if t in case.spikes:
            gs = [(g * np.float32(1000.0)).astype(np.float32) for g in gs]
        if case.orthogonal_every and t % case.orthogonal_every == 0:
            # Remove each channel's component along the weight: AdamP's scale-invariance test fires.
            out = []
            for g, p in zip(gs, params):
                if g.ndim > 1:
                    pv = p.detach().numpy().reshape(g.shape[0], -1)
                    gv = g.astype(np.float64).reshape(g.shape[0], -1)
                    gv = gv - (np.sum(gv * pv, 1, keepdims=True) / np.sum(pv * pv, 1, keepdims=True)) * pv
                    g = gv.reshape(g.shape).astype(np.float32)
                out.append(g)
            gs = out
        hs = [draw(rng, s) for s in case.shapes] if case.hessian else None
        if step_fn:
            step_fn(opt, params, gs, hs)
        else:
            for p, g in zip(params, gs):
                p.grad = torch.tensor(g.astype(np.float64))
            opt.step()
        grads_log.append([b64(g) for g in gs])
        if hs is not None:
            hess_log.append([b64(h) for h in hs])
        delta_log.append([b64(p.detach().numpy() - x.astype(np.float64)) for p, x in zip(params, p0)])
        if case.trace:
            trace_log.append(case.trace(opt, params))
    commit = open(os.path.join(root, case.repo, 'COMMIT')).read().strip()
    fixture = {
        'header': {
            'repository': case.repo.split('@')[0].replace('+', '/'),
            'commit': commit,
            'file': case.file,
            'command': '/usr/bin/python3 scripts/optim-fixtures.py --official <checkouts> --only ' + case.name.split('.')[0],
            'torch': torch.__version__,
            'dtype': 'float64' if not case.name.startswith('adam8bit') else 'float32 (bitsandbytes computes in float32)',
        },
        'optimizer': case.ours[0],
        'hyper': case.ours[1],
        'officialArgs': case.official_args,
        'steps': case.steps,
        'params': [{'name': f'p{i}', 'dims': list(s), 'p0': b64(x)} for i, (s, x) in enumerate(zip(case.shapes, p0))],
        'grads': grads_log,
    }
    if not trace_log:  # with a trace, p_t - p_0 is exact from the recorded float32 p_t
        fixture['delta'] = delta_log
    if hess_log:
        fixture['hessian'] = hess_log
    if trace_log:
        fixture['trace'] = trace_log
    os.makedirs(OUT, exist_ok=True)
    with open(os.path.join(OUT, case.name + '.json'), 'w') as f:
        json.dump(fixture, f, separators=(',', ':'))
    print('wrote', case.name, 'max |delta|', max(float(np.max(np.abs(p.detach().numpy() - x))) for p, x in zip(params, p0)))


SHAPES = [(7,), (5, 5), (4, 4, 3)]


def exadam(root, only):
    for tag, v1 in (('AhmedMostafa16+EXAdam', False), ('AhmedMostafa16+EXAdam@v1', True)):
        mod = load(os.path.join(root, tag, 'exadam.py'), 'exadam_' + str(v1))
        mod.np = np  # the current file calls np.sqrt without importing numpy
        args = dict(lr=0.01, weight_decay=0.1)
        ours = {'lr': 0.01, 'weightDecay': 0.1, 'growingStepSize': v1}
        run_case(Case('exadam.v1' if v1 else 'exadam', tag, 'exadam.py', SHAPES, 30, ['exadam', ours], args, 1),
                 root, lambda ps: mod.EXAdam(ps, **args))


def stable_spam(root, only):
    mod = load(os.path.join(root, 'TianjinYellow+StableSPAM', 'galore_torch', 'stablespam.py'), 'stablespam')
    for suffix, args, ours in (
        ('', dict(lr=0.01, weight_decay=0.1, update_proj_gap=10), {'lr': 0.01, 'weightDecay': 0.1, 'resetInterval': 10}),
        ('.cosine', dict(lr=0.01, weight_decay=0.1, update_proj_gap=10, total_T=40, eta_min=0.5),
         {'lr': 0.01, 'weightDecay': 0.1, 'resetInterval': 10, 'totalSteps': 40, 'etaMin': 0.5}),
    ):
        run_case(Case('stable-spam' + suffix, 'TianjinYellow+StableSPAM', 'galore_torch/stablespam.py', SHAPES, 40,
                      ['stable-spam', ours], args, 2, spikes=(7, 18, 33)),
                 root, lambda ps, a=args: mod.StableSPAM(ps, **a))


def spam(root, only):
    mod = load(os.path.join(root, 'TianjinYellow+SPAM-Optimizer', 'galore_torch', 'SPAM.py'), 'spam')
    for suffix, correct in (('', True), ('.no-bias-correction', False)):
        args = dict(lr=0.01, weight_decay=0.1, DeltaT=10, warmup_steps=4, threshold=5000, grad_accu_steps=3,
                    correct_bias=correct, no_deprecation_warning=True)
        ours = {'lr': 0.01, 'weightDecay': 0.1, 'resetInterval': 10, 'warmupSteps': 4, 'threshold': 5000,
                'clipWarmupSteps': 3, 'correctBias': correct}
        run_case(Case('spam' + suffix, 'TianjinYellow+SPAM-Optimizer', 'galore_torch/SPAM.py', SHAPES, 40, ['spam', ours],
                      {k: v for k, v in args.items() if k != 'no_deprecation_warning'}, 3, spikes=(7, 16, 27)),
                 root, lambda ps, a=args: mod.AdamW(ps, **a))


def sgd_sai(root, only):
    mod = load(os.path.join(root, 'AnonymousAlethiometer+SGD_SaI', 'sgd_sai', 'sgd_sai.py'), 'sgd_sai')
    args = dict(lr=0.01, momentum=0.9, eps=1e-8, weight_decay=0.1)
    run_case(Case('sgd-sai', 'AnonymousAlethiometer+SGD_SaI', 'sgd_sai/sgd_sai.py (release 1.0.3)', SHAPES, 30,
                  ['sgd-sai', {'lr': 0.01, 'momentum': 0.9, 'eps': 1e-8, 'weightDecay': 0.1}], args, 4),
             root, lambda ps: mod.SGD_sai(ps, **args))


def adahessian(root, only):
    plain_randint = torch.randint_like
    torch.randint_like = lambda x, *a, device=None, **k: plain_randint(x, *a, **k)  # no 'cuda' here
    mod = load(os.path.join(root, 'amirgholami+adahessian', 'instruction', 'adahessian.py'), 'adahessian')

    def step(opt, params, gs, hs):
        # loss = <g, p> + 1/2 <h, (p - p0)^2> at p = p0: gradient g, Hessian-vector product h * v, so |Hv| = |h|.
        loss = sum((torch.tensor(g.astype(np.float64)) * p).sum() + 0.5 * (torch.tensor(h.astype(np.float64)) * (p - p.detach()) ** 2).sum()
                   for p, g, h in zip(params, gs, hs))
        grads = torch.autograd.grad(loss, params, create_graph=True)
        for p, g in zip(params, grads):
            p.grad = g
        opt.step()
        for p in params:
            p.grad = None

    shapes = SHAPES + [(2, 3, 2, 2)]
    for suffix, args, ours in (
        ('', dict(lr=0.1, weight_decay=0.01), {'lr': 0.1, 'weightDecay': 0.01}),
        ('.blocks', dict(lr=0.1, hessian_power=0.5, spatial_average_block_size=(-1, 5, 2, -1)),
         {'lr': 0.1, 'hessianPower': 0.5, 'spatialAverageBlockSize': [-1, 5, 2, -1]}),
    ):
        run_case(Case('adahessian' + suffix, 'amirgholami+adahessian', 'instruction/adahessian.py', shapes, 30,
                      ['adahessian', ours], {k: list(v) if isinstance(v, tuple) else v for k, v in args.items()}, 5, hessian=True),
                 root, lambda ps, a=args: mod.Adahessian(ps, **a), step)
    torch.randint_like = plain_randint


def soap(root, only):
    mod = load(os.path.join(root, 'nikhilvyas+SOAP', 'soap.py'), 'soap')
    for suffix, shapes, args, ours in (
        # Shapes whose factors are full rank from the first gradient: the eigenbasis is then unique up to signs.
        ('', [(6,), (5, 5), (4, 4, 3)], dict(lr=0.01, weight_decay=0.01, precondition_frequency=5),
         {'lr': 0.01, 'weightDecay': 0.01, 'precondFrequency': 5}),
        ('.max-dim', [(6,), (3, 8), (4, 4, 3)], dict(lr=0.01, weight_decay=0.01, precondition_frequency=5, max_precond_dim=4),
         {'lr': 0.01, 'weightDecay': 0.01, 'precondFrequency': 5, 'maxPrecondDim': 4}),
        ('.merge', [(2,), (8,), (5, 5), (2, 3, 6)],
         dict(lr=0.01, weight_decay=0.01, precondition_frequency=4, max_precond_dim=6, merge_dims=True, precondition_1d=True,
              normalize_grads=True, correct_bias=False, shampoo_beta=0.9),
         {'lr': 0.01, 'weightDecay': 0.01, 'precondFrequency': 4, 'maxPrecondDim': 6, 'mergeDims': True, 'precondition1d': True,
          'normalizeGrads': True, 'correctBias': False, 'shampooBeta': 0.9}),
    ):
        run_case(Case('soap' + suffix, 'nikhilvyas+SOAP', 'soap.py', shapes, 30, ['soap', ours], args, 6),
                 root, lambda ps, a=args: mod.SOAP(ps, **a))


def adamp(root, only):
    mod = load(os.path.join(root, 'clovaai+AdamP', 'adamp', 'adamp.py'), 'adamp')
    sgdp = load(os.path.join(root, 'clovaai+AdamP', 'adamp', 'sgdp.py'), 'sgdp')
    for nesterov in (False, True):
        args = dict(lr=0.01, weight_decay=0.1, nesterov=nesterov)
        run_case(Case('adamp' + ('.nesterov' if nesterov else ''), 'clovaai+AdamP', 'adamp/adamp.py', SHAPES, 30,
                      ['adamp', {'lr': 0.01, 'weightDecay': 0.1, 'nesterov': nesterov}], args, 7, orthogonal_every=2),
                 root, lambda ps, a=args: mod.AdamP(ps, **a))
    args = dict(lr=0.01, momentum=0.9, weight_decay=0.1, nesterov=True)
    run_case(Case('sgdp', 'clovaai+AdamP', 'adamp/sgdp.py', SHAPES, 30,
                  ['sgdp', {'lr': 0.01, 'momentum': 0.9, 'weightDecay': 0.1, 'nesterov': True}], args, 8, orthogonal_every=2),
             root, lambda ps: sgdp.SGDP(ps, **args))


def adabelief(root, only):
    sys.modules.setdefault('tabulate', types.SimpleNamespace(tabulate=lambda *a, **k: ''))
    colors = types.SimpleNamespace(RED='', BLUE='', GREEN='', RESET_ALL='')
    sys.modules.setdefault('colorama', types.SimpleNamespace(Fore=colors, Back=colors, Style=colors))
    pkg = os.path.join(root, 'juntang-zhuang+Adabelief-Optimizer', 'pypi_packages', 'adabelief_pytorch0.2.1', 'adabelief_pytorch', 'AdaBelief.py')
    mod = load(pkg, 'adabelief')
    base = dict(lr=0.01, weight_decay=0.1, print_change_log=False)
    for suffix, extra, ours in (
        ('', dict(), {'rectify': True}),
        ('.amsgrad-l2', dict(rectify=False, amsgrad=True, weight_decouple=False), {'rectify': False, 'amsgrad': True, 'weightDecouple': False}),
        ('.fixed-decay', dict(rectify=False, fixed_decay=True, weight_decay=0.001), {'rectify': False, 'fixedDecay': True, 'weightDecay': 0.001}),
        ('.no-sgd', dict(degenerated_to_sgd=False, amsgrad=True), {'rectify': True, 'degeneratedToSgd': False, 'amsgrad': True}),
    ):
        args = {**base, **extra}
        run_case(Case('adabelief' + suffix, 'juntang-zhuang+Adabelief-Optimizer', 'pypi_packages/adabelief_pytorch0.2.1/adabelief_pytorch/AdaBelief.py',
                      SHAPES, 30, ['adabelief', {'lr': 0.01, 'weightDecay': 0.1, **ours}],
                      {k: v for k, v in args.items() if k != 'print_change_log'}, 9),
                 root, lambda ps, a=args: mod.AdaBelief(ps, **a))


def adam8bit(root, only):
    bnb = os.path.join(root, 'bitsandbytes-foundation+bitsandbytes', 'bitsandbytes')
    ns = {'torch': torch, 'math': math, 'Optional': __import__('typing').Optional, 'sqrt': math.sqrt}
    functions_from(os.path.join(bnb, 'functional.py'), {'create_dynamic_map'}, ns)
    functions_from(os.path.join(bnb, 'backends', 'triton', 'kernels_optim.py'),
                   {'_dequantize_blockwise_pytorch', '_quantize_blockwise_pytorch', 'optimizer_update_8bit_blockwise_pytorch'}, ns)
    functions_from(os.path.join(bnb, 'backends', 'default', 'ops.py'), {'_optimizer_precondition_32bit', '_optimizer_update_32bit'}, ns)
    qmap1 = ns['create_dynamic_map'](signed=True).float()
    qmap2 = ns['create_dynamic_map'](signed=False).float()
    min_8bit_size = 16
    b1, b2, eps, lr = 0.9, 0.999, 1e-8, 0.01

    # 260 elements: one full 256-block and a partial one; below min_8bit_size the state is float32 (the max_unorm case).
    for suffix, max_unorm, shapes in (('', 0.0, [(260,), (13, 20), (2, 5, 26), (10,)]), ('.max-unorm', 0.05, [(10,), (3, 4), (2, 2, 3)])):
        def make(ps):
            # Optimizer2State.init_state: uint8 codes (0) and zero absmax per 256-block, or float32 state below min_8bit_size.
            states = []
            for p in ps:
                n = p.numel()
                if n < min_8bit_size:
                    states.append({'s1': torch.zeros(p.shape, dtype=torch.float32), 's2': torch.zeros(p.shape, dtype=torch.float32), 'unorm': torch.zeros(1, dtype=torch.float32)})
                else:
                    blocks = (n // 256) + bool(n % 256)
                    states.append({'s1': torch.zeros(p.shape, dtype=torch.uint8), 's2': torch.zeros(p.shape, dtype=torch.uint8),
                                   'a1': torch.zeros(blocks, dtype=torch.float32), 'a2': torch.zeros(blocks, dtype=torch.float32)})
            return {'states': states, 'step': 0}

        def step(opt, params, gs, hs, max_unorm=max_unorm):
            # Optimizer2State.update_step with gnorm_scale 1 (no percentile clipping), one parameter at a time.
            opt['step'] += 1
            t = opt['step']
            for p, g, s in zip(params, gs, opt['states']):
                g32 = torch.tensor(g, dtype=torch.float32)
                with torch.no_grad():
                    p32 = p.detach().float()
                    if 'a1' in s:
                        ns['optimizer_update_8bit_blockwise_pytorch'](p32, g32, s['s1'], s['s2'], b1, b2, 0.0, 0.0, eps, t, lr, qmap1, qmap2,
                                                                       s['a1'], s['a2'], 0.0, 1.0, False, optimizer_name='adam')
                    else:
                        param_norm = torch.norm(p32) if max_unorm > 0 else 0.0
                        if max_unorm > 0:
                            s['unorm'].zero_()
                            ns['_optimizer_precondition_32bit'](g32, p32, s['s1'], s['s2'], s['unorm'], b1, b2, eps, 0.0, t, lr, 1.0, 3)
                        ns['_optimizer_update_32bit'](g32, p32, s['s1'], s['s2'], s['unorm'], max_unorm, param_norm, b1, b2, 0.0, 0.0,
                                                      eps, 0.0, t, lr, 1.0, 3)
                    p.copy_(p32.double())

        def trace(opt, params):
            # The exact parameters and state after the step, so a test can restart each step from the official state:
            # one float32 rounding difference can move a value across a quantization midpoint and the runs drift apart.
            out = []
            for p, s in zip(params, opt['states']):
                row = {'p': b64(p.detach().numpy())}
                if 'a1' in s:
                    row.update(mq=base64.b64encode(s['s1'].flatten().numpy().tobytes()).decode(), vq=base64.b64encode(s['s2'].flatten().numpy().tobytes()).decode(),
                               mAbsmax=b64(s['a1'].numpy()), vAbsmax=b64(s['a2'].numpy()))
                else:
                    row.update(m=b64(s['s1'].numpy()), v=b64(s['s2'].numpy()))
                out.append(row)
            return out

        run_case(Case('adam8bit' + suffix, 'bitsandbytes-foundation+bitsandbytes',
                      'bitsandbytes/backends/triton/kernels_optim.py (optimizer_update_8bit_blockwise_pytorch), bitsandbytes/backends/default/ops.py (_optimizer_update_32bit)',
                      shapes, 30,
                      ['adam8bit', {'lr': lr, 'minQuantizedSize': min_8bit_size, 'maxUnorm': max_unorm}],
                      dict(lr=lr, betas=[b1, b2], eps=eps, weight_decay=0, min_8bit_size=min_8bit_size, max_unorm=max_unorm), 10, trace=trace),
                 root, make, step)


def sparsepo_mask(root, only):
    """SparsePO's reference-activation token weights (not an optimizer; written to test/fixtures/losses/)."""
    path = os.path.join(root, 'huawei-noah+HEBO', 'SparsePO', 'src', 'trainers', 'mapo_trainer.py')
    tree = ast.parse(open(path).read())
    cls = next(n for n in tree.body if isinstance(n, ast.ClassDef) and n.name == 'MAPOTrainer')
    methods = [m for m in cls.body if isinstance(m, ast.FunctionDef) and m.name in ('apply_activation_mapping', 'masked_mean')]
    for m in methods:
        m.decorator_list = [d for d in m.decorator_list if getattr(d, 'id', '') == 'staticmethod']
    shell = ast.ClassDef(name='MAPOTrainer', bases=[], keywords=[], body=methods, decorator_list=[])
    ns = {'torch': torch, 'F': torch.nn.functional, 'Optional': __import__('typing').Optional}
    exec(compile(ast.fix_missing_locations(ast.Module(body=[shell], type_ignores=[])), path, 'exec'), ns)
    trainer = ns['MAPOTrainer']()
    trainer.activation_mapping = 'zn_rescale'
    rng = np.random.default_rng(11)
    B, T = 3, 7
    # Response masks: prompt tokens and padding masked; the last row has two response tokens.
    mask = np.array([[0, 0, 1, 1, 1, 1, 0], [0, 1, 1, 1, 1, 1, 1], [0, 0, 0, 1, 1, 0, 0]], dtype=bool)
    types = {'mlp': [8, 8], 'resid': [5], 'logits': [11]}
    hooks = {k: [(rng.standard_normal((B, T, h)) * rng.uniform(0.5, 3)).astype(np.float32) for h in hs] for k, hs in types.items()}
    m = torch.tensor(mask)
    per_type = []
    for k, acts in hooks.items():
        # concatenated_forward: each hook mapped, then the hooks of a type averaged (concat on the last dim, mean) ...
        mapped = [trainer.apply_activation_mapping(torch.tensor(a, dtype=torch.float32), loss_mask=m) for a in acts]
        per_type.append(torch.concat(mapped, dim=-1).mean(dim=-1, keepdims=True))
    # ... and the types averaged (concat, mean(-1)).
    weights = torch.concat(per_type, dim=-1).mean(-1)
    commit = open(os.path.join(root, 'huawei-noah+HEBO', 'COMMIT')).read().strip()
    out = {
        'header': {'repository': 'huawei-noah/HEBO', 'commit': commit, 'file': 'SparsePO/src/trainers/mapo_trainer.py (MAPOTrainer.apply_activation_mapping, zn_rescale; hook averaging of concatenated_forward)',
                   'command': '/usr/bin/python3 scripts/optim-fixtures.py --official <checkouts> --only sparsepo-mask', 'torch': torch.__version__},
        'mask': mask.astype(np.float32).flatten().tolist(), 'B': B, 'T': T,
        'hooks': {k: [{'H': a.shape[2], 'data': b64(a.flatten())} for a in acts] for k, acts in hooks.items()},
        'weights': [float(x) for x in weights.flatten()],
    }
    d = os.path.join(OUT, '..', 'losses')
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, 'sparsepo-mask.json'), 'w') as f:
        json.dump(out, f, indent=1)
    print('wrote sparsepo-mask', weights)


ALL = {'exadam': exadam, 'stable-spam': stable_spam, 'spam': spam, 'sgd-sai': sgd_sai, 'adahessian': adahessian, 'soap': soap,
       'adamp': adamp, 'adabelief': adabelief, 'adam8bit': adam8bit, 'sparsepo-mask': sparsepo_mask}

if __name__ == '__main__':
    ap = argparse.ArgumentParser()
    ap.add_argument('--official', required=True, help='directory of checkouts named owner+name, each with a COMMIT file')
    ap.add_argument('--only', default='', help='comma-separated subset of ' + ', '.join(ALL))
    a = ap.parse_args()
    only = [x for x in a.only.split(',') if x] or list(ALL)
    for name in only:
        ALL[name](a.official, only)
