import { type Client } from 'pg';
import { defineWorkflow, EngineControl } from '@app/engine';
import { LedgerDatabase, LedgerReadDatabase, OperatorWorksRepository } from '@app/ledger';
import { WorkActionsService } from '../../apps/gateway/src/api/work-actions.service';
import { type EngineHarness, gate, startEngine } from '@test/engine-ledger';
import { until } from '@test/until';

/**
 * Found by the simulation (seed 21, step mode): an operator's cancel with a reason was
 * committed, then the reason was written in a second transaction that waited for the
 * work's row lock — held meanwhile by a frozen worker — past lock_timeout. The API
 * answered 500 for a cancel that had happened; the client's retry got 409 ("a
 * CANCELLED work cannot be cancelled"). The action and its reason are one transaction.
 */
const held = gate();
const holder = defineWorkflow('reason.holder', async (ctx) => {
  await ctx.step('one', () => held.promise);
  return 'done';
});

describe('an operator action and its reason', () => {
  let h: EngineHarness;
  let locker: Client | null = null;

  beforeAll(async () => {
    h = await startEngine('op_reason', [holder], { lease: '3s' });
  });

  afterAll(async () => {
    held.open();
    await locker?.query('ROLLBACK').catch(() => undefined);
    await locker?.end();
    await h?.close();
  });

  it('answers for the action it committed, even if the row is locked right after', async () => {
    const control = h.worker.app.get(EngineControl);
    const workId = (await control.start('reason.holder', {}, { actor: 'test' })).workId!;
    await until(
      async () => (await h.ledger.steps(workId)).some((s) => s.status === 'running'),
      'the work to be running its step',
    );
    // The moment the cancel has committed, another session (a frozen worker, say)
    // takes the work's row lock and keeps it.
    const lockAfter = new Proxy(control, {
      get(target, prop, receiver) {
        if (prop !== 'cancel') return Reflect.get(target, prop, receiver) as unknown;
        return async (...args: Parameters<EngineControl['cancel']>) => {
          const result = await target.cancel(...args);
          locker = await h.db.connect();
          await locker.query('BEGIN');
          await locker.query('SELECT 1 FROM "Work" WHERE id = $1 FOR UPDATE', [workId]);
          return result;
        };
      },
    });
    const actions = new WorkActionsService(
      lockAfter,
      new OperatorWorksRepository(
        h.worker.app.get(LedgerDatabase),
        h.worker.app.get(LedgerReadDatabase),
      ),
    );
    const answered = await actions
      .act(workId, 'cancel', 'operator:ana', 'wrong customer')
      .then((r) => r.event)
      .catch((err: Error) => `error: ${err.message}`);
    await locker!.query('ROLLBACK');
    expect(answered).toBe('cancel_requested');
    const notes = await h.db.query<{ data: { event: string; reason: string } }>(
      `SELECT data FROM "WorkEvent" WHERE "workId" = $1 AND type = 'operator_note'`,
      [workId],
    );
    expect(notes.map((n) => n.data)).toEqual([
      { event: 'cancel_requested', reason: 'wrong customer' },
    ]);
  }, 30_000);
});
