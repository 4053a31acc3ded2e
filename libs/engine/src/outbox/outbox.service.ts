import { Inject, Injectable, Optional } from '@nestjs/common';
import { DelayedError, type Job } from 'bullmq';
import { type PoolClient } from 'pg';
import { RateLimiterRedis, RateLimiterRes } from 'rate-limiter-flexible';
import { APP_CONFIG, type AppConfig, LOGGER, type Logger } from '@app/config';
import {
  backoffDelayMs,
  CLOCK,
  type Clock,
  ID_GENERATOR,
  type IdGenerator,
  type OutboundPayload,
  normalizeRetryPolicy,
  type RetryPolicy,
  redactSecrets,
} from '@app/core';
import {
  LedgerDatabase,
  OutboxRepository,
  type OutboxRow,
  WORK_DISPATCHER,
  type WorkDispatcher,
  WorkRepository,
} from '@app/ledger';
import { METRICS, type MetricsPort, NOOP_METRICS } from '@app/observability';
import { OnJob } from '../jobs/on-job.decorator';
import { deliverJob, type DeliverPayload } from '../queues/job-catalog';
import { REDIS } from '../queues/redis.module';
import { type RedisClient } from '../queues/redis-connection';
import {
  type OutboundDelivery,
  OutboundError,
  type OutboundSender,
  OUTBOUND_SENDERS,
  type RateLimit,
} from './outbound-sender.port';

/** How often a part waiting for the part before it looks again. */
const PART_ORDER_POLL_MS = 250;

export type DeliverOutcome = 'sent' | 'retry' | 'failed' | 'throttled' | 'stale';

/**
 * Delivers Outbox rows through their channel's sender, at least once, each with the
 * row's stable idempotency key.
 *
 * One attempt: claim the row (attempts + 1, and nextAttemptAt pushed past the attempt
 * deadline so neither the reconciler nor a duplicate job starts a second delivery
 * while this one runs), call the sender outside any transaction, then record the
 * outcome. A worker that dies mid-send leaves the row due again after the deadline;
 * it is delivered again with the same key, which is why every sender passes the key
 * to its provider. Rate limits are checked before the claim: a throttled delivery is
 * put back in the delayed set and costs no attempt.
 */
@Injectable()
export class OutboxService {
  private readonly senders = new Map<string, OutboundSender>();
  private readonly limiters = new Map<string, RateLimiterRedis>();
  private readonly policy: RetryPolicy;
  private readonly deadlineMs: number;

  constructor(
    private readonly db: LedgerDatabase,
    private readonly outbox: OutboxRepository,
    private readonly works: WorkRepository,
    @Inject(OUTBOUND_SENDERS) senders: OutboundSender[],
    @Inject(WORK_DISPATCHER) private readonly dispatcher: WorkDispatcher,
    @Inject(REDIS) private readonly redis: RedisClient,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    @Inject(CLOCK) private readonly clock: Clock,
    @Inject(ID_GENERATOR) private readonly ids: IdGenerator,
    @Inject(LOGGER) private readonly logger: Logger,
    @Optional() @Inject(METRICS) private readonly metrics: MetricsPort = NOOP_METRICS,
  ) {
    for (const sender of senders) {
      if (this.senders.has(sender.channel))
        throw new Error(`two outbound senders for channel "${sender.channel}"`);
      this.senders.set(sender.channel, sender);
    }
    const o = config.outbound;
    this.policy = normalizeRetryPolicy({
      maxAttempts: o.maxAttempts,
      initialIntervalMs: o.retryDelay,
      maxIntervalMs: o.maxRetryDelay,
      backoffCoefficient: 2,
      jitter: 0.2,
    });
    this.deadlineMs = o.attemptDeadline;
  }

  /** Channels this worker can deliver to. */
  channels(): string[] {
    return [...this.senders.keys()];
  }

  @OnJob(deliverJob)
  async handleDeliver(payload: DeliverPayload, job?: Job, token?: string): Promise<DeliverOutcome> {
    const result = await this.deliver(payload.outboxId);
    if (typeof result === 'object') {
      if (job) {
        // Over a provider's rate limit: back into the delayed set, same job, no attempt spent.
        await job.moveToDelayed(this.clock.now() + result.waitMs, token);
        throw new DelayedError();
      }
      return 'throttled';
    }
    return result;
  }

