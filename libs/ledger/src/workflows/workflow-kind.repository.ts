import { Injectable } from '@nestjs/common';
import { LedgerDatabase } from '../database/ledger-database';
import { type WorkflowKindModel } from '../generated/prisma/models';

/** What a worker says about one kind it runs. */
export interface WorkflowKindRegistration {
  kind: string;
  description: string | null;
  /** JSON Schema (draft 2020-12) of the input; null when the workflow declares none. */
  inputSchema: unknown;
}

/** A registered kind as the API answers it. */
export type WorkflowKindRow = Pick<
  WorkflowKindModel,
  'kind' | 'description' | 'registeredBy' | 'registeredAt'
> & { inputSchema: unknown };

const COLUMNS = `kind, description, "inputSchema", "registeredBy", "registeredAt"`;

/**
 * The catalog of workflow kinds the workers run (see WorkflowKind in schema.prisma):
 * written by each worker at start, read by the gateway to check a start request.
 */
@Injectable()
export class WorkflowKindRepository {
  constructor(private readonly db: LedgerDatabase) {}

  /**
   * Upserts every kind in one statement. Kinds another worker registered and this one
   * does not run are left alone: replicas may run different sets of workflows.
   */
  async register(kinds: WorkflowKindRegistration[], registeredBy: string): Promise<void> {
    if (kinds.length === 0) return;
    await this.db.pool.query(
      `INSERT INTO "WorkflowKind" (kind, description, "inputSchema", "registeredBy", "registeredAt")
       SELECT k.kind, k.description, k."inputSchema", $2, now()
         FROM jsonb_to_recordset($1::jsonb) AS k(kind text, description text, "inputSchema" jsonb)
       ON CONFLICT (kind) DO UPDATE SET description = EXCLUDED.description,
         "inputSchema" = EXCLUDED."inputSchema", "registeredBy" = EXCLUDED."registeredBy",
         "registeredAt" = EXCLUDED."registeredAt"`,
      [JSON.stringify(kinds), registeredBy],
    );
  }

  async find(kind: string): Promise<WorkflowKindRow | null> {
    const { rows } = await this.db.pool.query<WorkflowKindRow>(
      `SELECT ${COLUMNS} FROM "WorkflowKind" WHERE kind = $1`,
      [kind],
    );
    return rows[0] ?? null;
  }

  async list(): Promise<WorkflowKindRow[]> {
    const { rows } = await this.db.pool.query<WorkflowKindRow>(
      `SELECT ${COLUMNS} FROM "WorkflowKind" ORDER BY kind`,
    );
    return rows;
  }
}
