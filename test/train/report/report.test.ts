import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import { afterAll, describe, expect, it } from 'vitest';
import {
  JsonlMetricsLogger,
  TrainingProgress,
  chartsToSvg,
  formatSummaryTable,
  niceAxis,
  readMetrics,
  summarizeMetrics,
  trainingCurves,
  writeSvgPlot,
  type MetricsRecord,
} from '../../../src/train/report/index.js';
import { checkWellFormedXml } from './xml-check.js';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'alignkit-report-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

/** A decaying loss with noise-free wiggle, an lr warmup and an eval metric every 10 steps. */
function fakeRun(steps: number): MetricsRecord[] {
  return Array.from({ length: steps }, (_, i) => {
    const step = i + 1;
    const r: MetricsRecord = { step, loss: 0.7 * Math.exp(-step / 40) + 0.05 * Math.sin(step / 3) + 0.2, lr: 1e-3 * Math.min(1, step / 20) };
    if (step % 10 === 0) r.eval_loss = 0.75 * Math.exp(-step / 50) + 0.25;
    if (step % 10 === 0) r.reward_accuracy = Math.min(0.9, 0.5 + step / 250);
    return r;
  });
}

describe('JSONL metrics log', () => {
  it('appends one flushed line per record, keeps non-finite values, and continues after reopening', () => {
    const file = path.join(dir, 'run', 'metrics.jsonl');
    const log = new JsonlMetricsLogger(file);
    log.log({ step: 1, loss: 0.9, lr: 1e-4 });
    // Written through at once: readable before close, as after a kill.
    expect(fs.readFileSync(file, 'utf8')).toBe('{"step":1,"loss":0.9,"lr":0.0001}\n');
    log.log({ step: 2, loss: NaN, grad_norm: Infinity });
    log.close();
    const resumed = new JsonlMetricsLogger(file);
    resumed.log({ step: 3, loss: 0.5 });
    resumed.close();
    const records = readMetrics(file);
    expect(records.map((r) => r.step)).toEqual([1, 2, 3]);
    expect(records[1]!.loss).toBeNaN();
    expect(records[1]!.grad_norm).toBe(Infinity);
    expect(() => resumed.log({ step: 4 })).toThrow(/is closed/);
  });

  it('ignores a torn last line but names a bad line in the middle', () => {
    const file = path.join(dir, 'torn.jsonl');
    fs.writeFileSync(file, '{"step":1,"loss":1}\n{"step":2,"lo');
    expect(readMetrics(file)).toEqual([{ step: 1, loss: 1 }]);
    fs.writeFileSync(file, '{"step":1}\nnot json\n{"step":3}\n');
    expect(() => readMetrics(file)).toThrow(`${file} row 2 is not valid JSON`);
  });
});

describe('progress bar', () => {
  it('draws step, loss, lr, tokens/s and ETA on a terminal', () => {
    const stream = Object.assign(new PassThrough(), { isTTY: true, columns: 160 });
    let written = '';
    stream.on('data', (chunk: Buffer) => (written += chunk.toString()));
    let t = 0;
    const bar = new TrainingProgress({ totalSteps: 10, stream, now: () => t });
    bar.start();
    t = 2000;
    bar.update({ step: 5, loss: 0.123456, lr: 3e-4, tokens: 1000 });
    expect(bar.tokensPerSecond).toBe(500);
    bar.stop();
    expect(bar.visible).toBe(true);
    expect(written).toContain('step 5/10');
    expect(written).toContain('loss 0.1235');
    expect(written).toContain('lr 3.00e-4');
    expect(written).toContain('500 tok/s');
    expect(written).toContain('ETA');
  });

  it('writes nothing when the stream is not a TTY', () => {
    const stream = new PassThrough();
    let written = '';
    stream.on('data', (chunk: Buffer) => (written += chunk.toString()));
    const bar = new TrainingProgress({ totalSteps: 3, stream });
    bar.start();
    bar.update({ step: 1, loss: 1, tokens: 10 });
    bar.stop();
    expect(bar.visible).toBe(false);
    expect(written).toBe('');
  });
});

