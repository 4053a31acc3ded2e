import { Inject, Injectable } from '@nestjs/common';
import { LOGGER, type Logger, type ScheduleConfig } from '@app/config';
import {
  CLOCK,
  type Clock,
  ErrorCode,
  ID_GENERATOR,
  type IdGenerator,
  intervalSlots,
  onceSlot,
  type SlotSeries,
  WorkgateError,
} from '@app/core';
import { cronSlots } from '@app/engine';
import {
  type ScheduleDefinition,
  ScheduleRepository,
  type ScheduleRow,
  type ScheduleState,
  translateDatabaseError,
} from '@app/ledger';

type Timing = Pick<ScheduleRow, 'kind' | 'cron' | 'timezone' | 'intervalMs' | 'runAt'>;

/**
 * Schedules as the operator API changes them: rows only. The gateway runs no workflows
 * and holds no job schedulers; the worker's reconciler fires whatever the rows say is
 * due (ScheduleService.fireDue re-reads the row, so a paused or deleted schedule's
 * leftover wake-ups do nothing) and keeps Redis in line with them.
 *
 * The next-slot rules are ScheduleService.define/resume's (an unchanged timing keeps
 * its next slot; a new or changed one, or a resume, starts at the first slot after now;
 * a one-shot that fired stays done), restated here because that service lives in the
 * worker with the workflow registry.
 */
@Injectable()
export class ScheduleAdminService {
  constructor(
    private readonly schedules: ScheduleRepository,
    @Inject(CLOCK) private readonly clock: Clock,
    @Inject(ID_GENERATOR) private readonly ids: IdGenerator,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {}

  list(): Promise<ScheduleRow[]> {
    return this.db(() => this.schedules.list());
  }

  async get(name: string): Promise<ScheduleRow> {
    return this.found(name, await this.db(() => this.schedules.getByName(name)));
  }

  /** Creates or updates by name; `created` says which. */
  async define(
    spec: ScheduleConfig,
    actor: string,
  ): Promise<{ row: ScheduleRow; created: boolean }> {
    const definition: ScheduleDefinition = {
      name: spec.name,
      kind: spec.cron !== undefined ? 'cron' : spec.every !== undefined ? 'interval' : 'once',
      cron: spec.cron ?? null,
      timezone: spec.timezone ?? 'UTC',
      intervalMs: spec.every ?? null,
      runAt: spec.at ?? null,
      workflowKind: spec.workflow,
      input: spec.input,
      missedPolicy: spec.missed,
    };
    const now = this.clock.now();
    const { row, previous } = await this.db(() =>
      this.schedules.upsert(this.ids.uuid(), definition, (existing) => {
        const wanted = spec.enabled ?? existing?.enabled ?? true;
        if (!wanted) return { enabled: false, nextFireAt: null };
        const unchanged = existing !== null && sameTiming(existing, definition);
        if (unchanged && existing.enabled && existing.nextFireAt)
          return { enabled: true, nextFireAt: existing.nextFireAt };
        return firstState(definition, unchanged ? existing.lastFiredAt : null, now);
      }),
    );
    this.logger.info(
      { schedule: row.name, actor, enabled: row.enabled, nextFireAt: row.nextFireAt },
      previous ? 'schedule updated over the API' : 'schedule created over the API',
    );
    return { row, created: previous === null };
  }

  async pause(name: string, actor: string): Promise<ScheduleRow> {
    const row = this.found(
      name,
      await this.db(() =>
        this.schedules.setEnabled(name, () => ({ enabled: false, nextFireAt: null })),
      ),
    );
    this.logger.info({ schedule: name, actor }, 'schedule paused over the API');
    return row;
  }

  async resume(name: string, actor: string): Promise<ScheduleRow> {
    const now = this.clock.now();
    const row = this.found(
      name,
      await this.db(() =>
        this.schedules.setEnabled(name, (existing) =>
          existing.enabled && existing.nextFireAt
            ? { enabled: true, nextFireAt: existing.nextFireAt }
            : firstState(existing, existing.lastFiredAt, now),
        ),
      ),
    );
    this.logger.info(
      { schedule: name, actor, nextFireAt: row.nextFireAt },
      'schedule resumed over the API',
    );
    return row;
  }

  /** Deletes the schedule; works it already started are not touched. */
  async remove(name: string, actor: string): Promise<void> {
    this.found(name, await this.db(() => this.schedules.delete(name)));
    this.logger.info({ schedule: name, actor }, 'schedule removed over the API');
  }

  private found(name: string, row: ScheduleRow | null): ScheduleRow {
    if (!row) throw new WorkgateError(ErrorCode.NotFound, `no schedule "${name}"`);
    return row;
  }

  private async db<T>(fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      if (err instanceof WorkgateError) throw err;
      translateDatabaseError(err);
    }
  }
}

function firstState(s: Timing, lastFiredAt: Date | null, now: number): ScheduleState {
  if (s.kind === 'once') {
    const done = lastFiredAt !== null || s.runAt === null;
    return done ? { enabled: false, nextFireAt: null } : { enabled: true, nextFireAt: s.runAt };
  }
  const first = seriesOf(s).after(now);
  return { enabled: first !== null, nextFireAt: first === null ? null : new Date(first) };
}

function seriesOf(s: Timing): SlotSeries {
  switch (s.kind) {
    case 'cron':
      return cronSlots(s.cron!, s.timezone);
    case 'interval':
      return intervalSlots(s.intervalMs!);
    case 'once':
      return onceSlot(s.runAt!.getTime());
  }
}

function sameTiming(a: Timing, b: Timing): boolean {
  return (
    a.kind === b.kind &&
    a.cron === b.cron &&
    a.timezone === b.timezone &&
    a.intervalMs === b.intervalMs &&
    (a.runAt?.getTime() ?? null) === (b.runAt?.getTime() ?? null)
  );
}
