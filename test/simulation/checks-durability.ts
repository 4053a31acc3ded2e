import { type Client } from 'pg';
import { batchedStepId } from '../../libs/engine/src/runner/batched-step.util';
import { type Effect } from './counters';
import { type Durability } from './generator';
import { overriddenToStep } from './program';

/**
 * What each durability mode promises about a step's identity (docs/guarantees.md,
 * "Durability modes"), checked on the ledger and the effects the bodies reported:
 *
 * - both modes: every time a step's body ran, it was handed the key its row holds —
 *   a crash re-runs a step (on the record or not yet) with the same idempotency key;
 *   only a rerun from a step makes its positions new steps with new keys.
 * - `batched`: a batched step's row has the id derived from its work, the work's step
 *   epoch and its position (what makes the key the same after a crash); a step
 *   overridden to `step`, and every step of a `step` workflow, has a drawn one.
 */
export async function checkDurability(
  db: Client,
  durability: Durability,
  effects: Effect[],
  rerun: (workId: string) => boolean,
  flag: (kind: string, workId: string | null, detail: string) => void,
): Promise<number> {
  let checks = 0;
  const { rows } = await db.query<{
    id: string;
    workId: string;
    seq: number;
    name: string;
    type: string;
    idempotencyKey: string;
    stepEpoch: number;
  }>(
    `SELECT s.id, s."workId", s.seq, s.name, s.type::text AS type, s."idempotencyKey", w."stepEpoch"
     FROM "Step" s JOIN "Work" w ON w.id = s."workId"`,
  );
  const rowOf = new Map(rows.map((r) => [`${r.workId}/${r.name}`, r]));
  for (const e of effects) {
    const row = rowOf.get(`${e.workId}/${e.name}`);
    if (!row || rerun(e.workId)) continue;
    checks++;
    if (row.idempotencyKey !== e.key)
      flag(
        'key-changed',
        e.workId,
        `step ${e.name} ran (attempt ${e.attempt}) with key ${e.key}, its row holds ${row.idempotencyKey}`,
      );
  }
  for (const r of rows) {
    if (r.type !== 'task') continue;
    checks++;
    const derived = r.id === batchedStepId(r.workId, r.stepEpoch, r.seq);
    const batched = durability === 'batched' && !overriddenToStep(r.name);
    if (derived !== batched)
      flag(
        'durability-ignored',
        r.workId,
        `step ${r.name} of a ${durability} work${batched ? '' : ' (or overridden to step)'} has ${derived ? 'a derived' : 'a drawn'} id`,
      );
  }
  return checks;
}
