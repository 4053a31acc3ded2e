import { type PoolClient } from 'pg';
import { stepIdempotencyKey, wrapStepOutput } from '@app/core';
import { type LlmResponse } from '../workflow/workflow.types';
import { type CheckpointSystem } from './checkpoint.system';
import { type FencedTransactions } from './fenced-transaction';
import { type RunHandle, type RunResources } from './run-resources';

/**
 * Steps written whole, in one fenced transaction with their checkpoint, because what
 * they record must commit with them: a value produced here (now, random, uuid, the
 * inbox), a sleep already due, a model's response with its cost, a message with its
 * outbox rows.
 */
export class RecordedStepSystem {
  constructor(
    private readonly resources: RunResources,
    private readonly checkpoints: CheckpointSystem,
    private readonly transactions: FencedTransactions,
  ) {}

  /** A step whose value is produced here (now, random, uuid, inbox): recorded and checkpointed at once. */
  async recordValue(
    run: RunHandle,
    seq: number,
    name: string,
    produce: (client: PoolClient) => Promise<unknown>,
  ): Promise<unknown> {
    return this.checkpoints.fenced(run, async (client, dispatches) => {
      const value = await produce(client);
      await this.resources.steps.insert(client, {
        id: this.resources.ids.uuid(),
        workId: run.workId,
        seq,
        name,
        type: 'task',
        status: 'completed',
        output: wrapStepOutput(value),
        workerId: run.workerId,
      });
      await this.transactions.stepCompleted(client, run, seq, name, dispatches);
      return value;
    });
  }

  /** A sleep that was already due when reached: recorded as a completed sleep step. */
  async recordSleep(run: RunHandle, seq: number): Promise<void> {
    await this.checkpoints.fenced(run, async (client, dispatches) => {
      await this.resources.steps.insert(client, {
        id: this.resources.ids.uuid(),
        workId: run.workId,
        seq,
        name: 'sleep',
        type: 'sleep',
        status: 'completed',
        output: wrapStepOutput(undefined),
        workerId: run.workerId,
      });
      await this.transactions.stepCompleted(client, run, seq, 'sleep', dispatches);
    });
  }

  /**
   * ctx.llm's checkpoint: the step's output (the model's response), its ModelCall row
   * and, when the request was trimmed to fit, a timeline entry — in one transaction, so
   * a recorded response always has its cost and a cost never lacks its response.
   */
  async completeLlmStep(
    run: RunHandle,
    step: { id: string; seq: number; name: string },
    output: LlmResponse,
    call: { provider: string; promptHash: string },
  ): Promise<void> {
    await this.checkpoints.fenced(run, async (client, dispatches) => {
      await this.resources.steps.complete(client, step.id, wrapStepOutput(output));
      await client.query(
        `INSERT INTO "ModelCall" (id, "workId", "stepId", provider, model, "promptHash", "inputTokens",
           "outputTokens", "cachedTokens", "costUsd", "finishReason", "toolCalls", "latencyMs")
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)`,
        [
          this.resources.ids.uuid(),
          run.workId,
          step.id,
          call.provider,
          output.model,
          call.promptHash,
          output.usage.inputTokens,
          output.usage.outputTokens,
          output.usage.cachedTokens,
          output.costUsd.toFixed(6),
          output.finishReason,
          output.message.toolCalls?.length ? JSON.stringify(output.message.toolCalls) : null,
          output.latencyMs,
        ],
      );
      if (output.trimmed > 0)
        await this.resources.works.appendEvent(
          client,
          run.workId,
          'context_trimmed',
          { seq: step.seq, step: step.name, droppedMessages: output.trimmed },
          `worker:${run.workerId}`,
        );
      await this.transactions.stepCompleted(client, run, step.seq, step.name, dispatches);
    });
  }

  /**
   * ctx.send: the outbox row(s) and the checkpoint in one transaction; delivery after
   * commit. A message longer than its channel takes comes as `parts` (messageParts): one
   * row each, keyed by the step's key and the part number so a replay finds the same
   * rows, and each after the first names the row before it (`after`) so the outbox
   * sends them in order.
   */
  async send(
    run: RunHandle,
    seq: number,
    name: string,
    to: { channel: string; target: string; thread?: string },
    payload: Record<string, unknown>,
    parts: Array<Record<string, unknown>> = [payload],
  ): Promise<string> {
    return this.checkpoints.fenced(run, async (client, dispatches) => {
      const stepId = this.resources.ids.uuid();
      const rows = await this.insertParts(client, run, seq, stepId, to, parts);
      const ids = rows.map((r) => r.id);
      await this.resources.steps.insert(client, {
        id: stepId,
        workId: run.workId,
        seq,
        name,
        type: 'send',
        status: 'completed',
        input: { to, payload },
        output: wrapStepOutput({ outboxId: ids[0], ...(ids.length > 1 ? { outboxIds: ids } : {}) }),
        workerId: run.workerId,
      });
      await client.query('UPDATE "Outbox" SET "stepId" = $2 WHERE id = ANY($1::uuid[])', [
        ids,
        stepId,
      ]);
      await this.transactions.stepCompleted(client, run, seq, name, dispatches);
      for (const row of rows)
        dispatches.push({ type: 'deliver', outboxId: row.id, attempt: row.attempts + 1 });
      return ids[0]!;
    });
  }

  /** One outbox row per part of a message, in order (see send). */
  private async insertParts(
    client: PoolClient,
    run: RunHandle,
    seq: number,
    stepId: string,
    to: { channel: string; target: string; thread?: string },
    parts: Array<Record<string, unknown>>,
  ): Promise<Array<{ id: string; attempts: number }>> {
    // The step's key: a rerun's send is a new step row, so it sends again.
    const stepKey = stepIdempotencyKey(run.workId, seq, stepId);
    const rows: Array<{ id: string; attempts: number }> = [];
    for (const [i, part] of parts.entries()) {
      const after = rows.at(-1)?.id;
      rows.push(
        await this.resources.outbox.insert(client, {
          id: this.resources.ids.uuid(),
          workId: run.workId,
          stepId: null,
          channel: to.channel,
          target: to.target,
          payload: {
            ...part,
            ...(to.thread ? { thread: to.thread } : {}),
            ...(after ? { after } : {}),
          },
          idempotencyKey: parts.length === 1 ? stepKey : `${stepKey}:part:${i + 1}`,
        }),
      );
    }
    return rows;
  }
}
