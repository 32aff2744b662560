// Training curves as SVG, written by hand (no plotting dependency): one or more panels stacked
// vertically, each a line chart of several series against the step, with nice-number ticks, grid
// lines, axis labels and a legend. Non-finite points are left out (a NaN step breaks the line).

import fs from 'node:fs';
import path from 'node:path';
import { fail } from '../../errors.js';
import { metricSeries, type MetricsRecord } from './metrics-log.js';
import { niceAxis, type Axis } from './ticks.js';

export interface Series {
  name: string;
  points: [number, number][];
}

export interface Chart {
  title: string;
  xLabel?: string;
  yLabel?: string;
  series: Series[];
}

export interface PlotOptions {
  /** Width of the image and height of one panel, in px. */
  width?: number;
  panelHeight?: number;
}

const PLOT_DEFAULTS = { width: 720, panelHeight: 300 };
// Tableau 10, the matplotlib default cycle: distinguishable and colour-blind aware.
const COLORS = ['#1f77b4', '#ff7f0e', '#2ca02c', '#d62728', '#9467bd', '#8c564b', '#e377c2', '#7f7f7f', '#bcbd22', '#17becf'];
const MARGIN = { left: 70, right: 20, top: 34, bottom: 46 };

export function escapeXml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&apos;');
}

const num = (x: number): string => (Math.round(x * 100) / 100).toString();

function finite(series: readonly Series[]): [number, number][] {
  return series.flatMap((s) => s.points.filter(([x, y]) => Number.isFinite(x) && Number.isFinite(y)));
}

/** Runs of consecutive finite points, so a non-finite value splits the polyline. */
function segments(points: readonly [number, number][]): [number, number][][] {
  const runs: [number, number][][] = [[]];
  for (const p of points) {
    if (Number.isFinite(p[0]) && Number.isFinite(p[1])) runs[runs.length - 1]!.push(p);
    else if (runs[runs.length - 1]!.length > 0) runs.push([]);
  }
  return runs.filter((r) => r.length > 0);
}

