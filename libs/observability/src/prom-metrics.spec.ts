import { PromMetrics } from './prom-metrics';

/** The value of one sample line in the exposition text, or undefined when absent. */
function sample(text: string, series: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

describe(PromMetrics.name, () => {
  let metrics: PromMetrics;
  beforeEach(() => {
    metrics = new PromMetrics({ defaultMetrics: false });
  });

  it('counts ingested events by channel and decision, and duplicates apart', async () => {
    metrics.eventIngested('webhook', 'opened');
    metrics.eventIngested('webhook', 'opened');
    metrics.eventIngested('slack', 'resumed');
    metrics.eventDuplicate('webhook');
    const text = await metrics.scrape();
    expect(
      sample(text, 'workgate_events_ingested_total{channel="webhook",decision="opened"}'),
    ).toBe(2);
    expect(sample(text, 'workgate_events_ingested_total{channel="slack",decision="resumed"}')).toBe(
      1,
    );
    expect(sample(text, 'workgate_events_duplicate_total{channel="webhook"}')).toBe(1);
  });

  it('observes step durations and timer lateness in seconds, never a negative lateness', async () => {
    metrics.stepFinished({ kind: 'triage', name: 'summarize', outcome: 'completed' }, 0.2);
    metrics.stepFinished({ kind: 'triage', name: 'summarize', outcome: 'failed' }, 3);
    metrics.timerFired('sleep', -0.004);
    metrics.timerFired('wait', 12);
    const text = await metrics.scrape();
    const step = (outcome: string, suffix: string) =>
      sample(
        text,
        `workgate_step_duration_seconds_${suffix}{kind="triage",step="summarize",outcome="${outcome}"}`,
      );
    expect(step('completed', 'count')).toBe(1);
    expect(step('completed', 'sum')).toBeCloseTo(0.2);
    expect(step('failed', 'sum')).toBe(3);
    expect(sample(text, 'workgate_timer_lateness_seconds_sum{timer="sleep"}')).toBe(0);
    expect(sample(text, 'workgate_timer_lateness_seconds_bucket{le="0.01",timer="sleep"}')).toBe(1);
    expect(sample(text, 'workgate_timer_lateness_seconds_bucket{le="10",timer="wait"}')).toBe(0);
    expect(sample(text, 'workgate_timer_lateness_seconds_bucket{le="30",timer="wait"}')).toBe(1);
  });

  it('counts lease expiries, outbox failures, model tokens and cost', async () => {
    metrics.leaseExpired('triage');
    metrics.outboxFailed('http', 'retry');
    metrics.outboxFailed('http', 'failed');
    metrics.modelCall({
      provider: 'openai',
      model: 'gpt-x',
      inputTokens: 100,
      outputTokens: 20,
      cachedTokens: 50,
      costUsd: 0.0125,
    });
    const text = await metrics.scrape();
    expect(sample(text, 'workgate_lease_expiries_total{kind="triage"}')).toBe(1);
    expect(sample(text, 'workgate_outbox_failures_total{channel="http",outcome="retry"}')).toBe(1);
    expect(sample(text, 'workgate_outbox_failures_total{channel="http",outcome="failed"}')).toBe(1);
    const tokens = (type: string) =>
      sample(text, `workgate_model_tokens_total{provider="openai",model="gpt-x",type="${type}"}`);
    expect([tokens('input'), tokens('output'), tokens('cached')]).toEqual([100, 20, 50]);
    expect(sample(text, 'workgate_model_cost_usd_total{provider="openai",model="gpt-x"}')).toBe(
      0.0125,
    );
  });

  it('reads the ledger and queue gauges on each scrape, dropping series that vanished', async () => {
    let counts: Record<string, number> = { WAITING: 2, FAILED: 1 };
    metrics.setWorksByStateSource(async () => counts);
    metrics.setQueueDepthSource(async () => [{ queue: 'work', counts: { waiting: 4, active: 1 } }]);
    let text = await metrics.scrape();
    expect(sample(text, 'workgate_works{state="WAITING"}')).toBe(2);
    expect(sample(text, 'workgate_queue_jobs{queue="work",state="waiting"}')).toBe(4);

    counts = { WAITING: 0 };
    text = await metrics.scrape();
    expect(sample(text, 'workgate_works{state="WAITING"}')).toBe(0);
    expect(sample(text, 'workgate_works{state="FAILED"}')).toBeUndefined();
  });

  it('leaves a failing source’s gauges empty and counts the failure, still answering the scrape', async () => {
    metrics.setWorksByStateSource(async () => ({ QUEUED: 3 }));
    expect(sample(await metrics.scrape(), 'workgate_works{state="QUEUED"}')).toBe(3);

    metrics.setWorksByStateSource(async () => {
      throw new Error('PostgreSQL is down');
    });
    metrics.eventIngested('webhook', 'opened');
    const text = await metrics.scrape();
    expect(sample(text, 'workgate_works{state="QUEUED"}')).toBeUndefined();
    expect(sample(text, 'workgate_metrics_source_errors_total{source="ledger"}')).toBe(1);
    expect(
      sample(text, 'workgate_events_ingested_total{channel="webhook",decision="opened"}'),
    ).toBe(1);
  });

  it('includes Node process metrics unless told not to, in its own registry', async () => {
    const withDefaults = new PromMetrics();
    expect(await withDefaults.scrape()).toMatch(/^process_cpu_user_seconds_total \d/m);
    expect(await metrics.scrape()).not.toMatch(/process_cpu_user_seconds_total/);
    expect(withDefaults.contentType).toMatch(/^text\/plain; version=0\.0\.4/);
  });
});
