// The paper's 90 binary routing features, named as allenai/hybrid-preferences names them once
// `src/utils.py:tag_to_normal` has turned extractor strings into result columns (the names the
// 26 mixes of validation_set.jsonl use): 27 lexical = 9 scores x 3 bins
// (`rouge__min_val=0.0|max_val=0.33`) and 63 metadata tags from `meta_analyzer_values`
// (`subject_of_expertise=Computer_sciences`, `safety_concern=moderate`, `format_constraints=1`).

/** Lexical scores in the order `get_all_features` lists them (inspect.getmembers is alphabetical). */
export const LEXICAL_SCORES = [
  'bertscore',
  'bertscore_length',
  'cosine_sim',
  'entity_sim',
  'len_longer',
  'len_shorter',
  'prompt_len',
  'rouge',
  'token_len_diff',
] as const;
export type LexicalScore = (typeof LEXICAL_SCORES)[number];

/** Scores the code percentile-ranks before binning (`df[key].rank(pct=True)` in get_count_feats.py). */
export const PERCENTILE_RANKED: ReadonlySet<LexicalScore> = new Set(['prompt_len', 'token_len_diff', 'len_shorter', 'len_longer']);

export interface Bin {
  min: number;
  max: number;
  /** `min_val=0.0|max_val=0.33`: the edges as Python prints `round(edge, 2)`. */
  label: string;
}

function pyFloat(x: number): string {
  return Number.isInteger(x) ? x.toFixed(1) : String(x);
}

/** `np.linspace(0, 1, n_bins + 1)` edges rounded to 2 decimals, as get_all_features does. */
export function makeBins(nBins = 3): Bin[] {
  const bins: Bin[] = [];
  for (let i = 0; i < nBins; i++) {
    const min = Math.round((i / nBins) * 100) / 100;
    const max = Math.round(((i + 1) / nBins) * 100) / 100;
    bins.push({ min, max, label: `min_val=${pyFloat(min)}|max_val=${pyFloat(max)}` });
  }
  return bins;
}

export const BINS = makeBins(3);

/** The metadata taxonomy the code turns into features (`src/utils.py:meta_analyzer_values`). */
export const SUBJECTS = [
  'Anthropology', 'History', 'Linguistics and language', 'Philosophy', 'Religion', 'Economics', 'Geography',
  'Political science', 'Psychology', 'Sociology', 'Biology', 'Chemistry', 'Earth sciences', 'Physics',
  'Space sciences', 'Computer sciences', 'Logic', 'System science', 'Agriculture', 'Architecture and design',
  'Business', 'Divinity', 'Education', 'Chemical engineering', 'Civil engineering', 'Electrical engineering',
  'Materials science and engineering', 'Mechanical engineering', 'Environmental studies and forestry',
  'Family and consumer science', 'Human physical performance and recreation', 'Journalism',
  'Media studies and communication', 'Law', 'Library and museum studies', 'Medicine and health',
  'Military sciences', 'Social work', 'Transportation', 'Culinary arts', 'Literature', 'Performing arts',
  'Visual arts', 'Mathematics', 'Public administration', 'Others',
] as const;

/** Closed-set dimensions (a list of values per instance; feature active if the value is in it). */
export const CLOSED_SET: Record<string, readonly string[]> = {
  subject_of_expertise: SUBJECTS,
  languages: ['English'],
};
/** Scalar dimensions (one value per instance). */
export const SCALAR: Record<string, readonly string[]> = {
  expertise_level: ['general public', 'basic domain knowledge', 'expert domain knowledge'],
  open_endedness: ['no', 'low', 'moderate', 'high'],
  safety_concern: ['safe', 'low', 'moderate', 'high'],
  complexity_of_intents: ['simple', 'moderate', 'complex'],
};
/** Open-set dimensions (free-form list; the feature only checks that it is non-empty). */
export const OPEN_SET = ['type_of_in_context_material', 'format_constraints'] as const;

/** What a tagger returns for one pair: the 8 dimensions of tagging_configs.json. */
export interface TagRecord {
  subject_of_expertise: string[];
  languages: string[];
  expertise_level: string;
  open_endedness: string;
  safety_concern: string;
  complexity_of_intents: string;
  type_of_in_context_material: string[];
  format_constraints: string[];
}
export const TAG_DIMENSIONS = [
  'subject_of_expertise', 'languages', 'expertise_level', 'open_endedness', 'safety_concern',
  'complexity_of_intents', 'type_of_in_context_material', 'format_constraints',
] as const satisfies readonly (keyof TagRecord)[];

const normal = (value: string): string => value.replace(/ /g, '_');

export function lexicalFeatureName(score: LexicalScore, bin: Bin): string {
  return `${score}__${bin.label}`;
}

/** One metadata feature: its name and the test it applies to a TagRecord. */
export interface TagFeature {
  name: string;
  active(tags: TagRecord): boolean;
}

function listOf(tags: TagRecord, dim: string): string[] {
  const v = (tags as unknown as Record<string, unknown>)[dim];
  return Array.isArray(v) ? (v as string[]) : [];
}

/** The 63 metadata features, in the order get_meta_analyzer_features yields them. */
export const TAG_FEATURES: TagFeature[] = [
  ...Object.entries(CLOSED_SET).flatMap(([dim, values]) =>
    values.map((value) => ({
      name: `${dim}=${normal(value)}`,
      // check_lists(strict=False): case-insensitive membership of the constraint in the instance's list.
      active: (t: TagRecord) => listOf(t, dim).some((v) => v.toLowerCase() === value.toLowerCase()),
    })),
  ),
  ...Object.entries(SCALAR).flatMap(([dim, values]) =>
    values.map((value) => ({
      name: `${dim}=${normal(value)}`,
      active: (t: TagRecord) => String((t as unknown as Record<string, unknown>)[dim] ?? '').toLowerCase() === value,
    })),
  ),
  ...OPEN_SET.map((dim) => ({ name: `${dim}=1`, active: (t: TagRecord) => listOf(t, dim).length > 0 })),
];

export const LEXICAL_FEATURE_NAMES: string[] = LEXICAL_SCORES.flatMap((s) => BINS.map((b) => lexicalFeatureName(s, b)));

/** All 90 feature names: lexical first, then metadata, as get_all_features orders them. */
export const FEATURE_NAMES: string[] = [...LEXICAL_FEATURE_NAMES, ...TAG_FEATURES.map((f) => f.name)];

/** Older result columns in validation_set.jsonl that name a feature differently. */
export const FEATURE_ALIASES: Record<string, string> = {
  token_len_difference: 'token_len_diff',
};

/** Map a result-column name (possibly an alias) onto a catalog name, or undefined if it is none. */
export function canonicalFeatureName(column: string): string | undefined {
  const [head, ...rest] = column.split('__');
  const name = rest.length > 0 && FEATURE_ALIASES[head] ? [FEATURE_ALIASES[head], ...rest].join('__') : column;
  return FEATURE_INDEX.has(name) ? name : undefined;
}

export const FEATURE_INDEX: ReadonlyMap<string, number> = new Map(FEATURE_NAMES.map((n, i) => [n, i]));
