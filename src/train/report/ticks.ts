// "Nice" axis ticks: steps of 1, 2 or 5 times a power of ten (Heckbert, "Nice numbers for graph
// labels", Graphics Gems 1990), so labels read 0, 0.5, 1.0 rather than 0, 0.37, 0.74.

export interface Axis {
  min: number;
  max: number;
  ticks: number[];
  /** Digits after the decimal point that show every tick exactly. */
  decimals: number;
}

function niceStep(rough: number): number {
  const power = 10 ** Math.floor(Math.log10(rough));
  const fraction = rough / power;
  // Heckbert's rounding thresholds: the nearest of 1, 2, 5, 10 on a log-ish scale.
  const nice = fraction < 1.5 ? 1 : fraction < 3 ? 2 : fraction < 7 ? 5 : 10;
  return nice * power;
}

/** An axis covering [lo, hi] with about `count` ticks; a zero-width range is widened around its value. */
export function niceAxis(lo: number, hi: number, count = 5): Axis {
  if (!Number.isFinite(lo) || !Number.isFinite(hi)) return niceAxis(0, 1, count);
  if (hi === lo) {
    const pad = lo === 0 ? 1 : Math.abs(lo) * 0.1;
    return niceAxis(lo - pad, hi + pad, count);
  }
  const step = niceStep((hi - lo) / Math.max(1, count - 1));
  const min = Math.floor(lo / step) * step;
  const max = Math.ceil(hi / step) * step;
  const ticks: number[] = [];
  // Rounded to the step's precision so 0.1 * 3 prints as 0.3.
  const decimals = Math.max(0, -Math.floor(Math.log10(step)));
  for (let t = min; t <= max + step / 2; t += step) ticks.push(Number(t.toFixed(decimals)));
  return { min, max, ticks, decimals };
}
