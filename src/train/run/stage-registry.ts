// Every run stage, in the order their hooks run within a phase (stages.ts). A run's stages are the
// ones whose appliesTo accepts its kind, loss and config; the loop in run.ts sees only this list.

import { attributeHeadsStage } from './attribute-heads.js';
import { datasetStage } from './offline.js';
import { pairTemplateStage } from './pair-template.js';
import { referenceCacheStage } from './reference-cache.js';
import { revisionStage } from './revision.js';
import { rewardHeadStage } from './reward-head.js';
import type { RunStage, StageDeclaration } from './stages.js';
import { tokenLevelStage } from './token-level.js';
import { udmStage } from './udm-weights.js';
import { rolloutsStage } from '../rl/source.js';
import { EXPERIENCE_STAGES } from '../rl/stages.js';

export const RUN_STAGES: readonly RunStage[] = [
  datasetStage,
  revisionStage,
  udmStage,
  referenceCacheStage,
  rewardHeadStage,
  attributeHeadsStage,
  pairTemplateStage,
  tokenLevelStage,
  rolloutsStage,
  ...EXPERIENCE_STAGES,
];

/** The stages of one run, in registry order. */
export function stagesFor(d: StageDeclaration, registry: readonly RunStage[] = RUN_STAGES): RunStage[] {
  return registry.filter((s) => s.appliesTo(d));
}
