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
export { extractFeatures, buildFeatureTable, featureRows, tableFromRows, activeFeatures, withNumeric, subsetTable, rowsOf, FEATURE_FILE_COLUMNS, type FeatureTable, type FeatureRow, type FeatureFileOptions } from './features/extract.js';
export { inferKind, numericFeatureNames, type NumericColumn, type NumericKind } from './features/numeric.js';
export { createOnnxEmbedder, createOnnxTokenEmbedder, bertScoreF1, type OnnxEmbedderConfig } from './features/embedding.js';
export { TAGGERS, createTagger, tagByRules, buildTaggingPrompt, loadTaggingInstructions, type Tagger, type HttpTaggerConfig, type ColumnTaggerConfig } from './taggers/index.js';
export { fitPpm, predict, describePrediction, EXPANDERS, type PpmModel, type PpmKind, type PpmData, type PpmFitOptions } from './ppm/model.js';
export { crossValidate, DEFAULT_CV, type CvReport, type CvOptions } from './ppm/evaluate.js';
export { readMixTable, loadMixTable, mixTableFromRows, VALIDATION_SET_FILE, TARGETS, type MixTable } from './ppm/mixes.js';
export { STRATEGIES, selectForHumans, type Selection, type SelectionContext } from './select/strategies.js';
export { resolveBudget, parseBudget, describeBudget, type Budget } from './select/budget.js';
export { instanceGains, sharesOf, predictMix, rankByGain } from './select/gain.js';
export { runKnapsack, featureInstances } from './select/knapsack.js';
export { simulateMixes, agreementEvaluator, mixLabels, type EvaluateMix, type Mix, type SimulateOptions } from './simulate.js';
export { majority, agreement, preferenceFromScale, parsePreference, type LabelSite } from './labels.js';
export { loadPandaLM, pandalmFiles, PANDALM_JUDGES, type PandaLMData } from './eval/pandalm.js';
export { FEATURE_SETS, DEFAULT_FEATURE_SET, featureSet } from './features/sets.js';
export { buildPool, extraColumns, type RoutingPool, type PoolOptions } from './pool.js';
export { budgetedEvalTable, budgetedEvalSvg } from './eval/report.js';
export { budgetedEvaluation, stat, evalRuns, EVAL_STRATEGIES, DEFAULT_BUDGETED_EVAL, type BudgetedEvalOptions, type BudgetedEvalRow, type EvalPool, type EvalRun, type Stat } from './eval/budgeted.js';
export * from './verdicts/index.js';
export * from './active/index.js';
export { devTestSplit } from './eval/split.js';
export { readPairFile, readGoldFile, collectRows, DEFAULT_PAIR_COLUMNS, type PairFile, type PairColumns, type GoldLabels } from './pair-file.js';
export { DEFAULT_RM_MIX, trainOnMix, rmMixEvaluator, rmAccuracyTracker, pairwiseAccuracy, orientedRow, type RmMixOptions, type RmMixInput, type RmMixResult } from './eval/rm-mix.js';
export { routeTable, rewardScorerJudge, type AiJudge, type RouteOptions, type RouteDecision } from './pipeline.js';
export {
  LabelStore, openLabelStore, hashApiKey, STORE_BACKENDS, DEFAULT_LABEL_STORE_CONFIG, DEFAULT_ANNOTATION_POLICY, MIGRATIONS, MAX_EXTRA_DEPTH,
  type LabelStoreConfig, type AnnotationPolicy, type HumanLabel, type AiLabel, type RoutingRun, type ExportRow, type Migration,
} from './store/index.js';
export { addVerdicts, listVerdicts, VERDICTS_MIGRATION, type StoredVerdict } from './store/verdicts.js';
export { routingPlugin, type RoutingPluginOptions } from './server.js';
