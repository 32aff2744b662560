// Learning-rate schedules: a multiplier f(t) of the base lr for the 1-based step t. Linear warmup
// from lr/warmupSteps to lr (the first step is never zero, as in transformers'
// get_linear_schedule_with_warmup shifted by one so step 1 already moves), then constant, linear
// decay or half-cosine decay to minLrRatio * lr at totalSteps.

import { fail } from '../errors.js';

export interface ScheduleSpec {
  type: 'constant' | 'linear' | 'cosine';
  warmupSteps?: number;
  /** Needed by linear and cosine decay: the step at which the multiplier reaches minLrRatio. */
  totalSteps?: number;
  minLrRatio?: number;
}

export type Schedule = (step: number) => number;

type DecayFn = (progress: number, minRatio: number) => number;

const DECAYS: Record<ScheduleSpec['type'], DecayFn> = {
  constant: () => 1,
  linear: (p, min) => min + (1 - min) * (1 - p),
  cosine: (p, min) => min + (1 - min) * 0.5 * (1 + Math.cos(Math.PI * p)),
};

export const SCHEDULE_TYPES = Object.keys(DECAYS);

export function makeSchedule(spec: ScheduleSpec = { type: 'constant' }): Schedule {
  const decay = DECAYS[spec.type];
  if (!decay) throw fail('ALIGNKIT_ERR_UNKNOWN_NAME', `schedule type "${spec.type}" is not one of ${SCHEDULE_TYPES.join(', ')}`, { field: 'schedule.type' });
  const warmup = spec.warmupSteps ?? 0;
  const min = spec.minLrRatio ?? 0;
  if (!(warmup >= 0) || !Number.isInteger(warmup)) throw fail('ALIGNKIT_ERR_INVALID_ARGUMENT', `schedule.warmupSteps must be a non-negative integer, got ${warmup}`, { field: 'schedule.warmupSteps' });
  if (!(min >= 0 && min <= 1)) throw fail('ALIGNKIT_ERR_INVALID_ARGUMENT', `schedule.minLrRatio must be in [0, 1], got ${min}`, { field: 'schedule.minLrRatio' });
  const total = spec.totalSteps;
  if (spec.type !== 'constant' && !(typeof total === 'number' && total > warmup))
    throw fail('ALIGNKIT_ERR_INVALID_ARGUMENT', `schedule.totalSteps must be a number greater than warmupSteps (${warmup}) for a ${spec.type} schedule, got ${total}`, { field: 'schedule.totalSteps' });
  return (step) => {
    if (step <= warmup) return step / warmup;
    if (spec.type === 'constant') return 1;
    const progress = Math.min(1, (step - warmup) / (total! - warmup));
    return decay(progress, min);
  };
}