function panel(chart: Chart, width: number, height: number, top: number): string {
  const all = finite(chart.series);
  const xAxis: Axis = niceAxis(Math.min(...all.map((p) => p[0])), Math.max(...all.map((p) => p[0])), 6);
  const yAxis: Axis = niceAxis(Math.min(...all.map((p) => p[1])), Math.max(...all.map((p) => p[1])), 5);
  const [x0, x1, y0, y1] = [MARGIN.left, width - MARGIN.right, top + height - MARGIN.bottom, top + MARGIN.top];
  const sx = (x: number): number => x0 + ((x - xAxis.min) / (xAxis.max - xAxis.min)) * (x1 - x0);
  const sy = (y: number): number => y0 - ((y - yAxis.min) / (yAxis.max - yAxis.min)) * (y0 - y1);
  const out: string[] = [`<g class="panel">`, `<text x="${num(width / 2)}" y="${num(top + 20)}" text-anchor="middle" font-size="15" font-weight="bold">${escapeXml(chart.title)}</text>`];
  for (const t of yAxis.ticks) {
    out.push(`<line x1="${x0}" y1="${num(sy(t))}" x2="${x1}" y2="${num(sy(t))}" stroke="#e5e5e5"/>`);
    out.push(`<text x="${x0 - 6}" y="${num(sy(t) + 4)}" text-anchor="end" font-size="11">${t.toFixed(yAxis.decimals)}</text>`);
  }
  for (const t of xAxis.ticks) {
    out.push(`<line x1="${num(sx(t))}" y1="${y0}" x2="${num(sx(t))}" y2="${y0 + 5}" stroke="#333"/>`);
    out.push(`<text x="${num(sx(t))}" y="${y0 + 18}" text-anchor="middle" font-size="11">${t.toFixed(xAxis.decimals)}</text>`);
  }
  out.push(`<rect x="${x0}" y="${y1}" width="${x1 - x0}" height="${y0 - y1}" fill="none" stroke="#333"/>`);
  if (chart.xLabel) out.push(`<text x="${num((x0 + x1) / 2)}" y="${y0 + 36}" text-anchor="middle" font-size="12">${escapeXml(chart.xLabel)}</text>`);
  if (chart.yLabel) out.push(`<text transform="translate(16 ${num((y0 + y1) / 2)}) rotate(-90)" text-anchor="middle" font-size="12">${escapeXml(chart.yLabel)}</text>`);
  chart.series.forEach((s, i) => {
    const color = COLORS[i % COLORS.length]!;
    for (const run of segments(s.points)) {
      if (run.length === 1) out.push(`<circle cx="${num(sx(run[0]![0]))}" cy="${num(sy(run[0]![1]))}" r="2.5" fill="${color}"/>`);
      else out.push(`<polyline fill="none" stroke="${color}" stroke-width="1.6" points="${run.map(([x, y]) => `${num(sx(x))},${num(sy(y))}`).join(' ')}"/>`);
    }
  });
  // Legend in the top-right corner on a translucent box, sized for the longest name (~6.5 px a character at 11 px).
  const legendWidth = 34 + 6.5 * Math.max(...chart.series.map((s) => s.name.length));
  const lx = x1 - legendWidth - 6;
  out.push(`<rect x="${num(lx)}" y="${y1 + 4}" width="${num(legendWidth)}" height="${chart.series.length * 16 + 6}" fill="white" fill-opacity="0.85" stroke="#ccc"/>`);
  chart.series.forEach((s, i) => {
    const color = COLORS[i % COLORS.length]!;
    const ly = y1 + 18 + i * 16;
    out.push(`<line x1="${num(lx + 6)}" y1="${ly - 4}" x2="${num(lx + 24)}" y2="${ly - 4}" stroke="${color}" stroke-width="2"/>`);
    out.push(`<text x="${num(lx + 30)}" y="${ly}" font-size="11">${escapeXml(s.name)}</text>`);
  });
  out.push('</g>');
  return out.join('\n');
}

/** One SVG document with `charts` stacked top to bottom. */
export function chartsToSvg(charts: readonly Chart[], opts: PlotOptions = {}): string {
  const width = opts.width ?? PLOT_DEFAULTS.width;
  const height = opts.panelHeight ?? PLOT_DEFAULTS.panelHeight;
  if (charts.length === 0) throw fail('ALIGNKIT_ERR_INVALID_ARGUMENT', 'a plot needs at least one chart', { parameter: 'charts' });
  for (const c of charts)
    if (finite(c.series).length === 0) throw fail('ALIGNKIT_ERR_INVALID_ARGUMENT', `chart "${c.title}" has no finite points to plot`, { parameter: 'charts', field: c.title });
  const total = height * charts.length;
  return [
    '<?xml version="1.0" encoding="UTF-8"?>',
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${total}" viewBox="0 0 ${width} ${total}" font-family="sans-serif">`,
    `<rect width="${width}" height="${total}" fill="white"/>`,
    ...charts.map((c, i) => panel(c, width, height, i * height)),
    '</svg>',
    '',
  ].join('\n');
}

/**
 * Panels of metrics from a metrics log: each panel lists the metric names it overlays (e.g.
 * `[['loss', 'eval_loss'], ['reward_accuracy']]`); metrics absent from every record are dropped.
 */
export function trainingCurves(records: readonly MetricsRecord[], panels: readonly string[][]): Chart[] {
  return panels
    .map((names) => ({ title: names.join(', '), xLabel: 'step', series: names.map((name) => ({ name, points: metricSeries(records, name) })).filter((s) => s.points.length > 0) }))
    .filter((c) => c.series.length > 0);
}

/** Writes the SVG of `charts` to `file` (folder created). */
export function writeSvgPlot(file: string, charts: readonly Chart[], opts: PlotOptions = {}): void {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, chartsToSvg(charts, opts));
}
