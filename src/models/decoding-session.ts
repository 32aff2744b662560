// The session a decoding loop runs: the model's graph rewritten by decodingGraph (src/graph/rewrites)
// so a step returns the new tokens' keys and values, the last position's logits and their log sum
// exp, and nothing proportional to the sequence so far. The loop (src/generate KvDecoder) keeps the
// cache in buffers allocated once for prompt + new tokens and feeds the filled width, zero-copy,
// grown in chunks: slots not yet written are masked out by attention_mask, and positions come from
// position_ids, so the unused slots change nothing but a little attention work.

import { loadModel, Session, type SessionOptions } from '../graph/index.js';
import { decodingGraph } from '../graph/rewrites/decode-graph.js';
import { fuseElementwise } from '../graph/rewrites/fused-elementwise.js';
import type { KvLayout } from './feeds.js';

export class DecodingSession {
  private constructor(
    readonly session: Session,
    /** past_key_values input -> its block of the new tokens' keys or values in the NEW_KV output. */
    readonly newKv: ReadonlyMap<string, number>,
    readonly layout: KvLayout,
  ) {}

  /** The decoding session of an ONNX decoder file, or undefined when its graph lacks the with-past layout the rewrite needs. */
  static async create(onnxFile: string, layout: KvLayout, opts: SessionOptions = {}): Promise<DecodingSession | undefined> {
    const rewritten = decodingGraph(loadModel(onnxFile));
    if (!rewritten) return undefined;
    // Fused GELUs: 436 -> 360 us of CPU per alignkit-base step at 4 rows (fewer nodes, one pass
    // instead of ten). CPU only: the fused kernels were not measured on other providers.
    const model = (opts.provider ?? 'cpu') === 'cpu' ? (fuseElementwise(rewritten.model) ?? rewritten.model) : rewritten.model;
    return new DecodingSession(await Session.create(model, opts), rewritten.newKv, layout);
  }

  get usesCacheBranch(): boolean {
    return this.session.inputNames.includes('use_cache_branch');
  }

  async release(): Promise<void> {
    await this.session.release();
  }
}
