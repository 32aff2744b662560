// The server's Prometheus metrics on prom-client, the Node standard: one registry per server (so two
// servers in one process never share counters), the default process metrics operators look for
// first (event-loop lag, heap, GC, CPU, open handles) and alignkit's own metrics, each defined once
// here by name. Gauges are read at scrape time through `collect`, so they never go stale.

import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

export { Registry as MetricsRegistry } from 'prom-client';

/** Latency buckets in seconds, shared by request and batch timings. */
const SECONDS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5];

/** A registry holding the default process metrics (alignkit's own are added by `serverMetrics`). */
export function createMetricsRegistry(): Registry {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  return registry;
}

/** Something that reports a number per label set when scraped. */
export type GaugeReader = () => [Record<string, string>, number][];

function readGauge(registry: Registry, name: string, help: string, labelNames: string[], read: GaugeReader): Gauge {
  return new Gauge({
    name,
    help,
    labelNames,
    registers: [registry],
    collect() {
      this.reset();
      for (const [labels, value] of read()) this.set(labels, value);
    },
  });
}

/** HTTP-level metrics of one server; the gauges read the limiter and the server state on scrape. */
export function httpMetrics(registry: Registry, read: { inFlight: () => number; maxConcurrent: () => number }) {
  readGauge(registry, 'alignkit_requests_in_flight', 'Requests counted against the concurrency cap.', [], () => [[{}, read.inFlight()]]);
  readGauge(registry, 'alignkit_max_concurrent_requests', 'The concurrency cap.', [], () => [[{}, read.maxConcurrent()]]);
  return {
    requests: new Counter({ name: 'alignkit_http_requests_total', help: 'HTTP requests, by route and status.', labelNames: ['method', 'route', 'status'], registers: [registry] }),
    seconds: new Histogram({ name: 'alignkit_http_request_duration_seconds', help: 'HTTP request latency, by route.', labelNames: ['route'], buckets: SECONDS, registers: [registry] }),
  };
}

/** Scoring metrics by model; `queue` and `workers` are read on scrape. */
export function scoringMetrics(registry: Registry, read: { queue: GaugeReader; workersUp: GaugeReader }) {
  readGauge(registry, 'alignkit_queue_items', 'Items waiting for a session run, by model.', ['model'], read.queue);
  readGauge(registry, 'alignkit_worker_up', 'Whether the inference worker of a model is running (1) or down (0).', ['model'], read.workersUp);
  return {
    itemsScored: new Counter({ name: 'alignkit_items_scored_total', help: 'Items scored, by model.', labelNames: ['model'], registers: [registry] }),
    batches: new Counter({ name: 'alignkit_batches_total', help: 'Batched session runs, by model.', labelNames: ['model'], registers: [registry] }),
    batchSize: new Histogram({ name: 'alignkit_batch_size', help: 'Items per session run.', labelNames: ['model'], buckets: [1, 2, 4, 8, 16, 32, 64, 128], registers: [registry] }),
    batchSeconds: new Histogram({ name: 'alignkit_batch_duration_seconds', help: 'Wall time of one batched session run.', labelNames: ['model'], buckets: SECONDS.slice(0, -1), registers: [registry] }),
    workerRestarts: new Counter({ name: 'alignkit_worker_restarts_total', help: 'Inference workers restarted after they died, by model.', labelNames: ['model'], registers: [registry] }),
  };
}

export type ScoringMetrics = ReturnType<typeof scoringMetrics>;
