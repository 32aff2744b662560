import { describe, expect, it } from 'vitest';
import { SIGNED_MAP, UNSIGNED_MAP, lookupTableOf, quantize, quantizeBinarySearch } from '../../src/optim/quant8.js';
import { mulberry32 } from '../../src/random.js';

const SIGNED_LUT = lookupTableOf(SIGNED_MAP);
const UNSIGNED_LUT = lookupTableOf(UNSIGNED_MAP);

describe('dynamic tree quantization map (bitsandbytes create_dynamic_map)', () => {
  it('has 256 sorted codes spanning [-1, 1] (signed) and [0, 1] (unsigned)', () => {
    expect(SIGNED_MAP.length).toBe(256);
    expect(UNSIGNED_MAP.length).toBe(256);
    for (let i = 1; i < 256; i++) expect(SIGNED_MAP[i]!).toBeGreaterThan(SIGNED_MAP[i - 1]!);
    // Signed: -0.99296875 = -(linspace(0.1, 1, 65)[63] + [64]) / 2 = -(0.9859375 + 1) / 2; the top code is 1.
    expect(SIGNED_MAP[0]).toBeCloseTo(-0.99296875, 6);
    expect(SIGNED_MAP[255]).toBe(1);
    // Unsigned: the smallest non-zero code is 1e-6 * (0.1 + 0.55) / 2 = 3.25e-7 (fraction_items = 3 at i = 0).
    expect(UNSIGNED_MAP[0]).toBe(0);
    expect(UNSIGNED_MAP[1]).toBeCloseTo(3.25e-7, 12);
    expect(UNSIGNED_MAP[255]).toBe(1);
  });

  it('the lookup-table quantizer picks the same codes as binary search', () => {
    const rnd = mulberry32(7).next;
    for (let i = 0; i < 30_000; i++) {
      const x = (rnd() * 2 - 1) * 10 ** (-rnd() * 8);
      expect(quantize(x, SIGNED_MAP, SIGNED_LUT)).toBe(quantizeBinarySearch(x, SIGNED_MAP));
      expect(quantize(Math.abs(x), UNSIGNED_MAP, UNSIGNED_LUT)).toBe(quantizeBinarySearch(Math.abs(x), UNSIGNED_MAP));
    }
    for (const x of [-1, 0, 1, 1e-9, -1e-9]) expect(quantize(x, SIGNED_MAP, SIGNED_LUT)).toBe(quantizeBinarySearch(x, SIGNED_MAP));
  });

  it('two search steps suffice in every bucket: both ends and the middle of all 65536 buckets in [-1, 1] agree', () => {
    const bits = new Uint32Array(1);
    const f = new Float32Array(bits.buffer);
    let checked = 0;
    let mismatches = 0;
    for (let hi = 0; hi < 65536; hi++)
      for (const lo of [0x0000, 0x8000, 0xffff]) {
        bits[0] = ((hi << 16) | lo) >>> 0;
        const x = f[0]!;
        if (!(Math.abs(x) <= 1)) continue;
        checked++;
        if (quantize(x, SIGNED_MAP, SIGNED_LUT) !== quantizeBinarySearch(x, SIGNED_MAP)) mismatches++;
        if (x >= 0 && quantize(x, UNSIGNED_MAP, UNSIGNED_LUT) !== quantizeBinarySearch(x, UNSIGNED_MAP)) mismatches++;
      }
    expect(checked).toBeGreaterThan(90_000);
    expect(mismatches).toBe(0);
  });
});
