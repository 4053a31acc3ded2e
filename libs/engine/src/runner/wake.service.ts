import { Inject, Injectable, Optional } from '@nestjs/common';
import { type Job, DelayedError } from 'bullmq';
import { type PoolClient } from 'pg';
import {
  CLOCK,
  type Clock,
  type EscalationRung,
  ID_GENERATOR,
  type IdGenerator,
  waitMessageKey,
} from '@app/core';
import { LOGGER, type Logger } from '@app/config';
import {
  type Dispatch,
  LedgerDatabase,
  OutboxRepository,
  translateDatabaseError,
  WaitPromptEdits,
  WaitRepository,
  type WaitRow,
  WORK_DISPATCHER,
  type WorkDispatcher,
  WorkRepository,
} from '@app/ledger';
import { METRICS, type MetricsPort, NOOP_METRICS } from '@app/observability';
import { OnJob } from '../jobs/on-job.decorator';
import {
  retryDueJob,
  type RetryDuePayload,
  waitTimerJob,
  type WaitTimerPayload,
} from '../queues/job-catalog';
import { serializeError, WaitTimeoutError } from '../workflow/workflow.errors';
import { RunStore } from './run-store';
import { type Claimed, WorkRunner } from './work-runner.service';

export type WakeOutcome = 'fired' | 'early' | 'stale' | 'paused' | 'rung' | 'requeued';

export type FireResult = WakeOutcome | { early: true; at: number };

/** Who claims a fired work in the fire's own transaction: this worker, in a slot it holds. */
interface ClaimAs {
  owner: string;
  leaseMs: number;
}

/**
 * Timers: a sleep's wake, a wait's timeout, and every rung of an escalation ladder,
 * plus retry backoffs. Each handler re-reads the ledger: a job for a wait that was
 * answered, a rung already passed or a work that moved on does nothing. A timer never
 * fires early: a job that runs before its time is put back until then.
 */
@Injectable()
export class WakeService {
  constructor(
    private readonly db: LedgerDatabase,
    private readonly works: WorkRepository,
    private readonly waits: WaitRepository,
    private readonly outbox: OutboxRepository,
    private readonly edits: WaitPromptEdits,
    @Inject(WORK_DISPATCHER) private readonly dispatcher: WorkDispatcher,
    @Inject(CLOCK) private readonly clock: Clock,
    @Inject(ID_GENERATOR) private readonly ids: IdGenerator,
    @Inject(LOGGER) private readonly logger: Logger,
    @Optional() @Inject(METRICS) private readonly metrics: MetricsPort = NOOP_METRICS,
    @Optional() private readonly runner?: WorkRunner,
    @Optional() private readonly store?: RunStore,
  ) {}

  /**
   * The wake job. With a run slot free here, the timer fires and its work is claimed in
   * one transaction and run from this job (no run job, no second read): see fire().
   * Without one, the work goes back on the queue as QUEUED for any worker's run job.
   */
  @OnJob(waitTimerJob)
  async handleWaitTimer(
    payload: WaitTimerPayload,
    job?: Job,
    token?: string,
  ): Promise<WakeOutcome> {
    const { result, run } = await this.fireAndStart(payload.waitId, payload.rung);
    // The run holds this job (and a wake slot) until it ends; wake has twice the work
    // concurrency (queueConcurrency), so at most half of its slots are held by runs.
    if (run) await run;
    if (typeof result === 'object' && job) {
      // Early (clock skew, or a re-armed job): back into the delayed set until its time.
      await job.moveToDelayed(result.at, token);
      throw new DelayedError();
    }
    return typeof result === 'object' ? 'early' : result;
  }

  /**
   * Fires a timer and, with a run slot free here, claims its work in the same
   * transaction and starts the run (not awaited: `run`). The wake job and the timer
   * wheel (TimerWheel) both come through here.
   */
  async fireAndStart(
    waitId: string,
    rung: number,
  ): Promise<{ result: FireResult; run?: Promise<unknown> }> {
    const slot = this.runner?.reserveSlot() ?? false;
    const claimAs = slot && this.runner ? this.claimAs(this.runner) : undefined;
    const fired = await this.fire(waitId, rung, claimAs).catch((err: unknown) => {
      if (slot) this.runner?.releaseSlot();
      throw err;
    });
    if (slot && !fired.claim) this.runner?.releaseSlot();
    const run = fired.claim && this.runner ? this.runner.runClaimed(fired.claim) : undefined;
    return { result: fired.result, run };
  }

  private claimAs(runner: WorkRunner): ClaimAs {
    return { owner: runner.workerId, leaseMs: runner.leaseMs };
  }

