import { Injectable } from '@nestjs/common';
import Ajv2020, { type ErrorObject, type ValidateFunction } from 'ajv/dist/2020';
import { ErrorCode, isTerminal, WorkgateError } from '@app/core';
import { apiStartExternalId, EngineControl } from '@app/engine';
import {
  OperatorEventsRepository,
  OperatorWorksRepository,
  translateDatabaseError,
  WorkflowKindRepository,
  type WorkResultView,
  type WorkSummary,
} from '@app/ledger';
import { type StartWorkBody } from './work-start.schemas';

export interface StartedWork {
  work: WorkSummary;
  eventId: string;
  created: boolean;
}

/** How often a result request re-reads the work: quick at first, then at most every second. */
const POLL_FIRST_MS = 50;
const POLL_MAX_MS = 1_000;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Starting works over the API. The gateway loads no workflow code: the kinds and the
 * JSON Schemas of their inputs come from the WorkflowKind table the workers fill at
 * start (see docs/decisions.md, "Starting works over the API").
 */
@Injectable()
export class WorkStartService {
  private readonly ajv = new Ajv2020({ allErrors: true, strict: false });
  /** Compiled validators by schema text: a kind's schema changes only when its code does. */
  private readonly validators = new Map<string, ValidateFunction | null>();

  constructor(
    private readonly control: EngineControl,
    private readonly kinds: WorkflowKindRepository,
    private readonly events: OperatorEventsRepository,
    private readonly works: OperatorWorksRepository,
  ) {}

  async start(body: StartWorkBody, actor: string): Promise<StartedWork> {
    // The key first: a retried request whose first try committed gets that work even if
    // the kind's schema has changed since (or its worker has gone).
    if (body.idempotencyKey) {
      const seen = await this.events.findByExternalId(
        'api',
        apiStartExternalId(body.idempotencyKey),
      );
      if (seen?.workId)
        return { ...(await this.found(seen.workId)), eventId: seen.id, created: false };
    }
    await this.check(body.kind, body.input);
    const result = await this.control.start(body.kind, body.input, {
      actor,
      idempotencyKey: body.idempotencyKey,
      conversationKey: body.conversationKey,
      ...(body.title ? { title: body.title } : {}),
    });
    // A start always opens (command `new`); no work means the key was taken by an event
    // that opened none, which only another API start could have written.
    if (!result.workId)
      throw new WorkgateError(
        ErrorCode.InvalidTransition,
        `start ${result.eventId}: ${result.reason}`,
      );
    return {
      ...(await this.found(result.workId)),
      eventId: result.eventId,
      created: !result.duplicate,
    };
  }

  /**
   * Answers once the work has ended or `waitMs` has passed. Polls the row (one indexed
   * read, backing off to once a second) rather than LISTEN: the gateway then holds no
   * connection per waiting caller, and a replica needs nothing from the worker.
   */
  async result(id: string, waitMs: number): Promise<WorkResultView> {
    const deadline = Date.now() + waitMs;
    let interval = POLL_FIRST_MS;
    for (;;) {
      const row = await this.works.result(id);
      if (!row) throw new WorkgateError(ErrorCode.NotFound, `no work ${id}`);
      const left = deadline - Date.now();
      if (isTerminal(row.state) || left <= 0) return row;
      await sleep(Math.min(interval, left));
      interval = Math.min(interval * 2, POLL_MAX_MS);
    }
  }

  private async found(workId: string): Promise<{ work: WorkSummary }> {
    const work = await this.works.summary(workId);
    if (!work) throw new WorkgateError(ErrorCode.NotFound, `no work ${workId}`);
    return { work };
  }

  /** 400 naming the field: `kind` when no worker registered it, `input.<path>` when the schema refuses it. */
  private async check(kind: string, input: unknown): Promise<void> {
    let registered;
    try {
      registered = await this.kinds.find(kind);
    } catch (err) {
      translateDatabaseError(err);
    }
    if (!registered) {
      const known = (await this.kinds.list()).map((k) => k.kind);
      const message = `no worker has registered the workflow kind "${kind}" (registered: ${known.join(', ') || 'none'})`;
      throw invalid([{ path: 'kind', message }]);
    }
    if (registered.inputSchema === null || registered.inputSchema === undefined) return;
    const validate = this.validator(registered.inputSchema);
    if (validate && !validate(input)) throw invalid((validate.errors ?? []).map(issueOf));
  }

  /**
   * Null when ajv cannot compile what zod produced (a format or keyword it does not
   * know): the gateway then lets the input through, and the workflow's own zod check,
   * which runs before its first step, still refuses a bad one.
   */
  private validator(schema: unknown): ValidateFunction | null {
    const key = JSON.stringify(schema);
    if (this.validators.has(key)) return this.validators.get(key)!;
    let fn: ValidateFunction | null;
    try {
      fn = this.ajv.compile(schema as object);
    } catch {
      fn = null;
    }
    if (this.validators.size > 1000) this.validators.clear();
    this.validators.set(key, fn);
    return fn;
  }
}

function invalid(errors: Array<{ path: string; message: string }>): WorkgateError {
  return new WorkgateError(
    ErrorCode.ValidationFailed,
    errors.map((e) => `${e.path}: ${e.message}`).join('; '),
    { errors },
  );
}

/** ajv's `/payload/ref` (plus the missing property, for `required`) as `input.payload.ref`. */
function issueOf(error: ErrorObject): { path: string; message: string } {
  const segments = error.instancePath
    .split('/')
    .slice(1)
    .map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'));
  const missing = (error.params as { missingProperty?: unknown }).missingProperty;
  if (error.keyword === 'required' && typeof missing === 'string') segments.push(missing);
  return { path: ['input', ...segments].join('.'), message: error.message ?? 'is invalid' };
}
