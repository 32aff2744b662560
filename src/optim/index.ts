// alignkit/optim: optimizers as chains of composable gradient transformations (optax-style), a
// registry by paper name, parameter groups, schedules, safetensors state, and fused WebAssembly
// kernels over a pre-sized arena.

export { chain, applyUpdates, emptyState, transform, heapAllocator } from './core.js';
export type { Param, GradientTransformation, TransformState, UpdateContext, Allocator, StateArray, ParamSlots } from './core.js';
export { scaleByLearningRate, addDecayedWeights, decayWeights, trace, clipByGlobalNorm, clipCoordinates, scale, type DecayWeightsOptions } from './transforms.js';
export { makeSchedule, SCHEDULE_TYPES, type ScheduleSpec, type Schedule } from './schedules.js';
export { scaleByAdam, adam, adamw, ADAM_DEFAULTS, ADAMW_DEFAULTS, type AdamHyper, type ScaleByAdamOptions } from './adam.js';
export { sgd, SGD_DEFAULTS, type SgdHyper } from './sgd.js';
export { scaleByLion, lion, KAPPA_GRADIENTS, LION_DEFAULTS, type LionHyper } from './lion.js';
export { scaleByExAdam, scaleByLogGrowth, exadam, EXADAM_DEFAULTS, type ExAdamHyper } from './exadam.js';
export { periodicReset, stepsSinceReset, zeroState, scaleByResetWarmup, resetWarmupFactor, type ResetTiming } from './reset.js';
export { sparseMoments } from './sparse.js';
export { spikeAwareClip, spam, SPAM_DEFAULTS, type SpamHyper } from './spam.js';
export { adaptiveSpikeClip, adaptiveGradNorm, stableSpam, stableSpamSchedule, STABLE_SPAM_DEFAULTS, type StableSpamHyper } from './stable-spam.js';
export { scaleByBelief, adabelief, ADABELIEF_DEFAULTS, type AdaBeliefHyper, type ScaleByBeliefOptions } from './adabelief.js';
export { projectRadial, adamp, sgdp, ADAMP_DEFAULTS, SGDP_DEFAULTS, type AdamPHyper, type SgdPHyper } from './adamp.js';
export { scaleBySnr, gradientSnr, sgdSai, SGD_SAI_DEFAULTS, type SgdSaiHyper } from './sgd-sai.js';
export { scaleByAdam8bit, percentileClipping, clipUpdateNorm, adam8bit, adamw8bit, ADAM8BIT_DEFAULTS, ADAMW8BIT_DEFAULTS, type Adam8bitHyper } from './adam8bit.js';
export { dynamicMap, buildLookupTable, lookupTableOf, quantize, quantizeKeepSign, quantizeBinarySearch, SIGNED_MAP, UNSIGNED_MAP } from './quant8.js';
export { scaleBySophia, sophia, sophiaNeedsHessian, SOPHIA_DEFAULTS, type SophiaHyper } from './sophia.js';
export { scaleByAdaHessian, adahessian, spatialAverage, averagingBlock, ADAHESSIAN_DEFAULTS, type AdaHessianHyper } from './adahessian.js';
export { hutchinsonDiag, gaussNewtonBartlett, type GradFn, type HutchinsonOptions } from './hessian.js';
export { sumOfSquares } from './norms.js';
export { scaleBySoap, soap, mergeDimensions, soapLayout, SOAP_DEFAULTS, type SoapHyper, type SoapLayout } from './soap.js';
export { scaleByOneBitAdam, compressSign, onebitAdam, ONEBIT_ADAM_DEFAULTS, type OneBitAdamHyper } from './onebit-adam.js';
export { ChainOptimizer, NO_DECAY_ON_NORMS_AND_BIASES } from './optimizer.js';
export type { Optimizer, OptimizerOptions, ParamGroupSpec, StepAux, Grads, HessianProvider, GroupLayout } from './optimizer.js';
export { OPTIMIZERS, createOptimizer, type OptimizerEntry } from './registry.js';
export { saveOptimizerState, loadOptimizerState } from './state-io.js';
export { WasmArena, ParamArena, MAX_ARENA_BYTES, ARENA_RESERVED_BYTES, MAX_ARENA_THREADS, TRAINING_BYTES_PER_PARAM, trainingArena, defaultArenaThreads, type ArenaOptions } from './arena.js';
export { findKernel, kernelWasmPath, KERNEL_NAMES, type FusedKernel } from './kernels/dispatch.js';
export { TS_MATRIX_OPS, type MatrixOps } from './matrix-ops.js';
