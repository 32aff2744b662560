// alignkit/routing: hybrid human/AI annotation routing ("Hybrid Preferences", Miranda et al. 2024,
// as allenai/hybrid-preferences implements it), the label store (SQLite or PostgreSQL) and the annotator server.

export type { RoutingPair, Preference, Route } from './types.js';
export { createRng, type Rng } from './rng.js';
export {
  FEATURE_NAMES, LEXICAL_FEATURE_NAMES, LEXICAL_SCORES, TAG_FEATURES, TAG_DIMENSIONS, BINS, canonicalFeatureName,
  type TagRecord, type LexicalScore,
} from './features/catalog.js';
export { tokenize, tokenMatchF1, bagOfWordsCosine, rouge1F, rougeLF, entitySimilarity, extractEntities, percentileRank } from './features/text.js';
export { computeLexicalScores, DEFAULT_LEXICAL_CONFIG, type LexicalConfig, type LexicalScores } from './features/lexical.js';
export { extractFeatures, buildFeatureTable, featureRows, tableFromRows, activeFeatures, type FeatureTable, type FeatureRow } from './features/extract.js';
export { createOnnxEmbedder, createOnnxTokenEmbedder, bertScoreF1, type OnnxEmbedderConfig } from './features/embedding.js';
export { TAGGERS, createTagger, tagByRules, buildTaggingPrompt, loadTaggingInstructions, type Tagger, type HttpTaggerConfig, type ColumnTaggerConfig } from './taggers/index.js';
export { fitPpm, predict, EXPANDERS, type PpmModel, type PpmKind, type PpmData, type PpmFitOptions } from './ppm/model.js';
export { crossValidate, DEFAULT_CV, type CvReport, type CvOptions } from './ppm/evaluate.js';
export { readMixTable, VALIDATION_SET_FILE, TARGETS, type MixTable } from './ppm/mixes.js';
export { STRATEGIES, selectForHumans, type Selection, type SelectionContext } from './select/strategies.js';
export { resolveBudget } from './select/budget.js';
export { instanceGains, sharesOf, rankByGain } from './select/gain.js';
export { runKnapsack, featureInstances } from './select/knapsack.js';
export { simulateMixes, agreementEvaluator, mixLabels, type EvaluateMix, type Mix, type SimulateOptions } from './simulate.js';
export { majority, agreement, preferenceFromScale } from './labels.js';
export { loadPandaLM, PANDALM_JUDGES, type PandaLMData } from './eval/pandalm.js';
export { evaluateRouting, routingEvalTable, type RoutingEvalRow, type RoutingEvalOptions } from './eval/routing-eval.js';
export { crossFitEvaluation, type CrossFitOptions } from './eval/cross-fit.js';
export { DEFAULT_RM_MIX, trainOnMix, rmMixEvaluator, evaluateRoutingRm, rmRoutingTable, orientedRow, type RmMixOptions, type RmMixInput, type RmMixResult, type RmRoutingInput, type RmRoutingOptions, type RmRoutingRow } from './eval/rm-mix.js';
export { routeTable, rewardScorerJudge, type AiJudge, type RouteOptions, type RouteDecision } from './pipeline.js';
export {
  LabelStore, openLabelStore, hashApiKey, STORE_BACKENDS, DEFAULT_LABEL_STORE_CONFIG, DEFAULT_ANNOTATION_POLICY, MIGRATIONS, MAX_EXTRA_DEPTH,
  type LabelStoreConfig, type AnnotationPolicy, type HumanLabel, type AiLabel, type RoutingRun, type ExportRow, type Migration,
} from './store/index.js';
export { routingPlugin, type RoutingPluginOptions } from './server.js';
