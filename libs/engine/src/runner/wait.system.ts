import { type PoolClient } from 'pg';
import { type RetryPolicy, waitMessageKey, wrapStepOutput } from '@app/core';
import { type StepRow, type StepType } from '@app/ledger';
import { LeaseLostError } from '../workflow/workflow.errors';
import { type CheckpointSystem } from './checkpoint.system';
import { type FencedTransactions } from './fenced-transaction';
import { type InboxReader } from './inbox.reader';
import {
  type OpenWaitResult,
  type Outcome,
  type RunHandle,
  type RunResources,
  type WaitSpec,
} from './run-resources';

/**
 * Suspending a run on a wait — a timer, an event, a person's answer, a child work: the
 * step, the Wait row, what goes with it (a prompt, the child work) and the work's
 * open_wait, in one fenced transaction; the wait's timer enqueued after the commit.
 */
export class WaitSystem {
  constructor(
    private readonly resources: RunResources,
    private readonly checkpoints: CheckpointSystem,
    private readonly transactions: FencedTransactions,
    private readonly inbox: InboxReader,
  ) {}

  /**
   * Opens a wait (sleep, waitFor, ask, budget): the step, the wait, an optional prompt
   * and the work's open_wait, in one transaction. waitFor first looks in the inbox
   * (under the correlation key's lock, the same lock ingest takes), so an event that
   * arrived before the wait is consumed now rather than lost.
   */
  async openWait(run: RunHandle, seq: number, spec: WaitSpec): Promise<OpenWaitResult> {
    return this.checkpoints.fenced(
      run,
      async (client, dispatches) => {
        const stepId = await this.beginWaitStep(client, run, seq, {
          restartStepId: spec.restartStepId,
          name: spec.stepName,
          type: spec.stepType,
        });
        const waitId = this.resources.ids.uuid();
        if (spec.inboxCorrelationKey) {
          // The key's lock was taken before the work's row (fenced's `advisory`).
          const answered = await this.answerFromInbox(client, run, seq, spec, {
            stepId,
            waitId,
            correlationKey: spec.inboxCorrelationKey,
            dispatches,
          });
          if (answered) return answered;
        }
        const promptRef = spec.prompt
          ? await this.insertPrompt(client, run, seq, spec.prompt, { stepId, waitId, dispatches })
          : null;
        await this.resources.waits.insert(client, {
          ...spec.wait,
          id: waitId,
          workId: run.workId,
          stepSeq: seq,
          promptRef,
          timeoutAt: spec.timerAt !== undefined ? new Date(spec.timerAt) : null,
        });
        await this.applyOpenWait(client, run, seq, dispatches, spec.wait.type, {
          waitId,
          waitType: spec.wait.type,
          seq,
          step: spec.stepName,
          timeoutAt: spec.timerAt ? new Date(spec.timerAt).toISOString() : null,
        });
        if (spec.timerAt !== undefined)
          dispatches.push({ type: 'wait-timer', waitId, rung: 0, at: spec.timerAt });
        return { satisfied: false };
      },
      spec.inboxCorrelationKey ? [`corr:${spec.inboxCorrelationKey}`] : [],
    );
  }

  /** ctx.child: the child work, the parent's child wait and open_wait, together. */
  async startChild(
    run: RunHandle,
    seq: number,
    name: string,
    kind: string,
    input: unknown,
    retryPolicy: RetryPolicy,
    conversationKey: string | null,
    restart?: StepRow,
  ): Promise<string> {
    return this.checkpoints.fenced(run, async (client, dispatches) => {
      await this.beginWaitStep(client, run, seq, {
        restartStepId: restart?.id,
        name,
        type: 'child',
        input: { kind, input },
      });
      const childId = this.resources.ids.uuid();
      const created = await this.resources.works.create(
        client,
        {
          id: childId,
          kind,
          sourceType: 'child',
          sourceId: run.workId,
          conversationKey,
          parentId: run.workId,
          input,
          retryPolicy,
        },
        `work:${run.workId}`,
        { parentId: run.workId },
      );
      dispatches.push(...created.dispatches);
      const waitId = this.resources.ids.uuid();
      await this.resources.waits.insert(client, {
        id: waitId,
        workId: run.workId,
        stepSeq: seq,
        type: 'child',
        matchKeys: { childWorkId: childId },
      });
      await this.applyOpenWait(client, run, seq, dispatches, 'child', {
        waitId,
        childWorkId: childId,
        kind,
        seq,
      });
      return childId;
    });
  }

