import { Agent, request } from 'node:http';
import autocannon from 'autocannon';
import { SCHEMES } from '@app/channels/webhook';
import { round, summarize } from '../lib/stats';

/**
 * The load process of the ingest benchmarks, run as its own child process so the load
 * it generates does not share an event loop with the gateway or the bench driver.
 * Posts Standard Webhooks deliveries, each signed with its own `webhook-id` (so dedupe
 * never short-circuits), and prints one JSON line (LoadReport) on stdout:
 * - closed loop (no `rate`): autocannon over `connections` keep-alive connections, each
 *   sending its next request when the previous is answered: the maximum throughput;
 * - open loop (`rate`): requests leave on a fixed schedule whatever the answers, over up
 *   to `connections` keep-alive sockets. Not autocannon's `overallRate`: its per-request
 *   times include its own pacing (about 20 ms at 200/s on these machines, where a plain
 *   client measures 3 ms), which would hide the server's latency.
 */
export interface LoadOptions {
  url: string;
  secret: string;
  connections: number;
  seconds: number;
  /** Offered requests/s; absent = closed loop, as fast as answers come back. */
  rate?: number;
  /**
   * Stop after this many requests (every answer awaited) instead of after `seconds`:
   * then no request is cut off in flight, and the ledger must hold exactly the 202s.
   */
  amount?: number;
  /** Makes every delivery id unique across the runs of one scenario. */
  idPrefix: string;
}

export interface LoadReport {
  /** 202 answers: events committed and enqueued. */
  accepted: number;
  /** Answers other than 202, by status. */
  rejected: Record<string, number>;
  /** Connection errors and timeouts (no answer at all). */
  errors: number;
  timeouts: number;
  seconds: number;
  acceptedPerSec: number;
  offeredPerSec: number | null;
  /** Requests sent per second over the sending window: the offered rate achieved. */
  sentPerSec: number;
  /** CPU time this load process spent (user + system), ms: it shares the machine. */
  loadCpuMs: number;
  /** Latency of the 202 answers (request sent → response read), ms. */
  latency: { n: number; p50: number; p99: number; max: number };
}

/** One signed delivery with a fresh id. */
function deliveries(opts: LoadOptions) {
  const scheme = SCHEMES['standard-webhooks'];
  let n = 0;
  return () => {
    const id = `${opts.idPrefix}-${n++}`;
    const body = JSON.stringify({ type: 'bench.event', id, sentAt: Date.now() });
    const headers = scheme.sign({
      rawBody: Buffer.from(body),
      secret: opts.secret,
      nowSeconds: Date.now() / 1000,
      id,
    });
    return { body, headers: { 'content-type': 'application/json', ...headers } };
  };
}

interface Tally {
  latencies: number[];
  rejected: Record<string, number>;
  errors: number;
  timeouts: number;
  seconds: number;
  sentSeconds: number;
}

async function closedLoop(opts: LoadOptions): Promise<Tally> {
  const next = deliveries(opts);
  const latencies: number[] = [];
  let finish!: (result: autocannon.Result) => void;
  let fail!: (err: unknown) => void;
  const done = new Promise<autocannon.Result>((resolve, reject) => {
    finish = resolve;
    fail = reject;
  });
  const options: autocannon.Options = {
    url: opts.url,
    method: 'POST',
    connections: opts.connections,
    ...(opts.amount ? { amount: opts.amount } : { duration: opts.seconds }),
    timeout: 10,
    requests: [{ setupRequest: (req) => ({ ...req, method: 'POST', ...next() }) }],
  };
  const instance = autocannon(options, (err, result) => (err ? fail(err) : finish(result)));
  // autocannon notices the end of an `amount` run at its next one-second tick, so its
  // own duration is rounded up: time the run from here to the last answer instead.
  const startedAt = performance.now();
  let lastAnswerAt = startedAt;
  instance.on('response', (_client, statusCode, _bytes, responseTime) => {
    lastAnswerAt = performance.now();
    if (statusCode === 202) latencies.push(responseTime);
  });
  const result = await done;
  const rejected: Record<string, number> = {};
  for (const [status, { count }] of Object.entries(result.statusCodeStats ?? {}))
    if (status !== '202') rejected[status] = count ?? 0;
  const seconds = opts.amount ? (lastAnswerAt - startedAt) / 1000 : result.duration;
  return {
    latencies,
    rejected,
    errors: result.errors,
    timeouts: result.timeouts,
    seconds,
    sentSeconds: seconds,
  };
}

