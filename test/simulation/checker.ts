import { Client } from 'pg';
import { TERMINAL_STATES, type WorkState } from '../../libs/core/src';
import { type Cluster } from './cluster';
import { type Counters } from './counters';
import { type Injected, type Stall } from './faults';
import { type Plan } from './generator';
import { expectedFold, hasBadStep } from './program';
import { checkDurability } from './checks-durability';
import { checkLive, checkProcesses } from './checks-runtime';
import { checkTimeline } from './timeline';
import { type TrafficDriver } from './traffic';

/**
 * The guarantees, checked after the run from the ledger (SQL on the disposable
 * database), the queues, the counter server and the processes' output. Each violation
 * names its kind, the work, and — where one is known — the issue-13 defect it is an
 * instance of (a pointer for whoever reads the finding: that defect's regression tests
 * and decisions say where to look).
 */

export interface Violation {
  kind: string;
  workId: string | null;
  detail: string;
  /** The issue-13 defect this kind is an instance of, when known. */
  defect?: number;
}

export interface CheckInput {
  plan: Plan;
  cluster: Cluster;
  counters: Counters;
  driver: TrafficDriver;
  injected: Injected[];
  stalls: Stall[];
  pgLogFrom: number;
}

interface WorkRow {
  id: string;
  state: WorkState;
  parentId: string | null;
  input: { id?: string; payload?: { id?: string } };
  output: { acc?: string } | null;
  error: unknown;
  runSeq: number;
  leaseLive: boolean;
  waitReason: string | null;
}

/**
 * Kinds that are instances of a known defect. Defect 1 is the parallel-step path: the
 * same kinds on a sequential step, a sleep or a wait are reported without a number.
 */
const DEFECT_OF: Record<string, number> = {
  'parallel-step-left-running': 1,
  'parallel-duplicate-effect': 1,
  'poisoned-by-other-work': 3,
  'bad-step-left-running': 3,
  'bad-step-retried': 3,
  'stranded-event': 4,
  'lease-recovery-stalled': 12,
  'process-crashed': 13,
};
/** The generator names the steps of a Promise.all `s<op>p<i>`. */
const PARALLEL = /^s\d+p\d+$/;
/** Faults that can interrupt a step between its side effect and its checkpoint. */
const INTERRUPTING = new Set(['kill-worker', 'stop-worker', 'pg-restart']);
/** PostgreSQL's refusals of a `\u0000` or a lone surrogate in jsonb/text (22P05, 22021, 22P02). */
const POISON =
  /unsupported unicode|\\u0000|22P05|22021|invalid byte sequence|surrogate|invalid input syntax for type json/i;

