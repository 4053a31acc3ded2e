import { z } from 'zod';
import { byteSize, durationMs } from './config-primitives';

/** `server`: the gateway's listener, body limit, and how every process shuts down. */
export const serverConfigSchema = z.strictObject({
  host: z.string().default('0.0.0.0').describe('Gateway listen address (HOST overrides it).'),
  port: z
    .number()
    .int()
    .min(0)
    .max(65535)
    .default(3000)
    .describe('Gateway listen port (PORT overrides it).'),
  /** Limit for every JSON body that is not a webhook (webhooks have their own). */
  bodyLimit: byteSize
    .default(256 * 1024)
    .describe('Limit for every JSON body that is not a webhook (webhooks have their own).'),
  shutdownGrace: durationMs
    .default(10_000)
    .describe(
      'SIGTERM/SIGINT: stop accepting, finish in-flight requests, close pools, exit 0; exit 1 if it takes longer than this. A worker gives its runs the first half to reach a step boundary, then stops their steps and releases what is left (docs/operating.md, "Rolling restarts").',
    ),
  /**
   * Gateway only: after SIGTERM, /health/ready answers 503 for this long while requests
   * are still served, so a load balancer that polls readiness stops sending before the
   * listener closes. Counted before shutdownGrace.
   */
  drainDelay: durationMs
    .default(5_000)
    .describe(
      'Gateway: after SIGTERM, /health/ready answers 503 this long while requests are still served (load balancers notice), then the listener closes and shutdownGrace starts; 0 = close at once.',
    ),
});

/** `worker`: concurrency, leases, the reconciler, and the worker's own small listeners. */
export const workerConfigSchema = z.strictObject({
  concurrency: z
    .number()
    .int()
    .positive()
    .default(8)
    .describe('Works run at once per worker (WORKER_CONCURRENCY overrides it).'),
  lease: durationMs
    .default(30_000)
    .describe(
      'A run holds a lease with a fencing token; heartbeats renew it every lease/3, and a worker that lost it cannot land a write.',
    ),
  reconcileEvery: durationMs
    .default(5_000)
    .describe(
      'How often the reconciler runs: expired leases back to the queue, QUEUED works without a job enqueued, due timers fired, pending outbox rows enqueued.',
    ),
  /**
   * The timer wheel (TimerWheel): timers due within this window are read ahead from
   * the ledger and fired in-process at their due millisecond; BullMQ's delayed job stays
   * the backstop. 0 = off (every timer waits for BullMQ's delayed-set promotion).
   */
  timerLookahead: durationMs
    .default(2_000)
    .describe(
      "Timers due within this window are read ahead (every half window) and fired in-process at their due millisecond, BullMQ's delayed job staying the backstop; 0 = off.",
    ),
  /** Prometheus /metrics of the worker on its own small HTTP listener; 0 = off. */
  metricsPort: z
    .number()
    .int()
    .min(0)
    .max(65535)
    .default(9464)
    .describe(
      "The worker's Prometheus /metrics port on its own small listener; 0 = off (WORKER_METRICS_PORT overrides it).",
    ),
  metricsHost: z.string().default('0.0.0.0').describe("Listen address of the worker's /metrics."),
  /** The worker's /health/live and /health/ready on their own small listener; 0 = off. */
  healthPort: z
    .number()
    .int()
    .min(0)
    .max(65535)
    .default(0)
    .describe(
      "The worker's /health/live and /health/ready port (Kubernetes probes); 0 = off (WORKGATE_WORKER_HEALTH_PORT overrides it).",
    ),
  healthHost: z
    .string()
    .default('0.0.0.0')
    .describe("Listen address of the worker's /health endpoints."),
});
