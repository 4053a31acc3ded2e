import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import { type MetricsPort, type ModelCallMetrics } from './metrics.port';

/** Counts per state, as read from the ledger when /metrics is scraped. */
export type WorksByStateSource = () => Promise<Record<string, number>>;
/** Job counts per BullMQ state of each queue, read when /metrics is scraped. */
export type QueueDepthSource = () => Promise<
  Array<{ queue: string; counts: Record<string, number> }>
>;

/**
 * Buckets in seconds. Steps range from a few ms (a recorded value) to minutes (an
 * external call with retries); timers are late by a few ms normally and by up to a
 * reconcile interval or more after an outage, which is what the upper buckets show.
 */
const STEP_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300];
const LATENESS_BUCKETS = [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 300, 900];

/**
 * The Prometheus side of MetricsPort: one Registry per process (the gateway and the
 * worker each own one; in tests both live in one process and must not share it).
 * Gauges that describe the whole ledger (works by state, queue depths) are filled by
 * sources read on scrape, so they are never stale and cost nothing between scrapes.
 */
export class PromMetrics implements MetricsPort {
  readonly registry = new Registry();

  private readonly eventsIngested = new Counter({
    name: 'workgate_events_ingested_total',
    help: 'Inbound events committed to the ledger, by channel and routing decision',
    labelNames: ['channel', 'decision'] as const,
    registers: [this.registry],
  });
  private readonly eventsDuplicate = new Counter({
    name: 'workgate_events_duplicate_total',
    help: 'Redeliveries of events already in the ledger (nothing written)',
    labelNames: ['channel'] as const,
    registers: [this.registry],
  });
  private readonly works = new Gauge({
    name: 'workgate_works',
    help: 'Works in the ledger by state (read from PostgreSQL on scrape)',
    labelNames: ['state'] as const,
    registers: [this.registry],
  });
  private readonly queueJobs = new Gauge({
    name: 'workgate_queue_jobs',
    help: 'BullMQ jobs by queue and state (read from Redis on scrape)',
    labelNames: ['queue', 'state'] as const,
    registers: [this.registry],
  });
  private readonly stepDuration = new Histogram({
    name: 'workgate_step_duration_seconds',
    help: 'Wall time of ctx.step attempts, by workflow kind, step name and outcome',
    labelNames: ['kind', 'step', 'outcome'] as const,
    buckets: STEP_BUCKETS,
    registers: [this.registry],
  });
  private readonly leaseExpiries = new Counter({
    name: 'workgate_lease_expiries_total',
    help: 'Works taken back from a worker whose lease ran out, by workflow kind',
    labelNames: ['kind'] as const,
    registers: [this.registry],
  });
  private readonly timerLateness = new Histogram({
    name: 'workgate_timer_lateness_seconds',
    help: 'How long after its due time a timer fired (sleep wakes, wait timeouts and rungs)',
    labelNames: ['timer'] as const,
    buckets: LATENESS_BUCKETS,
    registers: [this.registry],
  });
  private readonly outboxFailures = new Counter({
    name: 'workgate_outbox_failures_total',
    help: 'Failed delivery attempts by channel; outcome retry (tried again) or failed (given up)',
    labelNames: ['channel', 'outcome'] as const,
    registers: [this.registry],
  });
  private readonly modelTokens = new Counter({
    name: 'workgate_model_tokens_total',
    help: 'Model tokens by provider, model and type (input, output, cached)',
    labelNames: ['provider', 'model', 'type'] as const,
    registers: [this.registry],
  });
  private readonly modelCost = new Counter({
    name: 'workgate_model_cost_usd_total',
    help: 'Model spend in US dollars by provider and model',
    labelNames: ['provider', 'model'] as const,
    registers: [this.registry],
  });
  private readonly scrapeErrors = new Counter({
    name: 'workgate_metrics_source_errors_total',
    help: 'Scrapes where a source (ledger, queues) could not be read; its gauges are left empty',
    labelNames: ['source'] as const,
    registers: [this.registry],
  });

  private worksSource: WorksByStateSource | undefined;
  private queueSource: QueueDepthSource | undefined;

  constructor(options: { defaultMetrics?: boolean } = {}) {
    // Node's process metrics (CPU, memory, event loop lag, GC, handles) in this registry.
    if (options.defaultMetrics ?? true) collectDefaultMetrics({ register: this.registry });
  }

  get contentType(): string {
    return this.registry.contentType;
  }

  /** Where `workgate_works` comes from (the gateway reads the ledger). */
  setWorksByStateSource(source: WorksByStateSource): void {
    this.worksSource = source;
  }

  /** Where `workgate_queue_jobs` comes from (the gateway asks BullMQ). */
  setQueueDepthSource(source: QueueDepthSource): void {
    this.queueSource = source;
  }

  /** The exposition text. A source that fails empties its gauges rather than failing the scrape. */
  async scrape(): Promise<string> {
    await Promise.all([
      this.refresh('ledger', this.works, this.worksSource, (counts) => {
        for (const [state, n] of Object.entries(counts)) this.works.set({ state }, n);
      }),
      this.refresh('queues', this.queueJobs, this.queueSource, (queues) => {
        for (const { queue, counts } of queues)
          for (const [state, n] of Object.entries(counts)) this.queueJobs.set({ queue, state }, n);
      }),
    ]);
    return this.registry.metrics();
  }

  private async refresh<T>(
    name: string,
    gauge: Gauge<string>,
    source: (() => Promise<T>) | undefined,
    apply: (value: T) => void,
  ): Promise<void> {
    if (!source) return;
    try {
      const value = await source();
      // Reset first: a label set that disappeared (a state with no works left) must not linger.
      gauge.reset();
      apply(value);
    } catch {
      // Stale numbers would look healthy; no series says "unknown", and the counter says why.
      gauge.reset();
      this.scrapeErrors.inc({ source: name });
    }
  }

  eventIngested(channel: string, decision: string): void {
    this.eventsIngested.inc({ channel, decision });
  }

  eventDuplicate(channel: string): void {
    this.eventsDuplicate.inc({ channel });
  }

  stepFinished(
    step: { kind: string; name: string; outcome: 'completed' | 'failed' },
    seconds: number,
  ): void {
    this.stepDuration.observe({ kind: step.kind, step: step.name, outcome: step.outcome }, seconds);
  }

  leaseExpired(kind: string): void {
    this.leaseExpiries.inc({ kind });
  }

  timerFired(timer: 'sleep' | 'wait', lateSeconds: number): void {
    // A timer that fired a hair early by this clock (the job's clock is another process's) is on time.
    this.timerLateness.observe({ timer }, Math.max(0, lateSeconds));
  }

  outboxFailed(channel: string, outcome: 'retry' | 'failed'): void {
    this.outboxFailures.inc({ channel, outcome });
  }

  modelCall(call: ModelCallMetrics): void {
    const model = { provider: call.provider, model: call.model };
    this.modelTokens.inc({ ...model, type: 'input' }, call.inputTokens);
    this.modelTokens.inc({ ...model, type: 'output' }, call.outputTokens);
    this.modelTokens.inc({ ...model, type: 'cached' }, call.cachedTokens);
    this.modelCost.inc(model, call.costUsd);
  }
}
