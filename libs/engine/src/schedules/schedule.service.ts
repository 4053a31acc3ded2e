import { Inject, Injectable, type OnModuleInit } from '@nestjs/common';
import { DelayedError, type Job, Queue } from 'bullmq';
import {
  CLOCK,
  type Clock,
  decideFire,
  ErrorCode,
  ID_GENERATOR,
  type IdGenerator,
  type InboundEventInput,
  intervalSlots,
  scheduleFireId,
  WorkgateError,
} from '@app/core';
import {
  APP_CONFIG,
  type AppConfig,
  LOGGER,
  type Logger,
  type ScheduleSpec,
  scheduleSpecSchema,
} from '@app/config';
import { IngestService, ScheduleRepository, type ScheduleRow } from '@app/ledger';
import { OnJob } from '../jobs/on-job.decorator';
import { QUEUE_NAMES, scheduleFireJob, type ScheduleFirePayload } from '../queues/job-catalog';
import { ShardedQueues } from '../queues/sharded-queues';
import { type ReconcileContributor } from '../reconciler/reconciler.service';
import { WorkflowRegistry } from '../workflow/workflow-registry';
import {
  planSchedule,
  resumedSchedule,
  sameTiming,
  scheduleDefinition,
  slotSeriesOf,
} from './schedule-plan';

/**
 * How late a fire may be and still count as on time. Later than this (the worker was
 * down, PostgreSQL was unreachable for a while) it is a missed fire, and the schedule's
 * policy decides: `fire_once` fires the latest missed slot once, `skip` fires nothing.
 */
export const MISSED_FIRE_GRACE_MS = 60_000;

/** BullMQ job scheduler ids: `schedule:<scheduleId>` on the wake queue. */
const SCHEDULER_PREFIX = 'schedule:';
const PAGE = 500;

export type FireOutcome =
  /** A new work was opened for the slot. */
  | 'fired'
  /** The slot's event was already in the ledger (another run of the same slot). */
  | 'duplicate'
  /** A missed slot under policy `skip`: nothing fired, the schedule moved on. */
  | 'skipped'
  /** Nothing is due yet. */
  | 'not_due'
  /** The schedule is gone, paused or finished. */
  | 'stale'
  /** Another run handled this slot a moment earlier. */
  | 'lost_race';

/**
 * Cron, interval and one-shot schedules that start workflows (DESIGN.md, "Channels →
 * Scheduler"). PostgreSQL is the truth: each Schedule row holds its next slot. BullMQ job
 * schedulers on the wake queue carry the wake-ups (one-shots a delayed job), and the
 * reconciler rebuilds them from the rows.
 *
 * Every fire — a scheduler's job, a one-shot's job, the reconciler catching up — goes
 * through fireDue(), which reads the row, lets decideFire() pick the slot (never one
 * after now; a backlog collapses into its latest slot, then the missed-fire policy),
 * ingests one event whose external id is derived from the schedule id and the SLOT's
 * time (scheduleFireId), and advances the row with a conditional UPDATE. Any number of
 * runs for one slot therefore open one work: ingest dedupes on (channel, externalId),
 * and only one of them moves the row on.
 */
@Injectable()
export class ScheduleService implements ReconcileContributor, OnModuleInit {
  private configSynced = false;