  /**
   * The wait's step, running: a new row, or the recorded one run again (its old wait
   * removed; the step asked again opens a new one). Returns the step's id.
   */
  private async beginWaitStep(
    client: PoolClient,
    run: RunHandle,
    seq: number,
    step: { restartStepId?: string; name: string; type: StepType; input?: unknown },
  ): Promise<string> {
    if (step.restartStepId) {
      await this.resources.waits.remove(client, run.workId, seq);
      await this.resources.steps.restart(client, step.restartStepId, run.workerId);
      return step.restartStepId;
    }
    const stepId = this.resources.ids.uuid();
    await this.resources.steps.insert(client, {
      id: stepId,
      workId: run.workId,
      seq,
      name: step.name,
      type: step.type,
      status: 'running',
      ...(step.input !== undefined && { input: step.input }),
      workerId: run.workerId,
    });
    return stepId;
  }

  /**
   * An event that arrived before the wait opened and answers it: consumed now, the wait
   * recorded as satisfied by it, the step completed with its answer and checkpointed.
   * Undefined when the inbox holds no such event.
   */
  private async answerFromInbox(
    client: PoolClient,
    run: RunHandle,
    seq: number,
    spec: WaitSpec,
    at: { stepId: string; waitId: string; correlationKey: string; dispatches: Outcome },
  ): Promise<OpenWaitResult | undefined> {
    const { stepId, waitId, dispatches } = at;
    const buffered = await this.inbox.findBuffered(
      client,
      run.workId,
      at.correlationKey,
      spec.wait.expects,
    );
    if (!buffered) return undefined;
    await client.query(
      `UPDATE "InboundEvent" SET "consumedAt" = now(), "workId" = $2, "waitId" = $3 WHERE id = $1`,
      [buffered.id, run.workId, waitId],
    );
    await this.resources.waits.insert(client, {
      ...spec.wait,
      id: waitId,
      workId: run.workId,
      stepSeq: seq,
      status: 'satisfied',
      result: buffered.answer,
      satisfiedByEventId: buffered.id,
    });
    await this.resources.steps.complete(client, stepId, wrapStepOutput(buffered.answer));
    await this.resources.works.appendEvent(
      client,
      run.workId,
      'wait_satisfied_from_inbox',
      { waitId, eventId: buffered.id, seq },
      `worker:${run.workerId}`,
    );
    await this.transactions.stepCompleted(client, run, seq, spec.stepName, dispatches);
    return { satisfied: true, value: buffered.answer };
  }

  /** The wait's prompt as an outbox row, delivered after the commit; returns its id. */
  private async insertPrompt(
    client: PoolClient,
    run: RunHandle,
    seq: number,
    prompt: NonNullable<WaitSpec['prompt']>,
    at: { stepId: string; waitId: string; dispatches: Outcome },
  ): Promise<string> {
    const row = await this.resources.outbox.insert(client, {
      id: this.resources.ids.uuid(),
      workId: run.workId,
      stepId: at.stepId,
      channel: prompt.channel,
      target: prompt.target,
      payload: { ...prompt.payload, waitId: at.waitId },
      // Per wait, not per step: a step asked again (operator retry after a timeout,
      // rerun) opens a new wait, and its prompt must go out again carrying the new
      // wait's id; a step-only key would hand back the old, already sent row.
      idempotencyKey: waitMessageKey(run.workId, seq, at.waitId, 'prompt'),
    });
    at.dispatches.push({ type: 'deliver', outboxId: row.id, attempt: row.attempts + 1 });
    return row.id;
  }

  /** The work's open_wait through the state machine, with its timeline entry. */
  private async applyOpenWait(
    client: PoolClient,
    run: RunHandle,
    seq: number,
    dispatches: Outcome,
    waitReason: string,
    data: Record<string, unknown>,
  ): Promise<void> {
    const applied = await this.resources.works.apply(
      client,
      run.workId,
      { type: 'open_wait', token: run.token, seq },
      { actor: `worker:${run.workerId}`, data, patch: { waitReason } },
    );
    if (!applied.ok) throw new LeaseLostError(run.workId);
    dispatches.push(...applied.dispatches);
  }
}
