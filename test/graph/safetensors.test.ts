import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { decodeSafetensors, encodeSafetensors, loadSafetensors, saveSafetensors } from '../../src/graph/index.js';

describe('safetensors', () => {
  it('writes the documented layout: u64 header length, JSON header, data', () => {
    const bytes = encodeSafetensors({ a: { dtype: 'float32', dims: [2], data: Float32Array.of(1, 2) } }, { step: '3' });
    const n = Number(new DataView(bytes.buffer).getBigUint64(0, true));
    const header = JSON.parse(Buffer.from(bytes.subarray(8, 8 + n)).toString());
    expect(header).toEqual({ __metadata__: { step: '3' }, a: { dtype: 'F32', shape: [2], data_offsets: [0, 8] } });
    expect((8 + n) % 8).toBe(0);
    expect([...new Float32Array(bytes.slice(8 + n).buffer)]).toEqual([1, 2]);
  });

  it('round-trips several dtypes through a file', () => {
    const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'ak-st-')), 'x.safetensors');
    saveSafetensors(file, new Map([
      ['w', { dtype: 'float32', dims: [2, 2], data: Float32Array.of(1, -2, 3.5, 4) }],
      ['i', { dtype: 'int64', dims: [3], data: BigInt64Array.of(1n, -5n, 7n) }],
      ['q', { dtype: 'uint8', dims: [1], data: Uint8Array.of(255) }],
    ]));
    const back = loadSafetensors(file);
    expect([...back.tensors.get('w')!.data]).toEqual([1, -2, 3.5, 4]);
    expect([...back.tensors.get('i')!.data]).toEqual([1n, -5n, 7n]);
    expect(back.tensors.get('q')!.dims).toEqual([1]);
  });

  it('names the tensor whose offsets do not fit', () => {
    const bytes = encodeSafetensors({ a: { dtype: 'float32', dims: [2], data: Float32Array.of(1, 2) } });
    expect(() => decodeSafetensors(bytes.subarray(0, bytes.length - 4), 'cut.safetensors')).toThrow(/cut.safetensors: tensor a/);
  });
});