export async function check(
  input: CheckInput,
): Promise<{ violations: Violation[]; checks: number }> {
  const { plan, cluster, counters, driver } = input;
  const out: Violation[] = [];
  let checks = 0;
  const flag = (kind: string, workId: string | null, detail: string) => {
    const defect = Object.hasOwn(DEFECT_OF, kind) ? DEFECT_OF[kind] : undefined;
    out.push({ kind, workId, detail, ...(defect ? { defect } : {}) });
  };
  const db = new Client({
    connectionString: cluster.services.databaseUrl,
    options: `-c search_path="${cluster.schema}"`,
  });
  await db.connect();
  try {
    const works = (
      await db.query<WorkRow>(
        `SELECT id, state, "parentId", input, output, error, "runSeq", "waitReason", coalesce("leaseExpiresAt" > now(), false) AS "leaseLive" FROM "Work"`,
      )
    ).rows;
    const byId = new Map(works.map((w) => [w.id, w]));
    const terminal = (w: WorkRow | undefined) => !!w && TERMINAL_STATES.includes(w.state);
    const programIdOf = (w: WorkRow) => w.input.payload?.id ?? w.input.id ?? '';

    // Expected folds for every program and child, by the simulator's program id.
    const prevOf = new Map<string, string>();
    const accOf = new Map<string, string>();
    for (const p of plan.programs) {
      const f = expectedFold(p);
      for (const [k, v] of f.prevOf) prevOf.set(k, v);
      for (const [k, v] of f.accOf) accOf.set(k, v);
    }
    // 0: never answered but 5xx or nothing, 20 tries (traffic.ts `api`).
    const mayHaveLanded = (status: number) => status === 200 || status === 409 || status === 0;
    const calls = (p: number, action: string) =>
      driver.calls.filter((c) => c.p === p && c.action === action && c.status === 200);

    // 1. Every acknowledged event: one row, a decision, handled or dropped with a reason.
    const events = new Map(
      (
        await db.query<{
          id: string;
          externalId: string;
          decision: string;
          reason: string;
          workId: string | null;
          consumedAt: Date | null;
        }>(
          `SELECT id, "externalId", decision::text AS decision, reason, "workId", "consumedAt" FROM "InboundEvent"`,
        )
      ).rows.map((e) => [e.id, e]),
    );
    for (const ack of driver.acked) {
      checks++;
      const e = events.get(ack.eventId);
      if (!e) {
        flag(
          'lost-event',
          ack.workId,
          `${ack.externalId} was answered 2xx (${ack.eventId}) but has no InboundEvent row`,
        );
        continue;
      }
      if (['inbox', 'collected', 'interrupted'].includes(e.decision) && !e.consumedAt) {
        if (e.workId && terminal(byId.get(e.workId)))
          flag(
            'stranded-event',
            e.workId,
            `${ack.externalId} sits unread in the inbox of a ${byId.get(e.workId)!.state} work`,
          );
        else if (e.workId)
          flag(
            'unconsumed-event',
            e.workId,
            `${ack.externalId} is still in the inbox of a live work`,
          );
      }
      if (['dropped', 'rejected'].includes(e.decision) && !e.reason)
        flag('unexplained-drop', e.workId, `${ack.externalId} was ${e.decision} without a reason`);
    }
    for (const d of driver.dedupeBreaks) {
      checks++;
      flag(
        'duplicate-event',
        null,
        `${d.externalId} acknowledged as ${d.first} and again as ${d.again}`,
      );
    }

    // 2. Side effects: once per idempotency key unless a crash forced a retry; each saw the fold so far.
    const byKey = new Map<string, typeof counters.effects>();
    for (const e of counters.effects) byKey.set(e.key, [...(byKey.get(e.key) ?? []), e]);
    const rerunWorks = new Set(
      driver.calls
        .filter((c) => c.action === 'rerun' && c.status === 200)
        .map((c) => driver.workIds.get(c.p)),
    );
    // An operator retry of a FAILED or CANCELLED work runs the step that failed (or that
    // the cancel cut short) again, by design: its record never said completed.
    const retriedAt = (workId: string) =>
      driver.calls
        .filter(
          (c) => c.action === 'retry' && c.status === 200 && driver.workIds.get(c.p) === workId,
        )
        .map((c) => c.at);
    const crashTimes = [
      ...input.injected.filter((f) => INTERRUPTING.has(f.kind)).map((f) => [f.at, f.end] as const),
      ...cluster.crashes.map((c) => [c.at, c.at] as const),
    ];
    for (const [key, list] of byKey) {
      checks++;
      const first = list[0]!;
      const expected = prevOf.get(`${first.program}/${first.name}`);
      for (const e of list)
        if (expected !== undefined && e.prev !== expected)
          flag(
            'stale-read',
            e.workId,
            `step ${e.name} (attempt ${e.attempt}) was handed ${JSON.stringify(e.prev)}, expected ${JSON.stringify(expected)}`,
          );
      if (list.length < 2) continue;
      const last = list[list.length - 1]!;
      const work = byId.get(first.workId);
      const parentRerun = work?.parentId && rerunWorks.has(work.parentId);
      const excused =
        rerunWorks.has(first.workId) ||
        parentRerun ||
        retriedAt(first.workId).some((at) => at >= first.at) ||
        crashTimes.some(([from, to]) => to >= first.at - 1_000 && from <= last.at);
      if (!excused)
        flag(
          first.name.startsWith('bad')
            ? 'bad-step-retried'
            : PARALLEL.test(first.name)
              ? 'parallel-duplicate-effect'
              : 'duplicate-effect',
          first.workId,
          `step ${first.name} (key ${key}) ran ${list.length}× (attempts ${list.map((e) => e.attempt).join(',')}) with no crash to force it`,
        );
    }

    // 2b. What the durability mode promises about a step's identity and key.
    const rerunOrChildOfRerun = (workId: string) => {
      const parent = byId.get(workId)?.parentId;
      return rerunWorks.has(workId) || (!!parent && rerunWorks.has(parent));
    };
    checks += await checkDurability(
      db,
      plan.durability,
      counters.effects,
      rerunOrChildOfRerun,
      flag,
    );

    // 3. Outcomes: what each program must end as, and the fold its output must equal.
    // A work left live says what it is stuck on: its open waits and its last entries.
    const stuckOn = new Map(
      (
        await db.query<{ workId: string; waits: string | null; last: string | null }>(
          `SELECT w.id AS "workId",
             (SELECT string_agg(format('%s#%s %s key=%s timeout=%s', t.type, t."stepSeq", t.status, t."correlationKey", t."timeoutAt"), '; ')
                FROM "Wait" t WHERE t."workId" = w.id AND t.status = 'open') AS waits,
             (SELECT string_agg(e.type, ',' ORDER BY e.seq) FROM (SELECT type, seq FROM "WorkEvent" WHERE "workId" = w.id ORDER BY seq DESC LIMIT 6) e) AS last
           FROM "Work" w WHERE w.state NOT IN ('COMPLETED', 'FAILED', 'CANCELLED')`,
        )
      ).rows.map((r) => [r.workId, ` waits=[${r.waits ?? ''}] timeline…${r.last ?? ''}`]),
    );
    plan.programs.forEach((program, p) => {
      const workId = driver.workIds.get(p);
      if (!workId) return;
      checks++;
      const w = byId.get(workId);
      if (!w)
        return flag(
          'lost-work',
          workId,
          `program ${program.id} was opened (2xx) but its work is gone`,
        );
      // A cancel may have landed when it was answered 200, when its answer was lost (a
      // 5xx or no answer — PostgreSQL or the gateway went down between the commit and
      // the answer, which no client can tell from a failed commit — so the driver tried
      // again and got 409, already cancelled, or gave up: 0).
      const cancelled =
        driver.calls.some((c) => c.p === p && c.action === 'cancel' && mayHaveLanded(c.status)) &&
        calls(p, 'retry').length === 0;
      const bad = hasBadStep(program.ops);
      const allowed: WorkState[] = [
        'COMPLETED',
        ...(cancelled ? (['CANCELLED'] as const) : []),
        ...(bad ? (['FAILED'] as const) : []),
      ];
      if (!allowed.includes(w.state)) {
        const error = JSON.stringify(w.error ?? null).slice(0, 300);
        const kind =
          !bad && w.state === 'FAILED' && POISON.test(error)
            ? 'poisoned-by-other-work'
            : terminal(w)
              ? 'wrong-outcome'
              : // Its own bad output, retried as if the database might take it next time.
                bad && POISON.test(error)
                ? 'bad-step-retried'
                : 'not-finished';
        flag(
          kind,
          workId,
          `program ${program.id} ended ${w.state} (allowed ${allowed.join('/')}) error=${error}${terminal(w) ? '' : (stuckOn.get(workId) ?? '')}`,
        );
      }
    });
    for (const w of works) {
      if (w.state !== 'COMPLETED') continue;
      const expected = accOf.get(programIdOf(w));
      checks++;
      if (expected !== undefined && w.output?.acc !== expected)
        flag(
          'wrong-output',
          w.id,
          `program ${programIdOf(w)} returned ${JSON.stringify(w.output)}, the fold is ${expected}`,
        );
    }

    // 3b. A bad output fails its own work at most: any other work that saw the
    // database refuse it (a shared, group-committed statement) was poisoned by it.
    const badPrograms = new Set(plan.programs.filter((p) => hasBadStep(p.ops)).map((p) => p.id));
    const poisoned = (
      await db.query<{ workId: string; type: string; data: unknown }>(
        `SELECT DISTINCT ON ("workId") "workId", type, data FROM "WorkEvent" WHERE data::text ~* $1 ORDER BY "workId", seq`,
        [POISON.source],
      )
    ).rows;
    for (const e of poisoned) {
      checks++;
      const w = byId.get(e.workId);
      if (w && !badPrograms.has(programIdOf(w)))
        flag(
          'poisoned-by-other-work',
          e.workId,
          `program ${programIdOf(w)} has no bad step, yet its ${e.type} says ${JSON.stringify(e.data).slice(0, 240)}`,
        );
    }

    // 4. Steps of finished works: none left running, every completed task has its output.
    const steps = (
      await db.query<{
        workId: string;
        name: string;
        status: string;
        type: string;
        hasOutput: boolean;
      }>(
        `SELECT s."workId", s.name, s.status::text AS status, s.type::text AS type, s.output IS NOT NULL AS "hasOutput"
         FROM "Step" s JOIN "Work" w ON w.id = s."workId" WHERE w.state IN ('COMPLETED', 'FAILED', 'CANCELLED')`,
      )
    ).rows;
    for (const s of steps) {
      checks++;
      // A cancel stops the run where it is (between steps, or by aborting a body): the
      // step it interrupted never checkpointed, so its row stays `running` by design —
      // the record that it began; a retry of the work runs it again. Only a COMPLETED or
      // FAILED work must have settled every step.
      const cancelled = byId.get(s.workId)?.state === 'CANCELLED';
      // A bad step's own row left running is the bad-output path (defect 3), not defect 1's.
      if (s.status === 'running' && !cancelled)
        flag(
          s.name.startsWith('bad')
            ? 'bad-step-left-running'
            : PARALLEL.test(s.name)
              ? 'parallel-step-left-running'
              : 'step-left-running',
          s.workId,
          `step ${s.name} is running in a ${byId.get(s.workId)?.state} work`,
        );
      if (
        s.status === 'completed' &&
        s.type === 'task' &&
        !s.hasOutput &&
        byId.get(s.workId)?.state === 'COMPLETED'
      )
        flag('step-without-output', s.workId, `completed step ${s.name} has no output`);
    }

    // 5. Live works: each has an open wait, a queued job, a live lease, or is PAUSED.
    await checkLive(
      db,
      cluster,
      works.filter((w) => !terminal(w)),
      (w, detail) => flag('orphan-work', w, detail),
      () => checks++,
    );

    // 6. Timelines replay through transition().
    const timeline = new Map<string, Array<{ seq: number; type: string }>>();
    for (const e of (
      await db.query<{ workId: string; seq: number; type: string }>(
        'SELECT "workId", seq, type FROM "WorkEvent" ORDER BY "workId", seq',
      )
    ).rows)
      timeline.set(e.workId, [...(timeline.get(e.workId) ?? []), e]);
    for (const w of works) {
      checks++;
      const problem = checkTimeline(timeline.get(w.id) ?? [], w.state);
      if (problem)
        flag(
          'illegal-timeline',
          w.id,
          `${problem.seq === null ? '' : `seq ${problem.seq}: `}${problem.message}`,
        );
    }

    // 7. Processes: no unexpected exit, no deadlock, recovery never stalled.
    checks += checkProcesses(input, flag);
  } finally {
    await db.end();
  }
  return { violations: dedupe(out), checks };
}

/** One line per (kind, work, detail): a work that tripped a check twice is one finding. */
function dedupe(list: Violation[]): Violation[] {
  const seen = new Set<string>();
  return list.filter((v) => {
    const key = `${v.kind}|${v.workId}|${v.detail}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}
