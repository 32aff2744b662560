// The nine lexical scores of the paper's FeatureExtractor (allenai/hybrid-preferences
// src/feature_extractor.py, `_extract_*`), computed locally, and their cut into three bins.

import { LEXICAL_SCORES, PERCENTILE_RANKED, type Bin, type LexicalScore } from './catalog.js';
import { bagOfWordsCosineWords, entitySimilarity, percentileRank, rouge1FWords, rougeLFWords, tokenize, tokenMatchF1Words, words } from './text.js';
import type { RoutingPair } from '../types.js';
import { bertScoreF1, cosine } from './embedding.js';

/** Per-pair text computed once and shared by the scorers: token lengths and word lists. */
interface PairLengths {
  prompt: number;
  a: number;
  b: number;
  wordsA: string[];
  wordsB: string[];
  /** Token-match F1, used by both bertscore and bertscore_length. */
  f1: number;
}

type PairScorer = (pair: RoutingPair, lengths: PairLengths) => number;

/** Which response-similarity substitutes to use; see text.ts for what each computes. */
export interface LexicalConfig {
  /** `rouge1` as the paper's code (`RougeScorer(["rouge1"])`), or `rougeL`. */
  rouge: 'rouge1' | 'rougeL';
  /**
   * Optional sentence-embedding model (e.g. an ONNX model the user provides, see embedding.ts): when
   * set, `cosine_sim` is the cosine of its embeddings, as the paper's all-distilroberta-v1;
   * otherwise the bag-of-words cosine stands in.
   */
  embed?: (texts: string[]) => Promise<Float32Array[]>;
  /**
   * Optional token-embedding model (see createOnnxTokenEmbedder): when set, `bertscore` (and
   * `bertscore_length`) use BERTScore F1 of its token vectors, as the paper's bert-score package;
   * otherwise token-match F1 stands in.
   */
  tokenEmbed?: (texts: string[]) => Promise<Float32Array[][]>;
}

export const DEFAULT_LEXICAL_CONFIG: LexicalConfig = { rouge: 'rouge1' };

const ROUGE: Record<LexicalConfig['rouge'], (p: string[], t: string[]) => number> = { rouge1: rouge1FWords, rougeL: rougeLFWords };

/**
 * `_extract_bertscore_length`: BERTScore times the brevity-style penalty exp(1 - |ref|/|cand|), where
 * ref is the longer response (by characters) and cand the shorter; 0 when cand has no tokens.
 */
function lengthPenalty(pair: RoutingPair, lengths: PairLengths): number {
  const aLonger = pair.responseA.length > pair.responseB.length;
  const ref = aLonger ? lengths.a : lengths.b;
  const cand = aLonger ? lengths.b : lengths.a;
  return cand === 0 ? 0 : Math.exp(1 - ref / cand);
}

function scorers(config: LexicalConfig): Record<LexicalScore, PairScorer> {
  const rouge = ROUGE[config.rouge];
  return {
    bertscore: (_p, l) => l.f1,
    bertscore_length: (p, l) => l.f1 * lengthPenalty(p, l),
    cosine_sim: (_p, l) => bagOfWordsCosineWords(l.wordsA, l.wordsB),
    entity_sim: (p) => entitySimilarity(p.responseA, p.responseB),
    len_longer: (_p, l) => Math.max(l.a, l.b),
    len_shorter: (_p, l) => Math.min(l.a, l.b),
    prompt_len: (_p, l) => l.prompt,
    // rouge.score(prediction=a, target=b)
    rouge: (_p, l) => rouge(l.wordsA, l.wordsB),
    token_len_diff: (_p, l) => Math.abs(l.a - l.b),
  };
}

/** Raw (unbinned) scores: one Float64Array of length n per score. */
export type LexicalScores = Record<LexicalScore, Float64Array>;

export async function computeLexicalScores(pairs: RoutingPair[], config: LexicalConfig = DEFAULT_LEXICAL_CONFIG): Promise<LexicalScores> {
  const table = scorers(config);
  const out = Object.fromEntries(LEXICAL_SCORES.map((s) => [s, new Float64Array(pairs.length)])) as LexicalScores;
  const penalties = new Float64Array(pairs.length);
  pairs.forEach((pair, i) => {
    const wordsA = words(pair.responseA);
    const wordsB = words(pair.responseB);
    const lengths = {
      prompt: tokenize(pair.prompt).length,
      a: tokenize(pair.responseA).length,
      b: tokenize(pair.responseB).length,
      wordsA,
      wordsB,
      f1: tokenMatchF1Words(wordsA, wordsB),
    };
    for (const s of LEXICAL_SCORES) out[s][i] = table[s](pair, lengths);
    penalties[i] = lengthPenalty(pair, lengths);
  });
  if (config.tokenEmbed) {
    const ta = await config.tokenEmbed(pairs.map((p) => p.responseA));
    const tb = await config.tokenEmbed(pairs.map((p) => p.responseB));
    pairs.forEach((_, i) => {
      out.bertscore[i] = bertScoreF1(ta[i], tb[i]);
      out.bertscore_length[i] = out.bertscore[i] * penalties[i];
    });
  }
  if (config.embed) {
    const ea = await config.embed(pairs.map((p) => p.responseA));
    const eb = await config.embed(pairs.map((p) => p.responseB));
    pairs.forEach((_, i) => {
      out.cosine_sim[i] = cosine(ea[i], eb[i]);
    });
  }
  return out;
}

/** The value that is binned: the raw score, or its percentile rank in the pool for length scores. */
export function binnedValues(scores: LexicalScores): LexicalScores {
  return Object.fromEntries(
    LEXICAL_SCORES.map((s) => [s, PERCENTILE_RANKED.has(s) ? percentileRank(scores[s]) : scores[s]]),
  ) as LexicalScores;
}

/**
 * Bin membership as get_count_feats.py `get_instances` tests it (the counts the PPM is fitted on):
 * `min_val <= v <= max_val`, both ends inclusive, so a value exactly on an edge is in both bins.
 */
export function inBin(value: number, bin: Bin): boolean {
  return value >= bin.min && value <= bin.max;
}

