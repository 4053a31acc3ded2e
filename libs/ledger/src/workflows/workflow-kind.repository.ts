import { Injectable } from '@nestjs/common';
import { LedgerDatabase } from '../database/ledger-database';
import { Prisma } from '../generated/prisma/client';
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

const SELECT = {
  kind: true,
  description: true,
  inputSchema: true,
  registeredBy: true,
  registeredAt: true,
} as const satisfies Prisma.WorkflowKindSelect;

/**
 * The catalog of workflow kinds the workers run (see WorkflowKind in schema.prisma):
 * written by each worker at start, read by the gateway to check a start request.
 * Prisma Client: a handful of rows, written once per worker start.
 */
@Injectable()
export class WorkflowKindRepository {
  constructor(private readonly db: LedgerDatabase) {}

  /**
   * Upserts every kind, in one transaction. Kinds another worker registered and this
   * one does not run are left alone: replicas may run different sets of workflows.
   */
  async register(kinds: WorkflowKindRegistration[], registeredBy: string): Promise<void> {
    if (kinds.length === 0) return;
    const registeredAt = new Date();
    await this.db.prisma.$transaction(
      kinds.map((k) => {
        const fields = {
          description: k.description,
          // A kind without a schema is SQL NULL (any input), not the JSON value null.
          inputSchema:
            k.inputSchema === null || k.inputSchema === undefined
              ? Prisma.DbNull
              : (k.inputSchema as Prisma.InputJsonValue),
          registeredBy,
          registeredAt,
        };
        return this.db.prisma.workflowKind.upsert({
          where: { kind: k.kind },
          create: { kind: k.kind, ...fields },
          update: fields,
        });
      }),
    );
  }

  async find(kind: string): Promise<WorkflowKindRow | null> {
    return this.db.prisma.workflowKind.findUnique({ where: { kind }, select: SELECT });
  }

  async list(): Promise<WorkflowKindRow[]> {
    return this.db.prisma.workflowKind.findMany({ select: SELECT, orderBy: { kind: 'asc' } });
  }
}