describe('SVG training curves', () => {
  it('picks 1-2-5 ticks that cover the data', () => {
    expect(niceAxis(0, 0.95).ticks).toEqual([0, 0.2, 0.4, 0.6, 0.8, 1]);
    expect(niceAxis(1, 200, 6).ticks).toEqual([0, 50, 100, 150, 200]);
    const flat = niceAxis(3, 3);
    expect(flat.min).toBeLessThan(3);
    expect(flat.max).toBeGreaterThan(3);
  });

  it('writes well-formed SVG with one polyline per series, ticks and a legend, and rsvg renders it', () => {
    const records = fakeRun(120);
    records[60]!.loss = NaN; // a NaN splits the loss line in two
    const charts = trainingCurves(records, [['loss', 'eval_loss'], ['reward_accuracy'], ['absent']]);
    expect(charts.map((c) => c.title)).toEqual(['loss, eval_loss', 'reward_accuracy']);
    const file = path.join(dir, 'curves.svg');
    writeSvgPlot(file, charts);
    const svg = fs.readFileSync(file, 'utf8');
    const { root, elements } = checkWellFormedXml(svg);
    expect(root).toBe('svg');
    expect(elements.get('g')).toBe(2);
    // loss: 2 runs around the NaN; eval_loss: 1; reward_accuracy: 1.
    expect(elements.get('polyline')).toBe(4);
    expect(svg).toContain('>eval_loss</text>');
    expect(svg).toContain('>step</text>');
    // The x axis of 1..120 is labelled in steps of 20 (6 ticks asked for).
    for (const t of [0, 20, 60, 120]) expect(svg).toContain(`>${t}</text>`);
    let rsvg = true;
    try {
      execFileSync('rsvg-convert', ['--version']);
    } catch {
      rsvg = false;
    }
    if (rsvg) {
      const png = execFileSync('rsvg-convert', ['-f', 'png', file]);
      expect(png.subarray(1, 4).toString()).toBe('PNG');
      // PNG IHDR: width and height as big-endian uint32 at bytes 16 and 20.
      expect([png.readUInt32BE(16), png.readUInt32BE(20)]).toEqual([720, 600]);
    }
  });

  it('escapes titles and series names, and refuses a chart with nothing finite to draw', () => {
    const svg = chartsToSvg([{ title: 'a < b & "c"', series: [{ name: "x'y", points: [[0, 1]] }] }]);
    expect(() => checkWellFormedXml(svg)).not.toThrow();
    expect(svg).toContain('a &lt; b &amp; &quot;c&quot;');
    expect(svg).toContain('<circle');
    expect(() => chartsToSvg([{ title: 'nan', series: [{ name: 'loss', points: [[1, NaN]] }] }])).toThrow('chart "nan" has no finite points to plot');
  });
});

describe('summary table', () => {
  it('gives first, last, min and max per metric, ignoring NaN in min/max', () => {
    const records: MetricsRecord[] = [
      { step: 1, loss: 2, lr: 0.1 },
      { step: 2, loss: NaN },
      { step: 3, loss: 1, lr: 0.05, eval_accuracy: 0.75 },
    ];
    const summary = summarizeMetrics(records);
    expect(summary).toEqual([
      { metric: 'loss', count: 3, first: 2, last: 1, min: 1, max: 2, lastStep: 3 },
      { metric: 'lr', count: 2, first: 0.1, last: 0.05, min: 0.05, max: 0.1, lastStep: 3 },
      { metric: 'eval_accuracy', count: 1, first: 0.75, last: 0.75, min: 0.75, max: 0.75, lastStep: 3 },
    ]);
    const lines = formatSummaryTable(summary).split('\n');
    expect(lines[0]).toMatch(/^metric\s+points\s+first\s+last\s+min\s+max$/);
    expect(lines[2]).toMatch(/^loss\s+3\s+2\s+1\s+1\s+2$/);
    expect(lines[3]).toMatch(/^lr\s+2\s+0\.1000\s+0\.0500\s+0\.0500\s+0\.1000$/);
  });
});