  constructor(
    private readonly schedules: ScheduleRepository,
    private readonly ingest: IngestService,
    private readonly registry: WorkflowRegistry,
    private readonly queues: ShardedQueues,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    @Inject(CLOCK) private readonly clock: Clock,
    @Inject(ID_GENERATOR) private readonly ids: IdGenerator,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {}

  /** Schedules' job schedulers and fires all live on the first wake shard (see scheduleFireJob). */
  private get wakeQueue(): Queue {
    return this.queues.for(QUEUE_NAMES.wake, null);
  }

  /** Config schedules are upserted at start; if the ledger is unreachable, the reconciler retries. */
  async onModuleInit(): Promise<void> {
    await this.syncConfig().catch((err: Error) =>
      this.logger.warn(
        { err: err.message },
        'could not upsert the configured schedules; the reconciler will retry',
      ),
    );
  }

  /**
   * Creates or updates a schedule by name (engine API). An unchanged timing keeps the
   * schedule's next slot (so a slot that fell due while no worker ran is still caught
   * up); a changed one, or a resumed schedule, starts from the first slot after now.
   */
  async define(spec: ScheduleSpec): Promise<ScheduleRow> {
    const parsed = scheduleSpecSchema.safeParse(spec);
    if (!parsed.success)
      throw new WorkgateError(
        ErrorCode.ValidationFailed,
        `invalid schedule: ${parsed.error.issues.map((i) => `${i.path.join('.') || '(schedule)'}: ${i.message}`).join('; ')}`,
      );
    const s = parsed.data;
    if (!this.registry.has(s.workflow))
      throw new WorkgateError(
        ErrorCode.ValidationFailed,
        `schedule "${s.name}" names workflow "${s.workflow}", which is not registered (registered: ${this.registry.names().join(', ') || 'none'})`,
      );
    const definition = scheduleDefinition(s);
    const now = this.clock.now();
    const { row, previous } = await this.schedules.upsert(this.ids.uuid(), definition, (existing) =>
      planSchedule(definition, s.enabled, existing, now),
    );
    const rearm =
      !previous ||
      !sameTiming(previous, row) ||
      previous.enabled !== row.enabled ||
      previous.nextFireAt?.getTime() !== row.nextFireAt?.getTime();
    // A changed schedule loses its old wake-ups first (see arm()); an unchanged one is
    // upserted as is, which BullMQ keeps on the same next slot.
    if (previous && rearm) await this.disarm(previous);
    await this.arm(row, false);
    this.logger.info(
      {
        schedule: row.name,
        kind: row.kind,
        workflow: row.workflowKind,
        enabled: row.enabled,
        nextFireAt: row.nextFireAt,
      },
      previous ? 'schedule updated' : 'schedule defined',
    );
    return row;
  }

  /** Stops firing; slots that pass while paused never fire. */
  async pause(name: string): Promise<ScheduleRow> {
    const row = await this.schedules.setEnabled(name, () => ({ enabled: false, nextFireAt: null }));
    if (!row) throw new WorkgateError(ErrorCode.NotFound, `no schedule "${name}"`);
    await this.disarm(row);
    this.logger.info({ schedule: name }, 'schedule paused');
    return row;
  }

  /** Fires again from the first slot after now (a one-shot that has not fired yet: at its time). */
  async resume(name: string): Promise<ScheduleRow> {
    const now = this.clock.now();
    const row = await this.schedules.setEnabled(name, (existing) => resumedSchedule(existing, now));
    if (!row) throw new WorkgateError(ErrorCode.NotFound, `no schedule "${name}"`);
    await this.arm(row, true);
    this.logger.info({ schedule: name, nextFireAt: row.nextFireAt }, 'schedule resumed');
    return row;
  }

  /** Deletes the schedule; works it already started are not touched. */
  async remove(name: string): Promise<boolean> {
    const row = await this.schedules.delete(name);
    if (!row) return false;
    await this.disarm(row);
    this.logger.info({ schedule: name }, 'schedule removed');
    return true;
  }

  list(): Promise<ScheduleRow[]> {
    return this.schedules.list();
  }

  get(name: string): Promise<ScheduleRow | null> {
    return this.schedules.getByName(name);
  }

  /**
   * A scheduler's job (id `repeat:schedule:<id>:<slot ms>`), a one-shot's job (payload
   * `fireAt`), or a reconciler-made one. The job only says "look now": the slot that
   * fires is the ledger's, and a job that arrives before its own slot is put back until
   * then (timers never fire early).
   */
  @OnJob(scheduleFireJob)
  async handleFire(payload: ScheduleFirePayload, job?: Job, token?: string): Promise<FireOutcome> {
    const slot = payload.fireAt ?? (job ? scheduledSlotOf(job) : undefined);
    if (slot !== undefined && job && token && slot > this.clock.now()) {
      await job.moveToDelayed(slot, token);
      throw new DelayedError();
    }
    return this.fireDue(payload.scheduleId);
  }

  /** Fires the schedule's due slot, if any (see the class comment). */
  async fireDue(scheduleId: string): Promise<FireOutcome> {
    const row = await this.schedules.get(scheduleId);
    if (!row || !row.enabled || !row.nextFireAt) return 'stale';
    const expected = row.nextFireAt;
    const decision = decideFire({
      nextFireAt: expected.getTime(),
      now: this.clock.now(),
      graceMs: MISSED_FIRE_GRACE_MS,
      policy: row.missedPolicy,
      series: slotSeriesOf(row),
    });
    const log = { schedule: row.name, scheduleId: row.id };
    switch (decision.action) {
      case 'not_due':
        return 'not_due';
      case 'skip': {
        const advanced = await this.schedules.markFired(row.id, expected, {
          firedAt: null,
          nextFireAt: toDate(decision.nextFireAt),
          enabled: decision.nextFireAt !== null,
        });
        if (!advanced) return 'lost_race';
        this.logger.warn(
          {
            ...log,
            missedAt: new Date(decision.missedAt),
            lateMs: decision.lateMs,
            nextFireAt: toDate(decision.nextFireAt),
          },
          'missed schedule fire skipped (missed: skip)',
        );
        if (decision.nextFireAt === null) await this.disarm(row);
        return 'skipped';
      }
      case 'fire': {
        // Ingest first, then advance: a crash in between leaves the row due, and the
        // retry's event dedupes on the slot's id. Advancing first could lose the fire.
        const result = await this.ingest.ingest(this.eventOf(row, decision.fireAt));
        const advanced = await this.schedules.markFired(row.id, expected, {
          firedAt: new Date(decision.fireAt),
          nextFireAt: toDate(decision.nextFireAt),
          enabled: decision.nextFireAt !== null,
        });
        const fields = {
          ...log,
          fireAt: new Date(decision.fireAt),
          lateMs: decision.lateMs,
          workId: result.workId,
          duplicate: result.duplicate,
          nextFireAt: toDate(decision.nextFireAt),
        };
        // Another run of the same slot got there first: its own line already says so.
        if (result.duplicate) this.logger.debug(fields, 'schedule slot already fired');
        else if (decision.missed)
          this.logger.warn(
            { ...fields, collapsed: decision.collapsed },
            'missed schedule fire: fired once for the latest missed slot (missed: fire_once)',
          );
        else this.logger.info(fields, 'schedule fired');
        if (advanced && decision.nextFireAt === null) await this.disarm(row);
        if (result.duplicate) return 'duplicate';
        return 'fired';
      }
    }
  }

  /**
   * Called by the leader's reconciler at start and every pass. Catches up slots nobody
   * fired (downtime, a lost job, a failed ingest) and makes Redis match the rows:
   * a scheduler for every enabled cron/interval schedule (re-created when missing or
   * different, and all of them when Redis lost its data), none for the rest, and the
   * delayed job of every pending one-shot.
   */
  async reconcile(full: boolean): Promise<void> {
    if (!this.configSynced)
      await this.syncConfig().catch((err: Error) =>
        this.logger.warn({ err: err.message }, 'could not upsert the configured schedules'),
      );
    const now = this.clock.now();
    // Slots due within the last pass are left to their own job (it is about to run);
    // after a wipe, nothing is left to run them.
    const dueBy = new Date(full ? now : now - this.config.worker.reconcileEvery);
    for (const row of await this.schedules.listDue(dueBy, PAGE)) {
      await this.fireDue(row.id).catch((err: Error) =>
        this.logger.warn(
          { schedule: row.name, err: err.message },
          'schedule fire failed; the next pass retries',
        ),
      );
    }
    await this.rebuildSchedulers(full);
  }

  private async rebuildSchedulers(full: boolean): Promise<void> {
    const armed = new Map(
      (await this.wakeQueue.getJobSchedulers())
        .filter((s) => s.key.startsWith(SCHEDULER_PREFIX))
        .map((s) => [s.key, s]),
    );
    let repaired = 0;
    for (const row of await this.schedules.list()) {
      const id = schedulerId(row.id);
      const current = armed.get(id);
      armed.delete(id);
      if (row.kind === 'once') {
        // add() with the job's fixed id is a no-op while the job exists.
        if (row.enabled && row.nextFireAt) await this.arm(row, false);
        continue;
      }
      if (!row.enabled || !row.nextFireAt) {
        if (current) await this.wakeQueue.removeJobScheduler(id);
        continue;
      }
      const matches =
        row.kind === 'cron'
          ? current?.pattern === row.cron && current?.tz === row.timezone
          : current?.every === row.intervalMs;
      if (full || !matches) {
        await this.arm(row, current !== undefined);
        repaired++;
      }
    }
    // Schedulers whose row was deleted (by another replica, or by hand).
    for (const id of armed.keys()) await this.wakeQueue.removeJobScheduler(id);
    if (repaired || armed.size)
      this.logger.info(
        { rearmed: repaired, removed: armed.size, full },
        'reconciler re-armed schedule wake-ups from the ledger',
      );
  }

  /** Upserts every schedule in the config file (config wins for the fields it sets). */
  private async syncConfig(): Promise<void> {
    for (const spec of this.config.schedules) await this.define(spec);
    this.configSynced = true;
  }

  /**
   * Puts the schedule's wake-ups into Redis. `replace` drops the old scheduler first:
   * BullMQ's upsert continues from the old scheduler's last iteration, which for a
   * changed pattern (or a resumed schedule) is the wrong slot.
   */
  private async arm(row: ScheduleRow, replace: boolean): Promise<void> {
    if (!row.enabled || !row.nextFireAt) return;
    const id = schedulerId(row.id);
    const template = {
      name: scheduleFireJob.name,
      data: scheduleFireJob.payload.parse({ scheduleId: row.id }),
      opts: scheduleFireJob.options,
    };
    switch (row.kind) {
      case 'cron':
        if (replace) await this.wakeQueue.removeJobScheduler(id);
        // BullMQ computes the iterations with the same cron-parser: its job for a slot
        // carries that slot's time in its id.
        await this.wakeQueue.upsertJobScheduler(
          id,
          { pattern: row.cron!, tz: row.timezone },
          template,
        );
        return;
      case 'interval': {
        if (replace) await this.wakeQueue.removeJobScheduler(id);
        // Start on the epoch-aligned grid (intervalSlots); BullMQ keeps to it from there,
        // also when it catches up. A due slot before that is the reconciler's to fire.
        const every = row.intervalMs!;
        await this.wakeQueue.upsertJobScheduler(
          id,
          { every, startDate: intervalSlots(every).after(this.clock.now())! },
          template,
        );
        return;
      }
      case 'once': {
        const data = scheduleFireJob.payload.parse({
          scheduleId: row.id,
          fireAt: row.nextFireAt.getTime(),
        });
        await this.wakeQueue.add(scheduleFireJob.name, data, {
          ...scheduleFireJob.options,
          jobId: scheduleFireJob.jobId(data),
          delay: Math.max(0, row.nextFireAt.getTime() - this.clock.now()),
        });
        return;
      }
    }
  }

  /** Removes the schedule's wake-ups; a job already running re-reads the row and stops. */
  private async disarm(row: ScheduleRow): Promise<void> {
    if (row.kind !== 'once') {
      await this.wakeQueue.removeJobScheduler(schedulerId(row.id));
      return;
    }
    if (row.runAt)
      await this.wakeQueue.remove(
        scheduleFireJob.jobId({ scheduleId: row.id, fireAt: row.runAt.getTime() }),
      );
  }

  /** The ordinary ingest path, as a new work each slot, deduped on (schedule, slot). */
  private eventOf(row: ScheduleRow, fireAt: number): InboundEventInput {
    const fireAtIso = new Date(fireAt).toISOString();
    return {
      channel: 'schedule',
      source: row.name,
      externalId: scheduleFireId(row.id, fireAt),
      conversationKey: null,
      correlationKey: null,
      actor: { id: `schedule:${row.name}` },
      raw: { scheduleId: row.id, schedule: row.name, kind: row.kind, fireAt: fireAtIso },
      body: { ...row.input, schedule: row.name, fireAt: fireAtIso },
      answer: null,
      reference: null,
      command: null,
      route: { openKind: row.workflowKind, busyPolicy: 'inbox', collectWindowMs: 0 },
    };
  }
}

function schedulerId(scheduleId: string): string {
  return `${SCHEDULER_PREFIX}${scheduleId}`;
}

/** A job scheduler's job id is `repeat:<schedulerId>:<slot ms>` (BullMQ's getSchedulerNextJobId). */
function scheduledSlotOf(job: Job): number | undefined {
  if (!job.repeatJobKey || !job.id) return undefined;
  const match = /:(\d+)$/.exec(job.id);
  return match ? Number(match[1]) : undefined;
}

function toDate(ms: number | null): Date | null {
  return ms === null ? null : new Date(ms);
}