  /** Fires rung `rung` of a wait's timer if it is due and still applies. */
  async fireWaitTimer(waitId: string, rung: number): Promise<FireResult> {
    return (await this.fire(waitId, rung)).result;
  }

  /**
   * Fires the timer; with `claimAs`, a work the fire put back in the queue is claimed
   * in the same transaction (RunClaimSystem.claimWithin: the `claim` command after the
   * fire's, as the run job would apply it after this commit) and its run job is not
   * enqueued. A refused claim writes nothing and the run job goes out as without it.
   */
  async fire(
    waitId: string,
    rung: number,
    claimAs?: ClaimAs,
  ): Promise<{ result: FireResult; claim?: Claimed }> {
    const dispatches: Dispatch[] = [];
    let outcome: FireResult;
    let claim: Claimed | undefined;
    let fired: { timer: 'sleep' | 'wait'; lateMs: number } | undefined;
    try {
      outcome = await this.db.transaction(async (client) => {
        // Lock order (docs/decisions.md): the work, then its wait — as cancel, signal and
        // ingest's resume take them — so an answer, a cancel and a timeout serialize on
        // the work row without a cycle. The unlocked read only finds the work (a wait
        // never changes work); what it decides on is read again under both locks.
        const seen = await this.waits.find(client, waitId);
        if (!seen || seen.status !== 'open' || seen.escalationRung !== rung) return 'stale';
        const work = await this.works.lock(client, seen.workId);
        if (!work) return 'stale';
        const wait = await this.waits.find(client, waitId, true);
        if (!wait || wait.status !== 'open' || wait.escalationRung !== rung) return 'stale';
        const now = this.clock.now();
        if (wait.timeoutAt && wait.timeoutAt.getTime() > now)
          return { early: true as const, at: wait.timeoutAt.getTime() };
        // Timers do not fire while paused; resume fires the ones that fell due.
        if (work.state === 'PAUSED') return 'paused';
        if (work.state !== 'WAITING') return 'stale';
        const timer = wait.type === 'timer' ? 'sleep' : 'wait';
        const result =
          timer === 'sleep'
            ? await this.fireSleep(client, wait, dispatches)
            : await this.fireRung(client, wait, rung, dispatches);
        if (result === 'fired' || result === 'rung')
          fired = { timer, lateMs: now - (wait.timeoutAt?.getTime() ?? now) };
        if (claimAs) claim = await this.claimFired(client, work.id, claimAs, dispatches);
        return result;
      });
    } catch (err) {
      translateDatabaseError(err);
    }
    // Observed once committed: a rolled-back fire is retried and observed then.
    if (fired) this.metrics.timerFired(fired.timer, fired.lateMs / 1000);
    if (dispatches.length) await this.dispatch(dispatches, waitId);
    return { result: outcome, claim };
  }

  /** The fused claim, when the fire queued the work's run: that run job is then dropped. */
  private async claimFired(
    client: PoolClient,
    workId: string,
    as: ClaimAs,
    dispatches: Dispatch[],
  ): Promise<Claimed | undefined> {
    const run = dispatches.findIndex((d) => d.type === 'run' && d.workId === workId);
    if (run < 0 || !this.store) return undefined;
    const claim = await this.store.claims.claimWithin(client, workId, as.owner, as.leaseMs);
    if (!claim.ok) return undefined;
    dispatches.splice(run, 1);
    return claim;
  }

  private async fireSleep(
    client: PoolClient,
    wait: WaitRow,
    dispatches: Dispatch[],
  ): Promise<WakeOutcome> {
    await this.waits.resolve(client, wait.id, 'satisfied', null);
    const late = wait.timeoutAt ? this.clock.now() - wait.timeoutAt.getTime() : 0;
    const applied = await this.works.apply(
      client,
      wait.workId,
      { type: 'timer_fired' },
      { actor: 'timer', data: { waitId: wait.id, lateMs: late } },
    );
    if (applied.ok) dispatches.push(...applied.dispatches);
    return 'fired';
  }

