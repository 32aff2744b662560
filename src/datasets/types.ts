// Normalized preference records: whatever column convention a file uses, the loader turns each row
// into one of these three shapes, so trainers, losses and reward code never look at raw columns.

/** One chat turn, in the `{role, content}` form TRL and chat templates use. */
export type Message = { role: string; content: string };

/** A prompt or response: plain text (TRL "standard" format) or a message list ("conversational"). */
export type Text = string | Message[];

/** A pairwise preference (DPO, reward-model training): `chosen` is preferred over `rejected`. */
export interface PairedExample {
  /** The file's own id column when present, else `${basename}:${rowIndex}` (0-based index of the row in the file). */
  id: string;
  prompt: Text;
  chosen: Text;
  rejected: Text;
  source?: string;
  /** How much more `chosen` is preferred (score difference, or a `margin` column); the Llama 2 RM margin term uses it. */
  margin?: number;
  /**
   * One entry per annotator, relative to THIS record: +1 preferred `chosen`, -1 preferred `rejected`, 0 tie.
   * (Raw files number their responses; we re-express votes against chosen/rejected so they stay meaningful.)
   */
  annotatorLabels?: number[];
  /** True when the annotators (or scores) did not prefer either side: chosen/rejected are then in file order. */
  tie?: boolean;
}

/** A binary (thumbs up / down) judgement of one completion, as KTO and TRL's unpaired format use. */
export interface UnpairedExample {
  id: string;
  prompt: Text;
  completion: Text;
  /** true = desirable (thumbs up). */
  label: boolean;
  source?: string;
}

/** A response rated on several attributes (HelpSteer: helpfulness, correctness, coherence, complexity, verbosity). */
export interface RatedExample {
  id: string;
  prompt: Text;
  response: Text;
  ratings: Record<string, number>;
  source?: string;
}

export type PreferenceKind = 'paired' | 'unpaired' | 'rated';

/** Maps a kind to its record type, so `loadPreferenceData(f, {kind: 'paired'})` is typed `PairedExample[]`. */
export interface ExampleOfKind {
  paired: PairedExample;
  unpaired: UnpairedExample;
  rated: RatedExample;
}

export type PreferenceExample = ExampleOfKind[PreferenceKind];

/** A raw row as a reader yields it: column name to decoded value. */
export type Row = Record<string, unknown>;

/** A row that failed validation (or parsing) and was skipped. `row` is 1-based, as in messages. */
export interface RowProblem {
  file: string;
  row: number;
  field: string;
  message: string;
}
