// Local text measures standing in for the models the paper used (spaCy NER, BERTScore,
// sentence-transformers, the Llama tokenizer). Each is a pure function of strings; the
// substitutions are documented where they are defined.

/** Word tokenizer used for every length and overlap score: runs of letters/digits, or one symbol. */
export function tokenize(text: string): string[] {
  return text.toLowerCase().match(/[\p{L}\p{N}]+|[^\s\p{L}\p{N}]/gu) ?? [];
}

/** Word tokens only (no punctuation), for overlap measures. */
export function words(text: string): string[] {
  return text.toLowerCase().match(/[\p{L}\p{N}]+/gu) ?? [];
}

function counts(tokens: string[]): Map<string, number> {
  const m = new Map<string, number>();
  for (const t of tokens) m.set(t, (m.get(t) ?? 0) + 1);
  return m;
}

/**
 * BERTScore F1 with one-hot token embeddings: BERTScore greedily matches each token to its most
 * similar token on the other side (Zhang et al. 2020, eq. 1-3); with exact-match similarity the
 * recall is the share of reference tokens present in the candidate, precision the converse. The
 * paper's `evaluate.load("bertscore")` with distilbert is replaced by this when no model is given.
 */
export function tokenMatchF1(candidate: string, reference: string): number {
  return tokenMatchF1Words(words(candidate), words(reference));
}

export function tokenMatchF1Words(c: string[], r: string[]): number {
  if (c.length === 0 && r.length === 0) return 1;
  if (c.length === 0 || r.length === 0) return 0;
  const cs = new Set(c);
  const rs = new Set(r);
  const precision = c.filter((t) => rs.has(t)).length / c.length;
  const recall = r.filter((t) => cs.has(t)).length / r.length;
  return precision + recall === 0 ? 0 : (2 * precision * recall) / (precision + recall);
}

/** Cosine of term-frequency vectors: the local substitute for sentence-embedding cosine. */
export function bagOfWordsCosine(a: string, b: string): number {
  return bagOfWordsCosineWords(words(a), words(b));
}

export function bagOfWordsCosineWords(a: string[], b: string[]): number {
  const ca = counts(a);
  const cb = counts(b);
  if (ca.size === 0 && cb.size === 0) return 1;
  let dot = 0;
  for (const [t, n] of ca) dot += n * (cb.get(t) ?? 0);
  const norm = (m: Map<string, number>) => Math.sqrt([...m.values()].reduce((s, n) => s + n * n, 0));
  const denom = norm(ca) * norm(cb);
  return denom === 0 ? 0 : dot / denom;
}

/** ROUGE-1 F-measure (unigram multiset overlap), the score the paper's `_extract_rouge` uses. */
export function rouge1F(prediction: string, target: string): number {
  return rouge1FWords(words(prediction), words(target));
}

export function rouge1FWords(prediction: string[], target: string[]): number {
  const p = counts(prediction);
  const t = counts(target);
  const np = [...p.values()].reduce((s, n) => s + n, 0);
  const nt = [...t.values()].reduce((s, n) => s + n, 0);
  if (np === 0 || nt === 0) return 0;
  let overlap = 0;
  for (const [w, n] of p) overlap += Math.min(n, t.get(w) ?? 0);
  const precision = overlap / np;
  const recall = overlap / nt;
  return precision + recall === 0 ? 0 : (2 * precision * recall) / (precision + recall);
}

/** Longest common subsequence length of two token arrays (O(n*m) time, O(m) memory). */
export function lcsLength(a: string[], b: string[]): number {
  if (a.length === 0 || b.length === 0) return 0;
  let prev = new Uint32Array(b.length + 1);
  let cur = new Uint32Array(b.length + 1);
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      cur[j] = a[i - 1] === b[j - 1] ? prev[j - 1] + 1 : Math.max(prev[j], cur[j - 1]);
    }
    [prev, cur] = [cur, prev];
  }
  return prev[b.length];
}

/** ROUGE-L F-measure (Lin 2004): precision and recall of the longest common subsequence. */
export function rougeLF(prediction: string, target: string): number {
  return rougeLFWords(words(prediction), words(target));
}

export function rougeLFWords(p: string[], t: string[]): number {
  if (p.length === 0 || t.length === 0) return 0;
  const lcs = lcsLength(p, t);
  if (lcs === 0) return 0;
  const precision = lcs / p.length;
  const recall = lcs / t.length;
  return (2 * precision * recall) / (precision + recall);
}

const SENTENCE_START = /[.!?:\n]\s*$/;

/**
 * Named-entity stand-in for spaCy's en_core_web_lg: runs of capitalised words that do not open a
 * sentence, plus numbers. Each is normalised as the paper normalises entity text (keep
 * [0-9 a-zA-Z], drop "the", lowercase).
 */
export function extractEntities(text: string): Set<string> {
  const entities = new Set<string>();
  const span = /(?:\b[A-Z][\p{L}\p{N}'-]*)(?:\s+[A-Z][\p{L}\p{N}'-]*)*|\b\d+(?:[.,]\d+)*\b/gu;
  for (const m of text.matchAll(span)) {
    // Only the few characters before the span decide whether it opens a sentence.
    const before = text.slice(Math.max(0, m.index - 8), m.index);
    const atStart = m.index === 0 || SENTENCE_START.test(before);
    const isNumber = /^\d/.test(m[0]);
    // A capitalised word opening a sentence is usually just the first word, not (part of) a name.
    const words = m[0].split(/\s+/).slice(!isNumber && atStart ? 1 : 0);
    if (words.length === 0) continue;
    const norm = words.join(' ').replace(/[^0-9 a-zA-Z]+/g, '').replace(/\bthe\b/gi, '').trim().toLowerCase().replace(/\s+/g, ' ');
    if (norm) entities.add(norm);
  }
  return entities;
}

/**
 * Jaccard similarity of the two entity sets, 1 when neither has an entity (as `_extract_entity_sim`
 * does). The paper's code computes the union as |B| + |B| - |A and B| (a typo); alignkit uses |A| + |B| - |A and B|.
 */
export function entitySimilarity(a: string, b: string): number {
  const ea = extractEntities(a);
  const eb = extractEntities(b);
  let inter = 0;
  for (const e of ea) if (eb.has(e)) inter++;
  const union = ea.size + eb.size - inter;
  return union === 0 ? 1 : inter / union;
}

/**
 * Percentile rank in (0, 1] with ties at their average rank: pandas `Series.rank(pct=True)`, the
 * transform get_count_feats.py applies to the length scores before binning.
 */
export function percentileRank(values: ArrayLike<number>): Float64Array {
  const n = values.length;
  const order = Array.from({ length: n }, (_, i) => i).sort((i, j) => values[i] - values[j]);
  const out = new Float64Array(n);
  let i = 0;
  while (i < n) {
    let j = i;
    while (j + 1 < n && values[order[j + 1]] === values[order[i]]) j++;
    const avgRank = (i + j + 2) / 2; // 1-based ranks i+1..j+1
    for (let k = i; k <= j; k++) out[order[k]] = avgRank / n;
    i = j + 1;
  }
  return out;
}