  private async fireRung(
    client: PoolClient,
    wait: WaitRow,
    rung: number,
    dispatches: Dispatch[],
  ): Promise<WakeOutcome> {
    const ladder: EscalationRung[] = wait.escalation ?? [];
    const step = ladder[rung];
    if (!step) return 'stale';
    const data = { waitId: wait.id, rung: rung + 1, action: step.action };
    switch (step.action) {
      case 'remind':
      case 'escalate': {
        const to =
          step.action === 'escalate'
            ? (JSON.parse(step.target) as { channel: string; target: string; thread?: string })
            : this.resumeAddress(wait);
        // A hand-over moves the question: the buttons where it was asked go first.
        if (step.action === 'escalate')
          dispatches.push(...(await this.edits.close(client, wait, { closed: 'escalated' })));
        if (to) dispatches.push(await this.sendRung(client, wait, rung, step, to));
        await this.works.lock(client, wait.workId);
        await this.works.appendEvent(
          client,
          wait.workId,
          'escalation',
          { ...data, to: to ?? null },
          'timer',
        );
        const next = ladder[rung + 1];
        const nextAt = next ? wait.createdAt.getTime() + next.afterMs : null;
        await this.waits.advanceRung(
          client,
          wait.id,
          rung + 1,
          nextAt === null ? null : new Date(nextAt),
        );
        if (nextAt !== null)
          dispatches.push({ type: 'wait-timer', waitId: wait.id, rung: rung + 1, at: nextAt });
        return 'rung';
      }
      case 'default': {
        await this.waits.resolve(
          client,
          wait.id,
          'timed_out',
          step.value ?? wait.defaultValue ?? null,
        );
        dispatches.push(...(await this.edits.close(client, wait, { closed: 'expired' })));
        await this.works.appendEvent(client, wait.workId, 'escalation', data, 'timer');
        const applied = await this.works.apply(
          client,
          wait.workId,
          { type: 'wait_timed_out', onTimeout: 'resume' },
          { actor: 'timer', data },
        );
        if (applied.ok) dispatches.push(...applied.dispatches);
        return 'fired';
      }
      case 'fail': {
        const error = serializeError(
          new WaitTimeoutError(`wait ${wait.id} (${wait.type}) was not answered in time`),
        );
        await this.waits.resolve(client, wait.id, 'timed_out', null, null, error);
        dispatches.push(...(await this.edits.close(client, wait, { closed: 'expired' })));
        await this.works.appendEvent(client, wait.workId, 'escalation', data, 'timer');
        const applied = await this.works.apply(
          client,
          wait.workId,
          { type: 'wait_timed_out', onTimeout: 'fail' },
          { actor: 'timer', data, patch: { error } },
        );
        if (applied.ok) dispatches.push(...applied.dispatches);
        return 'fired';
      }
    }
  }

  /** A reminder or hand-over: the question again (or the rung's own words), with its buttons. */
  private async sendRung(
    client: PoolClient,
    wait: WaitRow,
    rung: number,
    step: Extract<EscalationRung, { action: 'remind' | 'escalate' }>,
    to: { channel: string; target: string; thread?: string },
  ): Promise<Dispatch> {
    const prompt = wait.promptRef ? await this.outbox.find(client, wait.promptRef) : null;
    const row = await this.outbox.insert(client, {
      id: this.ids.uuid(),
      workId: wait.workId,
      stepId: null,
      channel: to.channel,
      target: to.target,
      payload: {
        ...(prompt?.payload ?? { kind: 'ask' }),
        kind: 'ask',
        waitId: wait.id,
        // The workflow's own words for this rung, else the question again.
        ...(step.text ? { text: step.text } : {}),
        rung: step.action,
        reminder: step.action === 'remind',
        escalated: step.action === 'escalate',
        ...(to.thread ? { thread: to.thread } : {}),
      },
      // Per wait, like the prompt's (WaitSystem.openWait): a step asked again climbs its ladder again.
      idempotencyKey: waitMessageKey(wait.workId, wait.stepSeq, wait.id, `rung${rung + 1}`),
    });
    return { type: 'deliver', outboxId: row.id, attempt: row.attempts + 1 };
  }

  private resumeAddress(
    wait: WaitRow,
  ): { channel: string; target: string; thread?: string } | null {
    if (!wait.resumeChannel) return null;
    try {
      return JSON.parse(wait.resumeChannel) as { channel: string; target: string; thread?: string };
    } catch {
      return null;
    }
  }

  @OnJob(retryDueJob)
  async handleRetryDue(payload: RetryDuePayload): Promise<WakeOutcome> {
    // The backoff has passed: the work's run job, under the run sequence the retry set.
    // (The runner puts a run back until runAfter if this one came a moment early.)
    await this.dispatcher.dispatch([
      { type: 'run', workId: payload.workId, runSeq: payload.runSeq },
    ]);
    return 'requeued';
  }

  private async dispatch(dispatches: Dispatch[], waitId: string): Promise<void> {
    await this.dispatcher
      .dispatch(dispatches)
      .catch((err: Error) =>
        this.logger.warn(
          { waitId, err: err.message },
          'enqueue after commit failed; the reconciler will retry',
        ),
      );
  }
}
