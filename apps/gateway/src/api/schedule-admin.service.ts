import { Inject, Injectable } from '@nestjs/common';
import { LOGGER, type Logger, type ScheduleConfig } from '@app/config';
import {
  CLOCK,
  type Clock,
  ErrorCode,
  ID_GENERATOR,
  type IdGenerator,
  WorkgateError,
} from '@app/core';
import { planSchedule, resumedSchedule, scheduleDefinition } from '@app/engine';
import { ScheduleRepository, type ScheduleRow, translateDatabaseError } from '@app/ledger';

/**
 * Schedules as the operator API changes them: rows only. The gateway runs no workflows
 * and holds no job schedulers; the worker's reconciler fires whatever the rows say is
 * due (ScheduleService.fireDue re-reads the row, so a paused or deleted schedule's
 * leftover wake-ups do nothing) and keeps Redis in line with them.
 *
 * The next-slot rules are the engine's (libs/engine/src/schedules/schedule-plan.ts),
 * shared with the worker's ScheduleService.
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
    const definition = scheduleDefinition(spec);
    const now = this.clock.now();
    const { row, previous } = await this.db(() =>
      this.schedules.upsert(this.ids.uuid(), definition, (existing) =>
        planSchedule(definition, spec.enabled, existing, now),
      ),
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
        this.schedules.setEnabled(name, (existing) => resumedSchedule(existing, now)),
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
