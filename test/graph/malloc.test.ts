// reuseFreedMemory (src/graph/malloc.ts): after it, a large block freed and allocated again comes
// back without page faults; without it, glibc maps fresh pages for it each time. Each case runs in
// its own Node.js process, since the setting is process-wide.

import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

const MODULE = path.resolve('src/graph/malloc.ts');
const BLOCK = 64 * 2 ** 20;

/** Minor page faults of the second of two allocations of BLOCK bytes (the first freed by a full collection in between), in a fresh process. */
function secondAllocationFaults(reuse: boolean): { faults: number; applied: boolean } {
  const script = `
    import v8 from 'node:v8'; import vm from 'node:vm';
    const { reuseFreedMemory } = await import(${JSON.stringify(MODULE)});
    const applied = ${reuse} ? reuseFreedMemory() : false;
    v8.setFlagsFromString('--expose-gc'); const gc = vm.runInNewContext('gc');
    const touch = (b) => { for (let i = 0; i < b.length; i += 4096) b[i] = 1; };
    let block = new Uint8Array(${BLOCK}); touch(block); block = null; gc(); gc();
    const before = process.resourceUsage().minorPageFault;
    block = new Uint8Array(${BLOCK}); touch(block);
    console.log(JSON.stringify({ faults: process.resourceUsage().minorPageFault - before, applied }));`;
  const out = execFileSync(process.execPath, ['--import', path.resolve('src/dev/register-ts.mjs'), '--input-type=module', '-e', script], { encoding: 'utf8' });
  return JSON.parse(out.trim().split('\n').at(-1)!);
}

describe('reuseFreedMemory', () => {
  it.skipIf(process.platform !== 'linux')('lets a freed 64 MB block be allocated again without faulting its pages in', () => {
    const pages = BLOCK / 4096;
    const fresh = secondAllocationFaults(false);
    expect(fresh.faults).toBeGreaterThan(pages / 2); // glibc mapped it anew
    const reused = secondAllocationFaults(true);
    expect(reused.applied).toBe(true);
    expect(reused.faults).toBeLessThan(pages / 10);
  });
});
