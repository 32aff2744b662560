// GPT-2's byte-to-unicode alphabet (openai/gpt-2 encoder.py `bytes_to_unicode`): the 188 printable
// bytes map to themselves, the other 68 to U+0100 onwards, so every byte sequence is a string of
// visible characters and BPE tokens can be written as JSON keys. The order of `BYTE_ORDER` (printable
// ranges first, then the rest) is the order GPT-2 and the CS336 reference give the byte tokens ids.

function printableRanges(): number[] {
  const bytes: number[] = [];
  for (const [lo, hi] of [[0x21, 0x7e], [0xa1, 0xac], [0xae, 0xff]] as const) for (let b = lo; b <= hi; b++) bytes.push(b);
  return bytes;
}

function buildAlphabet(): { order: number[]; toChar: string[] } {
  const printable = printableRanges();
  const isPrintable = new Set(printable);
  const order = [...printable];
  const toChar: string[] = new Array<string>(256);
  for (const b of printable) toChar[b] = String.fromCodePoint(b);
  let next = 0;
  for (let b = 0; b < 256; b++) {
    if (isPrintable.has(b)) continue;
    order.push(b);
    toChar[b] = String.fromCodePoint(256 + next++);
  }
  return { order, toChar };
}

const ALPHABET = buildAlphabet();

/** The 256 byte values in GPT-2's vocabulary order. */
export const BYTE_ORDER: readonly number[] = ALPHABET.order;

/** A byte sequence as a string in GPT-2's byte-to-unicode alphabet. */
export function bytesToUnicode(bytes: Uint8Array): string {
  let s = '';
  for (const b of bytes) s += ALPHABET.toChar[b]!;
  return s;
}