  /** One delivery attempt of a row; `{ waitMs }` when it is not due or a rate limit says not yet. */
  async deliver(outboxId: string): Promise<DeliverOutcome | { waitMs: number }> {
    const row = await this.db.transaction((c) => this.outbox.find(c, outboxId));
    if (!row || row.status !== 'pending') return 'stale';
    // Not due: a retry is scheduled later, or another attempt holds the row until its
    // deadline. Wait until then rather than dropping the job: if that attempt died,
    // this job is the one that delivers.
    const notYet = row.nextAttemptAt.getTime() - this.clock.now();
    if (notYet > 0) return { waitMs: notYet };

    const waitForPart = await this.earlierPartPending(row);
    if (waitForPart > 0) return { waitMs: waitForPart };

    const sender = this.senders.get(row.channel);
    if (!sender) {
      await this.fail(
        row,
        row.attempts,
        `no outbound sender for channel "${row.channel}" in this worker (configured: ${this.channels().join(', ') || 'none'})`,
      );
      return 'failed';
    }
    const preview = this.toDelivery(row, row.attempts + 1);
    const waitMs = await this.takeRateLimits(sender.limits?.(preview) ?? []);
    if (waitMs > 0) return { waitMs };

    const now = this.clock.now();
    const claimed = await this.db.transaction((c) =>
      this.outbox.claim(c, outboxId, new Date(now), new Date(now + this.deadlineMs)),
    );
    if (!claimed) return 'stale';
    const delivery = this.toDelivery(claimed, claimed.attempts);

    try {
      const { providerMessageId } = await sender.send(delivery);
      await this.db.transaction(async (client) => {
        // A later attempt took the row meanwhile (this one outlived its deadline): its
        // outcome stands; the provider dedupes on the idempotency key.
        if (
          !(await this.outbox.markSent(
            client,
            claimed.id,
            claimed.attempts,
            providerMessageId ?? null,
          ))
        )
          return;
        if (claimed.workId)
          await this.note(client, claimed.workId, 'message_sent', {
            outboxId: claimed.id,
            channel: claimed.channel,
            target: redactSecrets(claimed.target),
            kind: delivery.payload.kind,
            attempt: claimed.attempts,
            providerMessageId: providerMessageId ?? null,
          });
      });
      return 'sent';
    } catch (err) {
      return this.afterFailure(claimed, err);
    }
  }

  /**
   * Parts of one long message are rows sent in order: a part waits while the part
   * before it (`after`) is still pending — not sent yet, or being sent by another
   * attempt — since jobs of one step run side by side and retries reorder them. A part
   * whose predecessor failed for good goes anyway: the rest of an answer beats none.
   */
  private async earlierPartPending(row: OutboxRow): Promise<number> {
    const after = row.payload.after;
    if (typeof after !== 'string') return 0;
    const before = await this.db.transaction((c) => this.outbox.find(c, after));
    return before?.status === 'pending' ? PART_ORDER_POLL_MS : 0;
  }

  private async afterFailure(row: OutboxRow, err: unknown): Promise<DeliverOutcome> {
    // A delivery error quotes the URL it failed on, which may carry the credential
    // (a Slack incoming webhook, userinfo, a token parameter): recorded and logged redacted.
    const message = redactSecrets(err instanceof Error ? err.message : String(err));
    // Anything but an OutboundError (a bug in a sender, a DNS hiccup) is worth another try.
    const retryable = err instanceof OutboundError ? err.retryable : true;
    if (!retryable || row.attempts >= this.policy.maxAttempts) {
      await this.fail(
        row,
        row.attempts,
        retryable ? `gave up after ${row.attempts} attempts: ${message}` : message,
      );
      return 'failed';
    }
    const backoff = backoffDelayMs(this.policy, row.attempts, this.ids.random());
    const providerWait = err instanceof OutboundError ? (err.retryAfterMs ?? 0) : 0;
    const at = this.clock.now() + Math.max(backoff, providerWait);
    const rescheduled = await this.db.transaction(async (client) => {
      if (!(await this.outbox.reschedule(client, row.id, row.attempts, new Date(at), message)))
        return false;
      if (row.workId)
        await this.note(client, row.workId, 'message_retry', {
          outboxId: row.id,
          attempt: row.attempts,
          error: message,
          nextAttemptAt: new Date(at),
        });
      return true;
    });
    if (!rescheduled) return 'stale';
    this.metrics.outboxFailed(row.channel, 'retry');
    this.logger.warn(
      { outboxId: row.id, channel: row.channel, attempt: row.attempts, err: message },
      'delivery failed; retrying',
    );
    await this.dispatch(row.id, row.attempts + 1, at);
    return 'retry';
  }

