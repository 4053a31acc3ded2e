import { Injectable } from '@nestjs/common';
import { ErrorCode, WorkgateError } from '@app/core';
import { type ControlResult, EngineControl } from '@app/engine';
import { OperatorWorksRepository, type WorkSummary } from '@app/ledger';

export type SimpleAction = 'pause' | 'resume' | 'cancel' | 'retry';

export interface ActionResult {
  work: WorkSummary;
  event: string;
  waitId?: string;
}

/**
 * The operator API's actions on works: EngineControl does the work (state machine,
 * timeline entry with the actor, enqueue after commit); this adds what HTTP clients
 * need around it — the work as it is afterwards and the current state on a 409. The
 * operator's reason goes to EngineControl, which writes it in the action's transaction.
 */
@Injectable()
export class WorkActionsService {
  constructor(
    private readonly control: EngineControl,
    private readonly works: OperatorWorksRepository,
  ) {}

  act(workId: string, action: SimpleAction, actor: string, reason?: string) {
    return this.run(workId, () => {
      switch (action) {
        case 'pause':
          return this.control.pause(workId, actor, reason);
        case 'resume':
          return this.control.resume(workId, actor, reason);
        case 'cancel':
          return this.control.cancel(workId, actor, reason);
        case 'retry':
          return this.control.retry(workId, actor, reason);
      }
    });
  }

  rerun(workId: string, fromStep: number, actor: string, reason?: string) {
    return this.run(workId, () => this.control.rerunFromStep(workId, fromStep, actor, reason));
  }

  signal(workId: string, payload: unknown, actor: string, waitId?: string) {
    return this.run(workId, () => this.control.signal(workId, payload, actor, waitId));
  }

  private async run(
    workId: string,
    action: () => Promise<ControlResult & { waitId?: string }>,
  ): Promise<ActionResult> {
    let result: ControlResult & { waitId?: string };
    try {
      result = await action();
    } catch (err) {
      throw await this.withCurrentState(workId, err);
    }
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
}