async function openLoop(opts: LoadOptions & { rate: number }): Promise<Tally> {
  const next = deliveries(opts);
  const url = new URL(opts.url);
  const agent = new Agent({ keepAlive: true, maxSockets: opts.connections });
  const total = opts.amount ?? Math.round(opts.rate * opts.seconds);
  const tally: Tally = {
    latencies: [],
    rejected: {},
    errors: 0,
    timeouts: 0,
    seconds: 0,
    sentSeconds: 0,
  };
  const post = () =>
    new Promise<void>((resolve) => {
      const { body, headers } = next();
      const sentAt = performance.now();
      const req = request(
        {
          host: url.hostname,
          port: url.port,
          path: url.pathname,
          method: 'POST',
          agent,
          headers: { ...headers, 'content-length': Buffer.byteLength(body) },
          timeout: 10_000,
        },
        (res) => {
          res.resume();
          res.on('end', () => {
            if (res.statusCode === 202) tally.latencies.push(performance.now() - sentAt);
            else
              tally.rejected[String(res.statusCode)] =
                (tally.rejected[String(res.statusCode)] ?? 0) + 1;
            resolve();
          });
        },
      );
      req.on('timeout', () => {
        tally.timeouts++;
        req.destroy(new Error('timeout'));
      });
      req.on('error', () => {
        tally.errors++;
        resolve();
      });
      req.end(body);
    });
  const startedAt = performance.now();
  const pending: Array<Promise<void>> = [];
  for (let i = 0; i < total; i++) {
    const wait = startedAt + (i * 1000) / opts.rate - performance.now();
    if (wait > 1) await new Promise((resolve) => setTimeout(resolve, wait));
    pending.push(post());
  }
  tally.sentSeconds = (performance.now() - startedAt) / 1000;
  await Promise.all(pending);
  tally.seconds = (performance.now() - startedAt) / 1000;
  agent.destroy();
  return tally;
}

export async function runLoad(opts: LoadOptions): Promise<LoadReport> {
  const cpuAtStart = process.cpuUsage();
  const tally = opts.rate ? await openLoop({ ...opts, rate: opts.rate }) : await closedLoop(opts);
  const s = summarize(tally.latencies);
  const cpu = process.cpuUsage(cpuAtStart);
  const sent =
    tally.latencies.length +
    Object.values(tally.rejected).reduce((a, b) => a + b, 0) +
    tally.errors;
  return {
    accepted: tally.latencies.length,
    rejected: tally.rejected,
    errors: tally.errors,
    timeouts: tally.timeouts,
    seconds: round(tally.seconds, 2),
    acceptedPerSec: round(tally.latencies.length / tally.seconds),
    offeredPerSec: opts.rate ?? null,
    // The open loop's last request leaves at (n - 1) / rate: count the intervals.
    sentPerSec: round(opts.rate ? (sent - 1) / tally.sentSeconds : sent / tally.sentSeconds),
    loadCpuMs: Math.round((cpu.user + cpu.system) / 1000),
    latency: { n: s.n, p50: round(s.p50, 2), p99: round(s.p99, 2), max: round(s.max, 2) },
  };
}

if (require.main === module) {
  runLoad(JSON.parse(process.argv[2] ?? '{}') as LoadOptions)
    .then((report) => {
      process.stdout.write(`${JSON.stringify(report)}\n`);
      process.exit(0);
    })
    .catch((err: unknown) => {
      console.error(err);
      process.exit(1);
    });
}
