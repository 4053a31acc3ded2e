import { type AnyWorkflowDefinition } from '../../libs/engine/src';
import { createTestSchema, type TestSchema } from './db';
import { testConfig } from './gateway';
import { deleteKeys, testQueuePrefix } from './redis';
import { until } from './until';
import { startWorker, type TestWorker } from './worker';

export interface WorkRowT {
  id: string;
  kind: string;
  state: string;
  attempt: number;
  runSeq: number;
  input: any;
  output: any;
  error: any;
  waitReason: string | null;
  pausedFrom: string | null;
  runAfter: Date | null;
  parentId: string | null;
  [k: string]: unknown;
}

export interface StepRowT {
  id: string;
  seq: number;
  name: string;
  type: string;
  status: string;
  attempt: number;
  idempotencyKey: string;
  output: any;
  error: any;
  [k: string]: unknown;
}

export interface WaitRowT {
  id: string;
  workId: string;
  stepSeq: number;
  type: string;
  status: string;
  timeoutAt: Date | null;
  escalationRung: number;
  result: any;
  satisfiedByEventId: string | null;
  createdAt: Date;
  resolvedAt: Date | null;
  [k: string]: unknown;
}

export interface WorkEventRowT {
  seq: number;
  type: string;
  data: any;
  actor: string | null;
  at: Date;
  [k: string]: unknown;
}

/** Reads of the ledger rows that engine tests assert on (never internal logs). */
export function ledgerOf(db: TestSchema) {
  const api = {
    async work(id: string): Promise<WorkRowT> {
      const [row] = await db.query<WorkRowT>('SELECT * FROM "Work" WHERE id = $1', [id]);
      if (!row) throw new Error(`no work ${id}`);
      return row;
    },
    steps(workId: string): Promise<StepRowT[]> {
      return db.query<StepRowT>('SELECT * FROM "Step" WHERE "workId" = $1 ORDER BY seq', [workId]);
    },
    waits(workId: string): Promise<WaitRowT[]> {
      return db.query<WaitRowT>('SELECT * FROM "Wait" WHERE "workId" = $1 ORDER BY "stepSeq"', [
        workId,
      ]);
    },
    timeline(workId: string): Promise<WorkEventRowT[]> {
      return db.query<WorkEventRowT>(
        'SELECT seq, type, data, actor, at FROM "WorkEvent" WHERE "workId" = $1 ORDER BY seq',
        [workId],
      );
    },
    async types(workId: string): Promise<string[]> {
      return (await api.timeline(workId)).map((e) => e.type);
    },
    /** Waits until the work is in one of `states`; the failure names the state last seen. */
    async untilState(id: string, states: string | string[], timeoutMs = 10_000) {
      const wanted = Array.isArray(states) ? states : [states];
      let last = '';
      try {
        return await until(
          async () => {
            const w = await api.work(id);
            last = `${w.state} (waitReason ${w.waitReason}, attempt ${w.attempt})`;
            return wanted.includes(w.state) ? w : null;
          },
          `work ${id} to be ${wanted.join(' or ')}`,
          timeoutMs,
        );
      } catch (err) {
        throw new Error(`${(err as Error).message}; state was ${last}`);
      }
    },
  };
  return api;
}

/** A promise the test resolves (or rejects) from outside, to hold a step mid-flight. */
export interface Gate<T = void> {
  promise: Promise<T>;
  open(value: T): void;
  fail(err: Error): void;
}

export function gate<T = void>(): Gate<T> {
  let open!: (value: T) => void;
  let fail!: (err: Error) => void;
  const promise = new Promise<T>((resolve, reject) => {
    open = resolve;
    fail = reject;
  });
  // A gate nobody awaits any more must not turn into an unhandled rejection.
  promise.catch(() => undefined);
  return { promise, open, fail };
}

export interface EngineHarness {
  db: TestSchema;
  prefix: string;
  worker: TestWorker;
  ledger: ReturnType<typeof ledgerOf>;
  close(): Promise<void>;
}

/**
 * The in-process worker on a fresh schema and Redis prefix, with short leases and a
 * fast reconciler unless the file asks otherwise.
 */
export async function startEngine(
  label: string,
  workflows: AnyWorkflowDefinition[],
  worker: Record<string, unknown> = {},
): Promise<EngineHarness> {
  const db = await createTestSchema(label);
  const prefix = testQueuePrefix();
  const started = await startWorker(
    testConfig({
      schema: db.schema,
      prefix,
      overrides: {
        worker: { lease: '2s', reconcileEvery: '200ms', concurrency: 8, ...worker },
      },
    }),
    workflows,
  );
  return {
    db,
    prefix,
    worker: started,
    ledger: ledgerOf(db),
    async close() {
      await started.close();
      await deleteKeys(prefix);
      await db.drop();
    },
  };
}

/**
 * A webhook-style event as a channel hands it to IngestService: carries a correlation
 * key (what `ctx.waitFor({ match })` names) and the answer a wait receives.
 */
export function correlatedEvent(
  correlationKey: string,
  answer: unknown,
  externalId = `evt:${correlationKey}:${Math.random().toString(36).slice(2)}`,
) {
  return {
    channel: 'webhook',
    source: 'engine-test',
    externalId,
    conversationKey: null,
    correlationKey,
    actor: null,
    raw: answer,
    body: answer,
    answer,
    reference: null,
    command: null,
    route: { openKind: null, busyPolicy: 'inbox' as const, collectWindowMs: 0 },
  };
}

/** Timeline entries of one type, oldest first. */
export function eventsOfType(timeline: WorkEventRowT[], type: string): WorkEventRowT[] {
  return timeline.filter((e) => e.type === type);
}
