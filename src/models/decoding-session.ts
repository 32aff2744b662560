// The session a decoding loop runs: the model's graph rewritten by decodingGraph (src/graph/rewrites)
// so a step returns the new tokens' keys and values, the last position's logits and their log sum
// exp, and nothing proportional to the sequence so far. The loop (src/generate KvDecoder) keeps the
// cache in buffers allocated once for prompt + new tokens and feeds the filled width, zero-copy,
// grown in chunks: slots not yet written are masked out by attention_mask, and positions come from
// position_ids, so the unused slots change nothing but a little attention work.
//
// GuidedDecodingSession is the same for GenARM: the base's and the ARMs' decoding graphs merged into
// one (mergedDecodingGraph), so one session run per token computes every model and the guided scores.

import { loadModel, Session, type SessionOptions } from '../graph/index.js';
import { decodingGraph, NEW_KV, type DecodingGraph } from '../graph/rewrites/decode-graph.js';
import { fuseElementwise } from '../graph/rewrites/fused-elementwise.js';
import { mergedDecodingGraph, type MergedOutputs } from '../graph/rewrites/merged-decode.js';
import type { Model } from '../graph/ir.js';
import type { KvLayout } from './feeds.js';

/** One model's KV cache in a decoding session: its past inputs, the output stacking their new keys and values, and its layout. */
export interface CacheMember {
  /** Output holding the new tokens' keys and values, [2 x layers x B, kvHeads, T, headDim]. */
  output: string;
  /** Past input -> its block in `output`. */
  blocks: ReadonlyMap<string, number>;
  layout: KvLayout;
}

/** What a decoding loop over pre-sized cache buffers needs of a session (KvDecoder's SlotCache). */
export interface SlotSession {
  readonly session: Session;
  /** One per model whose cache the session carries. */
  readonly members: readonly CacheMember[];
  readonly usesCacheBranch: boolean;
  /** Cache memory of finished decodes, kept for the next ones (SlotCache takes and returns it). */
  readonly spareCaches: Float32Array[];
}

/** A decoder file's decoding graph, or undefined when it lacks the with-past layout the rewrite needs. */
export interface DecoderSource {
  onnxFile: string;
  layout: KvLayout;
}

/**
 * Fused GELUs: 436 -> 360 us of CPU per alignkit-base step at 4 rows (fewer nodes, one pass instead
 * of ten). CPU only: the fused kernels were not measured on other providers.
 */
function fusedOnCpu(model: Model, opts: SessionOptions): Model {
  return (opts.provider ?? 'cpu') === 'cpu' ? (fuseElementwise(model) ?? model) : model;
}

export class DecodingSession implements SlotSession {
  readonly members: readonly CacheMember[];
  readonly spareCaches: Float32Array[] = [];

  private constructor(
    readonly session: Session,
    /** past_key_values input -> its block of the new tokens' keys or values in the NEW_KV output. */
    readonly newKv: ReadonlyMap<string, number>,
    readonly layout: KvLayout,
  ) {
    this.members = [{ output: NEW_KV, blocks: newKv, layout }];
  }

  /** The decoding session of an ONNX decoder file, or undefined when its graph lacks the with-past layout the rewrite needs. */
  static async create(onnxFile: string, layout: KvLayout, opts: SessionOptions = {}): Promise<DecodingSession | undefined> {
    const rewritten = decodingGraph(loadModel(onnxFile));
    if (!rewritten) return undefined;
    return new DecodingSession(await Session.create(fusedOnCpu(rewritten.model, opts), opts), rewritten.newKv, layout);
  }

  get usesCacheBranch(): boolean {
    return this.session.inputNames.includes('use_cache_branch');
  }

  async release(): Promise<void> {
    await this.session.release();
  }
}

export class GuidedDecodingSession implements SlotSession {
  readonly spareCaches: Float32Array[] = [];

  private constructor(
    readonly session: Session,
    /** Base first, then the ARMs. */
    readonly members: readonly CacheMember[],
    /** Length of a row of guided scores (the smallest vocabulary). */
    readonly vocab: number,
    readonly form: MergedOutputs,
  ) {}

  /**
   * One session for a base and its ARMs returning the guided scores or the greedy token (`form`), or
   * undefined when a graph lacks the with-past layout or the graphs cannot be merged.
   */
  static async create(base: DecoderSource, arms: readonly DecoderSource[], form: MergedOutputs, opts: SessionOptions = {}): Promise<GuidedDecodingSession | undefined> {
    const graphs: DecodingGraph[] = [];
    for (const src of [base, ...arms]) {
      const g = decodingGraph(loadModel(src.onnxFile));
      if (!g) return undefined;
      graphs.push(g);
    }
    const merged = mergedDecodingGraph(graphs[0]!, graphs.slice(1), form);
    if (!merged) return undefined;
    const layouts = [base, ...arms].map((s) => s.layout);
    const members = merged.members.map((m, i) => ({ output: m.newKvOutput, blocks: m.newKv, layout: layouts[i]! }));
    return new GuidedDecodingSession(await Session.create(fusedOnCpu(merged.model, opts), opts), members, merged.vocab, form);
  }

  get usesCacheBranch(): boolean {
    return this.session.inputNames.includes('use_cache_branch');
  }

  async release(): Promise<void> {
    await this.session.release();
  }
}
