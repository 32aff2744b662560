// bitsandbytes' dynamic tree quantization map ("8-bit Optimizers via Block-wise Quantization",
// section 2; bitsandbytes.functional.create_dynamic_map): for exponent i = 0..6 the fraction bits
// that remain hold evenly spaced midpoints of [0.1, 1] scaled by 10^(i-6), mirrored for the signed
// map; plus 0 and 1. The signed map codes first moments, the unsigned one (one more fraction bit
// per exponent) second moments. Values are computed in float32 as torch does.
// Quantization picks the nearest code through a 65536-entry lookup table over the top 16 bits of the
// float32 pattern (DESIGN.md: 5-7x faster than binary search, same codes).

const f = Math.fround;

export function dynamicMap(signed: boolean): Float32Array {
  const maxExponentBits = 7;
  const nonSignBits = 7;
  const data: number[] = [];
  for (let i = 0; i < maxExponentBits; i++) {
    const fractionItems = signed ? 2 ** (i + nonSignBits - maxExponentBits) + 1 : 2 ** (i + nonSignBits - maxExponentBits + 1) + 1;
    const step = f(0.9 / (fractionItems - 1));
    const bounds = Array.from({ length: fractionItems }, (_, k) => f(0.1 + step * k));
    const scale = 10 ** (-(maxExponentBits - 1) + i);
    for (let k = 0; k + 1 < bounds.length; k++) {
      const mean = f((bounds[k]! + bounds[k + 1]!) / 2);
      data.push(f(scale * mean));
      if (signed) data.push(f(-scale * mean));
    }
  }
  data.push(0, 1);
  while (data.length < 256) data.push(0);
  return Float32Array.from(data.sort((a, b) => a - b));
}

/** For every top-16-bit pattern, the largest code index whose value is <= every float in that bucket. */
export function buildLookupTable(map: Float32Array): Uint8Array {
  const lut = new Uint8Array(65536);
  const bits = new Uint32Array(1);
  const asFloat = new Float32Array(bits.buffer);
  for (let hi = 0; hi < 65536; hi++) {
    const negative = hi >= 0x8000;
    // The bucket's smallest value: its low end for positives, its far (most negative) end for negatives.
    bits[0] = negative ? ((hi << 16) | 0xffff) >>> 0 : (hi << 16) >>> 0;
    const low = asFloat[0]!;
    let j = 0;
    if (Number.isNaN(low)) j = 0;
    else while (j < 255 && map[j + 1]! <= low) j++;
    lut[hi] = j;
  }
  return lut;
}

const bitsView = new Uint32Array(1);
const floatView = new Float32Array(bitsView.buffer);

/**
 * Nearest code of x (ties go to the lower code), via the lookup table: a bf16-wide bucket holds at
 * most two codes of either map, so two steps reach the largest code <= x (reads past the end are
 * undefined and compare false, as the kernel's +inf padding). Same steps as the C kernel.
 */
export function quantize(x: number, map: Float32Array, lut: Uint8Array): number {
  floatView[0] = x;
  const xf = floatView[0]!;
  let j = lut[bitsView[0]! >>> 16]!;
  j += +(map[j + 1]! <= xf);
  j += +(map[j + 1]! <= xf);
  j += +(map[j + 1]! - xf < xf - map[j]!);
  return j;
}

/**
 * A signed-map code that keeps x's sign, as bitsandbytes' 8-bit optimizer kernels store the first
 * moment (kOptimizerStatic8bit2StateBlockwise: "make sure state1 term has still the same sign after
 * quantization"): when the nearest code's sign bit differs from x's (a tiny value rounding to the
 * code of 0, or -0), step one code towards x's sign. Without it a small negative momentum would
 * dequantize to 0 and a tiny positive one could never be told from a negative.
 */
export function quantizeKeepSign(x: number, map: Float32Array, lut: Uint8Array): number {
  floatView[0] = x;
  const negative = bitsView[0]! >>> 31;
  const j = quantize(x, map, lut);
  floatView[0] = map[j]!;
  if (bitsView[0]! >>> 31 === negative) return j;
  return negative ? j - 1 : j + 1;
}

/** The same code by binary search, for tests that check the lookup table against it. */
export function quantizeBinarySearch(x: number, map: Float32Array): number {
  const xf = Math.fround(x);
  let lo = 0;
  let hi = 255;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (map[mid]! <= xf) lo = mid;
    else hi = mid - 1;
  }
  if (lo < 255 && map[lo + 1]! - xf < xf - map[lo]!) lo++;
  return lo;
}

export const SIGNED_MAP = dynamicMap(true);
export const UNSIGNED_MAP = dynamicMap(false);

const lookupTables = new Map<Float32Array, Uint8Array>();

/** A map's lookup table, built on first use: 65536 searches take ~14 ms, kept out of every import of alignkit. */
export function lookupTableOf(map: Float32Array): Uint8Array {
  let lut = lookupTables.get(map);
  if (!lut) lookupTables.set(map, (lut = buildLookupTable(map)));
  return lut;
}
