// Pre-tokenization for byte-level BPE training, as GPT-2 and the CS336 reference do it: the text is
// first cut at special tokens (so no merge ever spans a document boundary and the special strings
// never enter the counts), then each piece is split by GPT-2's regex, and identical pre-tokens are
// counted once with their frequency.

/** GPT-2's split pattern (openai/gpt-2 encoder.py), the one the ByteLevel pre-tokenizer of Hugging Face tokenizers uses. */
export const GPT2_SPLIT = /'(?:[sdmt]|ll|ve|re)| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+/gu;

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** The text between special tokens (longest special first, so one that contains another wins). */
export function splitOnSpecialTokens(text: string, specialTokens: readonly string[]): string[] {
  if (specialTokens.length === 0) return [text];
  const pattern = [...specialTokens].sort((a, b) => b.length - a.length).map(escapeRegExp).join('|');
  return text.split(new RegExp(pattern, 'u'));
}

/** Adds the pre-tokens of `text` to `counts` (pre-token -> occurrences). */
export function countPreTokens(text: string, specialTokens: readonly string[], counts: Map<string, number> = new Map()): Map<string, number> {
  for (const piece of splitOnSpecialTokens(text, specialTokens)) {
    for (const m of piece.matchAll(GPT2_SPLIT)) counts.set(m[0], (counts.get(m[0]) ?? 0) + 1);
  }
  return counts;
}
