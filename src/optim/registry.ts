// The optimizer registry: name -> paper defaults, the paper, and a chain factory. `createOptimizer`
// merges the user's hyperparameters over the defaults and validates them against the defaults'
// shapes (an unknown key or a wrong type names the key and lists the valid ones).

import { fail } from '../errors.js';
import type { GradientTransformation } from './core.js';
import type { Schedule } from './schedules.js';
import { ChainOptimizer, type Optimizer, type OptimizerOptions } from './optimizer.js';
import { adam, adamw, ADAM_DEFAULTS, ADAMW_DEFAULTS, type AdamHyper } from './adam.js';
import { sgd, SGD_DEFAULTS, type SgdHyper } from './sgd.js';
import { lion, LION_DEFAULTS, type LionHyper } from './lion.js';
import { exadam, EXADAM_DEFAULTS, type ExAdamHyper } from './exadam.js';
import { spam, SPAM_DEFAULTS, type SpamHyper } from './spam.js';
import { stableSpam, STABLE_SPAM_DEFAULTS, type StableSpamHyper } from './stable-spam.js';
import { adabelief, ADABELIEF_DEFAULTS, type AdaBeliefHyper } from './adabelief.js';
import { adamp, sgdp, ADAMP_DEFAULTS, SGDP_DEFAULTS, type AdamPHyper, type SgdPHyper } from './adamp.js';
import { sgdSai, SGD_SAI_DEFAULTS, type SgdSaiHyper } from './sgd-sai.js';
import { adam8bit, adamw8bit, ADAM8BIT_DEFAULTS, ADAMW8BIT_DEFAULTS, type Adam8bitHyper } from './adam8bit.js';
import { sophia, SOPHIA_DEFAULTS, type SophiaHyper } from './sophia.js';
import { adahessian, ADAHESSIAN_DEFAULTS, type AdaHessianHyper } from './adahessian.js';
import { soap, SOAP_DEFAULTS, type SoapHyper } from './soap.js';
import { onebitAdam, ONEBIT_ADAM_DEFAULTS, type OneBitAdamHyper } from './onebit-adam.js';

export interface OptimizerEntry<H extends object = Record<string, unknown>> {
  defaults: H;
  /** The paper (and official code) the update rule and defaults come from. */
  paper: string;
  create(hyper: H, schedule: Schedule): GradientTransformation;
  /** Allowed values of string-valued hyperparameters. */
  choices?: Partial<Record<keyof H, readonly string[]>>;
}

function entry<H extends object>(e: OptimizerEntry<H>): OptimizerEntry {
  return e as unknown as OptimizerEntry;
}

export const OPTIMIZERS: Record<string, OptimizerEntry> = {
  sgd: entry<SgdHyper>({ defaults: SGD_DEFAULTS, paper: 'torch.optim.SGD (momentum; Nesterov: Sutskever et al. 2013)', create: sgd }),
  adam: entry<AdamHyper>({ defaults: ADAM_DEFAULTS, paper: 'Adam: A Method for Stochastic Optimization (Kingma & Ba); AMSGrad: On the Convergence of Adam and Beyond', create: adam }),
  adamw: entry<AdamHyper>({ defaults: ADAMW_DEFAULTS, paper: 'Decoupled Weight Decay Regularization (Loshchilov & Hutter)', create: adamw }),
  lion: entry<LionHyper>({ defaults: LION_DEFAULTS, paper: 'Symbolic Discovery of Optimization Algorithms (Chen et al.); Lion-K: Lion Secretly Solves Constrained Optimization', create: lion, choices: { kappa: ['sign', 'l2'] } }),
  exadam: entry<ExAdamHyper>({ defaults: EXADAM_DEFAULTS, paper: 'EXAdam: The Power of Adaptive Cross-Moments (Adly); official AhmedMostafa16/EXAdam', create: exadam }),
  spam: entry<SpamHyper>({ defaults: SPAM_DEFAULTS, paper: 'SPAM: Spike-Aware Adam with Momentum Reset for Stable LLM Training; official TianjinYellow/SPAM-Optimizer', create: spam }),
  'stable-spam': entry<StableSpamHyper>({ defaults: STABLE_SPAM_DEFAULTS, paper: 'Stable-SPAM: How to Train in 4-Bit More Stably than 16-Bit Adam; official TianjinYellow/StableSPAM', create: stableSpam }),
  adabelief: entry<AdaBeliefHyper>({ defaults: ADABELIEF_DEFAULTS, paper: 'AdaBelief Optimizer (Zhuang et al.); official juntang-zhuang/Adabelief-Optimizer', create: adabelief }),
  adamp: entry<AdamPHyper>({ defaults: ADAMP_DEFAULTS, paper: 'AdamP: Slowing Down the Slowdown for Momentum Optimizers on Scale-invariant Weights; official clovaai/AdamP', create: adamp }),
  sgdp: entry<SgdPHyper>({ defaults: SGDP_DEFAULTS, paper: 'AdamP paper, SGDP variant; official clovaai/AdamP', create: sgdp }),
  'sgd-sai': entry<SgdSaiHyper>({ defaults: SGD_SAI_DEFAULTS, paper: 'No More Adam: Learning Rate Scaling at Initialization is All You Need; official AnonymousAlethiometer/SGD_SaI', create: sgdSai }),
  adam8bit: entry<Adam8bitHyper>({ defaults: ADAM8BIT_DEFAULTS, paper: '8-bit Optimizers via Block-wise Quantization (Dettmers et al.); bitsandbytes Adam8bit', create: adam8bit }),
  adamw8bit: entry<Adam8bitHyper>({ defaults: ADAMW8BIT_DEFAULTS, paper: '8-bit Optimizers via Block-wise Quantization (Dettmers et al.); bitsandbytes AdamW8bit', create: adamw8bit }),
  sophia: entry<SophiaHyper>({ defaults: SOPHIA_DEFAULTS, paper: 'Sophia: A Scalable Stochastic Second-order Optimizer; official Liuhong99/Sophia', create: sophia }),
  adahessian: entry<AdaHessianHyper>({ defaults: ADAHESSIAN_DEFAULTS, paper: 'ADAHESSIAN: An Adaptive Second Order Optimizer; official amirgholami/adahessian', create: adahessian }),
  soap: entry<SoapHyper>({ defaults: SOAP_DEFAULTS, paper: 'SOAP: Improving and Stabilizing Shampoo using Adam; official nikhilvyas/SOAP', create: soap }),
  'onebit-adam': entry<OneBitAdamHyper>({ defaults: ONEBIT_ADAM_DEFAULTS, paper: '1-bit Adam: Communication Efficient Large-Scale Training with Adam\'s Convergence Speed; DeepSpeed OnebitAdam', create: onebitAdam }),
};