  private async fail(row: OutboxRow, attempts: number, error: string): Promise<void> {
    const failed = await this.db.transaction(async (client) => {
      if (!(await this.outbox.markFailed(client, row.id, attempts, error))) return false;
      if (row.workId)
        await this.note(client, row.workId, 'message_failed', {
          outboxId: row.id,
          channel: row.channel,
          target: redactSecrets(row.target),
          attempts,
          error,
        });
      return true;
    });
    if (!failed) return;
    this.metrics.outboxFailed(row.channel, 'failed');
    this.logger.error(
      { outboxId: row.id, channel: row.channel, attempts, err: error },
      'delivery failed for good',
    );
  }

  /** A timeline entry; the work's row lock orders it after the run's own writes (seq = max + 1). */
  private async note(
    client: PoolClient,
    workId: string,
    type: 'message_sent' | 'message_retry' | 'message_failed',
    data: Record<string, unknown>,
  ): Promise<void> {
    await this.works.lock(client, workId);
    await this.works.appendEvent(client, workId, type, data, 'outbox');
  }

  private async dispatch(outboxId: string, attempt: number, at: number): Promise<void> {
    try {
      // replace: a job for this attempt may already wait for a later time (the
      // reconciler's full pass saw the row while this attempt held it, until its deadline).
      await this.dispatcher.dispatch([{ type: 'deliver', outboxId, attempt, at, replace: true }]);
    } catch (err) {
      // The row is pending with its next attempt time in PostgreSQL: the reconciler enqueues it.
      this.logger.warn(
        { outboxId, err: (err as Error).message },
        'could not enqueue the retry; the reconciler will',
      );
    }
  }

  /**
   * Takes one slot of every limit, or none: when one limit refuses, the slots already
   * taken are given back. Returns how long to wait (0 = go).
   */
  private async takeRateLimits(limits: RateLimit[]): Promise<number> {
    const taken: Array<{ limiter: RateLimiterRedis; key: string }> = [];
    for (const limit of limits) {
      const limiter = this.limiter(limit);
      try {
        await limiter.consume(limit.key);
        taken.push({ limiter, key: limit.key });
      } catch (res) {
        for (const t of taken) await t.limiter.reward(t.key).catch(() => undefined);
        if (res instanceof RateLimiterRes) return Math.max(1, res.msBeforeNext);
        throw res;
      }
    }
    return 0;
  }

  /**
   * rate-limiter-flexible keeps fixed windows with Redis EXPIRE, which takes whole
   * seconds: a limit is scaled to the nearest whole-second window (2 per 500 ms → 4 per
   * second). Fixed windows let a burst of up to twice the limit straddle a boundary;
   * providers' own limits are averages over longer spans, and a 429 is retried anyway.
   */
  private limiter(limit: RateLimit): RateLimiterRedis {
    const seconds = Math.max(1, Math.ceil(limit.perMs / 1000));
    const points = Math.max(1, Math.round((limit.max * seconds * 1000) / limit.perMs));
    const id = `${points}/${seconds}s`;
    let limiter = this.limiters.get(id);
    if (!limiter) {
      limiter = new RateLimiterRedis({
        storeClient: this.redis,
        keyPrefix: `${this.config.env.WORKGATE_QUEUE_PREFIX}:ratelimit:${id}`,
        points,
        duration: seconds,
      });
      this.limiters.set(id, limiter);
    }
    return limiter;
  }

  private toDelivery(row: OutboxRow, attempt: number): OutboundDelivery {
    return {
      outboxId: row.id,
      workId: row.workId,
      target: row.target,
      payload: row.payload as unknown as OutboundPayload,
      idempotencyKey: row.idempotencyKey,
      attempt,
    };
  }
}
