import { Injectable } from '@nestjs/common';
import { ErrorCode, WorkgateError } from '@app/core';
import { type ControlResult, EngineControl } from '@app/engine';
import {
  LedgerDatabase,
  OperatorWorksRepository,
  translateDatabaseError,
  WorkRepository,
  type WorkSummary,
} from '@app/ledger';

export type SimpleAction = 'pause' | 'resume' | 'cancel' | 'retry';

export interface ActionResult {
  work: WorkSummary;
  event: string;
  waitId?: string;
}

/**
 * The operator API's actions on works: EngineControl does the work (state machine,
 * timeline entry with the actor, enqueue after commit); this adds what HTTP clients
 * need around it — the work as it is afterwards, the current state on a 409, and the
 * operator's reason in the timeline.
 */
@Injectable()
export class WorkActionsService {
  constructor(
    private readonly control: EngineControl,
    private readonly works: OperatorWorksRepository,
    private readonly workRows: WorkRepository,
    private readonly db: LedgerDatabase,
  ) {}

  act(workId: string, action: SimpleAction, actor: string, reason?: string) {
    return this.run(workId, actor, reason, () => {
      switch (action) {
        case 'pause':
          return this.control.pause(workId, actor);
        case 'resume':
          return this.control.resume(workId, actor);
        case 'cancel':
          return this.control.cancel(workId, actor);
        case 'retry':
          return this.control.retry(workId, actor);
      }
    });
  }

  rerun(workId: string, fromStep: number, actor: string, reason?: string) {
    return this.run(workId, actor, reason, () =>
      this.control.rerunFromStep(workId, fromStep, actor),
    );
  }

  signal(workId: string, payload: unknown, actor: string, waitId?: string) {
    return this.run(workId, actor, undefined, () =>
      this.control.signal(workId, payload, actor, waitId),
    );
  }

  private async run(
    workId: string,
    actor: string,
    reason: string | undefined,
    action: () => Promise<ControlResult & { waitId?: string }>,
  ): Promise<ActionResult> {
    let result: ControlResult & { waitId?: string };
    try {
      result = await action();
    } catch (err) {
      throw await this.withCurrentState(workId, err);
    }
    if (reason) await this.recordReason(workId, result.event, reason, actor);
    const work = await this.works.summary(workId);
    if (!work) throw new WorkgateError(ErrorCode.NotFound, `no work ${workId}`);
    return { work, event: result.event, ...(result.waitId ? { waitId: result.waitId } : {}) };
  }

  /** A 409 names the state the work is in now, so a client can decide what to do next. */
  private async withCurrentState(workId: string, err: unknown): Promise<unknown> {
    if (!(err instanceof WorkgateError) || err.code !== ErrorCode.InvalidTransition) return err;
    const { state, ...details } = err.details ?? {};
    const currentState =
      typeof state === 'string' ? state : ((await this.works.summary(workId))?.state ?? null);
    return new WorkgateError(err.code, err.message, { ...details, currentState });
  }

  /**
   * EngineControl records the action itself; the reason follows as its own timeline
   * entry, written under the work's row lock like every timeline write.
   */
  private async recordReason(workId: string, event: string, reason: string, actor: string) {
    try {
      await this.db.transaction(async (client) => {
        await this.workRows.lock(client, workId);
        await this.workRows.appendEvent(client, workId, 'operator_note', { event, reason }, actor);
      });
    } catch (err) {
      translateDatabaseError(err);
    }
  }
}