/** Range rules for hyperparameters that share a name across optimizers. */
const RANGES: Record<string, (x: number) => boolean> = {
  lr: (x) => x >= 0,
  eps: (x) => x >= 0,
  weightDecay: (x) => x >= 0,
  momentum: (x) => x >= 0 && x < 1,
  betas: (x) => x >= 0 && x < 1,
};

function validateHyper(name: string, e: OptimizerEntry, h: Record<string, unknown>, where: string): Record<string, unknown> {
  const defaults = e.defaults as Record<string, unknown>;
  const bad = (key: string, why: string) => fail('ALIGNKIT_ERR_INVALID_ARGUMENT', `${name} ${where}.${key}: ${why}`, { field: `${where}.${key}` });
  for (const [key, value] of Object.entries(h)) {
    if (!(key in defaults)) throw fail('ALIGNKIT_ERR_UNKNOWN_NAME', `${name} has no hyperparameter "${key}" (in ${where}); it takes ${Object.keys(defaults).join(', ')}`, { field: `${where}.${key}` });
    const d = defaults[key];
    const range = RANGES[key];
    if (Array.isArray(d)) {
      if (!Array.isArray(value) || value.length !== d.length || !value.every((x) => typeof x === 'number' && Number.isFinite(x))) throw bad(key, `expected ${d.length} numbers, got ${JSON.stringify(value)}`);
      if (range && !value.every(range)) throw bad(key, `${JSON.stringify(value)} is out of range`);
    } else if (typeof d === 'number') {
      if (typeof value !== 'number' || Number.isNaN(value)) throw bad(key, `expected a number, got ${JSON.stringify(value)}`);
      if (range && !range(value)) throw bad(key, `${value} is out of range`);
    } else if (typeof d === 'boolean') {
      if (typeof value !== 'boolean') throw bad(key, `expected true or false, got ${JSON.stringify(value)}`);
    } else if (typeof d === 'string') {
      const allowed = (e.choices as Record<string, readonly string[]> | undefined)?.[key];
      if (typeof value !== 'string' || (allowed && !allowed.includes(value))) throw bad(key, `expected one of ${allowed?.join(', ') ?? 'a string'}, got ${JSON.stringify(value)}`);
    }
  }
  return { ...defaults, ...h };
}

/** Create a registered optimizer by name with paper-named hyperparameters over the paper's defaults. */
export function createOptimizer(name: string, hyper: Record<string, unknown> = {}, opts: OptimizerOptions = {}): Optimizer {
  const e = OPTIMIZERS[name];
  if (!e) throw fail('ALIGNKIT_ERR_UNKNOWN_NAME', `unknown optimizer "${name}"; known: ${Object.keys(OPTIMIZERS).join(', ')}`, { field: 'name' });
  const validate = (h: Record<string, unknown>, where: string) => validateHyper(name, e, h, where);
  const base = validate(hyper, 'hyper');
  return new ChainOptimizer(name, base, (h, schedule) => e.create(h, schedule), validate, opts);
}
