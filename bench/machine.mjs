// What every bench prints about where it ran (../shared/DESIGN.md: the CPU under this machine kind
// changes between sessions, so absolute figures only mean something next to the CPU, its ISA and
// the load average at the time), and the small statistics the benches share.
import fs from 'node:fs';
import os from 'node:os';

/** ISA flags that decide which kernels onnxruntime's MLAS and OpenBLAS pick. */
const ISA = ['avx2', 'fma', 'avx512f', 'avx512bw', 'avx512_vnni', 'avx512_bf16', 'amx_tile'];

export function machine() {
  const cpuinfo = fs.existsSync('/proc/cpuinfo') ? fs.readFileSync('/proc/cpuinfo', 'utf8') : '';
  const flags = new Set((/^flags\s*:\s*(.*)$/m.exec(cpuinfo)?.[1] ?? '').split(/\s+/));
  return {
    cpu: /^model name\s*:\s*(.*)$/m.exec(cpuinfo)?.[1] ?? os.cpus()[0]?.model ?? 'unknown',
    isa: ISA.filter((f) => flags.has(f)),
    cores: os.cpus().length,
    memoryGb: +(os.totalmem() / 2 ** 30).toFixed(1),
    node: process.version,
  };
}

export const loadAverage = () => os.loadavg().map((x) => +x.toFixed(2));

/** "load 1.20 0.90 0.70 (1/5/15 min)", flagged when the 1-minute load reaches the core count. */
export function loadLine() {
  const l = loadAverage();
  return `load ${l.map((x) => x.toFixed(2)).join(' ')} (1/5/15 min)${l[0] >= os.cpus().length ? ' - LOADED: other work competes for the cores' : ''}`;
}

export function describeMachine(m = machine()) {
  return `machine: ${m.cpu}, ${m.cores} cores, ISA ${m.isa.join(' ')}, ${m.memoryGb} GB, Node.js ${m.node}; ${loadLine()}`;
}

export const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
export const mb = (kb) => Math.round(kb / 1024);
