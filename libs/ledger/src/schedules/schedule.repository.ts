import { Injectable } from '@nestjs/common';
import { type PoolClient } from 'pg';
import { type MissedFirePolicy, type ScheduleKind } from '@app/core';
import { LedgerDatabase } from '../database/ledger-database';
import { type Schedule } from '../generated/prisma/client';

/**
 * A "Schedule" row (schema.prisma's Schedule). `input` is narrowed to an object: it is
 * the input of the works it opens, which the config and the API require to be one.
 */
export type ScheduleRow = Omit<Schedule, 'input'> & { input: Record<string, unknown> };

/** What defines a schedule; its state (enabled, nextFireAt, lastFiredAt) is decided by the caller. */
export interface ScheduleDefinition {
  name: string;
  kind: ScheduleKind;
  cron: string | null;
  timezone: string;
  intervalMs: number | null;
  runAt: Date | null;
  workflowKind: string;
  input: Record<string, unknown>;
  missedPolicy: MissedFirePolicy;
}

export interface ScheduleState {
  enabled: boolean;
  nextFireAt: Date | null;
}

/** Decides a schedule's state from the row as it is now (null: it does not exist yet). */
export type PlanState = (existing: ScheduleRow | null) => ScheduleState;

export interface FiredUpdate {
  /** The slot that fired (lastFiredAt); null when the slot was skipped. */
  firedAt: Date | null;
  nextFireAt: Date | null;
  /** False once a schedule has no slots left (a one-shot that fired). */
  enabled: boolean;
}

/**
 * Schedules in the ledger: the source of truth for what fires when. BullMQ's job
 * schedulers only carry the wake-ups and are rebuilt from these rows. Reads and delete
 * are Prisma Client (`input` cast to the narrowed ScheduleRow: the config and the API
 * only write objects); upsert and setEnabled stay SQL because they lock the row
 * (FOR UPDATE) while the caller plans its state, and the fire path (listDue,
 * markFired) because its conditional advance is the exactly-once guarantee.
 */
@Injectable()
export class ScheduleRepository {
  constructor(private readonly db: LedgerDatabase) {}

  /**
   * Creates or updates a schedule by name. The row is locked while `plan` decides its
   * state, so two workers starting with the same config cannot interleave (and the
   * insert's ON CONFLICT covers two that both see no row yet).
   */
  async upsert(
    id: string,
    definition: ScheduleDefinition,
    plan: PlanState,
  ): Promise<{ row: ScheduleRow; previous: ScheduleRow | null }> {
    return this.db.transaction(async (client) => {
      const values = (state: ScheduleState) => [
        definition.name,
        definition.kind,
        definition.cron,
        definition.timezone,
        definition.intervalMs,
        definition.runAt,
        definition.workflowKind,
        JSON.stringify(definition.input),
        definition.missedPolicy,
        state.enabled,
        state.nextFireAt,
      ];
      let previous = await this.lockByName(client, definition.name);
      if (!previous) {
        const { rows } = await client.query<ScheduleRow>(
          `INSERT INTO "Schedule" (name, kind, cron, timezone, "intervalMs", "runAt", "workflowKind", input,
             "missedPolicy", enabled, "nextFireAt", id)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)
           ON CONFLICT (name) DO NOTHING RETURNING *`,
          [...values(plan(null)), id],
        );
        if (rows[0]) return { row: rows[0], previous: null };
        // Another transaction inserted it after our SELECT (ON CONFLICT waited for it to
        // commit): lock the row it made and update that instead.
        previous = await this.lockByName(client, definition.name);
        if (!previous) throw new Error(`schedule "${definition.name}" vanished during upsert`);
      }
      const { rows } = await client.query<ScheduleRow>(
        `UPDATE "Schedule" SET kind = $2, cron = $3, timezone = $4, "intervalMs" = $5, "runAt" = $6,
           "workflowKind" = $7, input = $8, "missedPolicy" = $9, enabled = $10, "nextFireAt" = $11,
           "updatedAt" = now()
         WHERE name = $1 RETURNING *`,
        values(plan(previous)),
      );
      return { row: rows[0]!, previous };
    });
  }

  async get(id: string): Promise<ScheduleRow | null> {
    return (await this.db.prisma.schedule.findUnique({ where: { id } })) as ScheduleRow | null;
  }

  async getByName(name: string): Promise<ScheduleRow | null> {
    return (await this.db.prisma.schedule.findUnique({ where: { name } })) as ScheduleRow | null;
  }

  async list(): Promise<ScheduleRow[]> {
    return (await this.db.prisma.schedule.findMany({ orderBy: { name: 'asc' } })) as ScheduleRow[];
  }

  /** Pause or resume: the caller decides the next slot (none while paused). */
  async setEnabled(
    name: string,
    plan: (existing: ScheduleRow) => ScheduleState,
  ): Promise<ScheduleRow | null> {
    return this.db.transaction(async (client) => {
      const existing = await this.lockByName(client, name);
      if (!existing) return null;
      const state = plan(existing);
      const { rows } = await client.query<ScheduleRow>(
        `UPDATE "Schedule" SET enabled = $2, "nextFireAt" = $3, "updatedAt" = now() WHERE id = $1 RETURNING *`,
        [existing.id, state.enabled, state.nextFireAt],
      );
      return rows[0]!;
    });
  }

  async delete(name: string): Promise<ScheduleRow | null> {
    try {
      return (await this.db.prisma.schedule.delete({ where: { name } })) as ScheduleRow;
    } catch (err) {
      // P2025: no such schedule (the DELETE matched nothing).
      if ((err as { code?: unknown } | null)?.code === 'P2025') return null;
      throw err;
    }
  }

  /** Enabled schedules whose next slot is at or before `dueBy`, oldest first. */
  async listDue(dueBy: Date, limit: number): Promise<ScheduleRow[]> {
    const { rows } = await this.db.pool.query<ScheduleRow>(
      `SELECT * FROM "Schedule" WHERE enabled AND "nextFireAt" <= $1 ORDER BY "nextFireAt" LIMIT $2`,
      [dueBy, limit],
    );
    return rows;
  }

  /**
   * Moves a schedule past the slot it just handled. Conditional on nextFireAt still
   * being the slot that was read (and the schedule still enabled): of two leaders, two
   * job runs or a job and the reconciler handling the same slot, exactly one advances
   * it; the other gets false. (Their events dedupe on the slot's id at ingest.)
   */
  async markFired(id: string, expectedNextFireAt: Date, update: FiredUpdate): Promise<boolean> {
    const result = await this.db.pool.query(
      `UPDATE "Schedule" SET "nextFireAt" = $3, "lastFiredAt" = COALESCE($4, "lastFiredAt"),
         enabled = $5, "updatedAt" = now()
       WHERE id = $1 AND enabled AND "nextFireAt" = $2`,
      [id, expectedNextFireAt, update.nextFireAt, update.firedAt, update.enabled],
    );
    return result.rowCount === 1;
  }

  private async lockByName(client: PoolClient, name: string): Promise<ScheduleRow | null> {
    const { rows } = await client.query<ScheduleRow>(
      'SELECT * FROM "Schedule" WHERE name = $1 FOR UPDATE',
      [name],
    );
    return rows[0] ?? null;
  }
}
