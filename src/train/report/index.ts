// Run reporting for training: the JSONL metrics log, the terminal progress bar, SVG training curves
// and the plain-text summary tables.
export { JsonlMetricsLogger, metricSeries, readMetrics, type MetricsRecord } from './metrics-log.js';
export { TrainingProgress, type ProgressOptions, type StepProgress, type StepUpdate } from './progress.js';
export { niceAxis, type Axis } from './ticks.js';
export { chartsToSvg, escapeXml, trainingCurves, writeSvgPlot, type Chart, type PlotOptions, type Series } from './svg-plot.js';
export { formatTable, type Cell, type FormatOptions, type TableColumn } from './table.js';
export { formatSummaryTable, summarizeMetrics, type MetricSummary } from './summary.js';
