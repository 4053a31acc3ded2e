import { defineWorkflow, type WorkflowContext } from '@app/engine';
import {
  childId,
  foldAsk,
  foldBad,
  foldChild,
  foldPar,
  foldWait,
  type Op,
  type Program,
  overriddenToStep,
  type ProgramOutput,
  SIM_KINDS,
  stepValue,
} from '../../simulation/program';

/**
 * The simulation's one workflow (test/simulation, `npm run simulate`): it interprets a
 * generated Program, so the simulator can produce any shape of work from a seed. Every
 * step body reports its side effect to the simulator's counter server, outside the
 * system, with what it saw (`prev`): the checker compares both with the expected fold.
 */

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function report(url: string, body: Record<string, unknown>): Promise<void> {
  const res = await fetch(`${url}/effect`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  if (!res.ok) throw new Error(`counter answered ${res.status}`);
}

/** A step whose body waits `ms`, reports, and returns the value derived from its name. */
function runStep(
  ctx: WorkflowContext,
  program: Program,
  name: string,
  ms: number,
  prev: string,
  flaky = false,
  bad?: 'nul' | 'surrogate',
): Promise<string> {
  return ctx.step(
    name,
    async ({ idempotencyKey, attempt }) => {
      await pause(ms);
      // Thrown before the report: only a body that got to its effect counts as one.
      if (flaky && attempt === 1) throw new Error(`flaky step ${name} fails its first attempt`);
      await report(program.url, {
        program: program.id,
        workId: ctx.workId,
        name,
        key: idempotencyKey,
        attempt,
        prev,
        pid: process.pid,
      });
      if (bad === 'nul') return `nul\u0000${name}`;
      if (bad === 'surrogate') return `lone\ud800${name}`;
      return stepValue(name, prev);
    },
    {
      ...(flaky && { retry: { maxAttempts: 3, initialIntervalMs: 50 } }),
      ...(overriddenToStep(name) && { durability: 'step' as const }),
    },
  );
}

async function interpret(ctx: WorkflowContext, program: Program, ops: Op[]): Promise<string> {
  let acc = '';
  for (const [i, op] of ops.entries()) {
    switch (op.t) {
      case 'step':
        acc = await runStep(ctx, program, op.name, op.ms, acc, op.flaky);
        break;
      case 'par': {
        const prev = acc;
        const values = await Promise.all(
          op.steps.map((s) => runStep(ctx, program, s.name, s.ms, prev)),
        );
        acc = foldPar(prev, values);
        break;
      }
      case 'sleep':
        await ctx.sleep(op.ms);
        break;
      case 'wait': {
        const answer = await ctx.waitFor<{ v?: unknown }>({ match: `replies:${op.key}` });
        acc = foldWait(acc, String(answer?.v));
        break;
      }
      case 'ask': {
        const answer = await ctx.ask<unknown>({
          text: `sim ask ${op.answer}`,
          expects: { const: op.answer },
        });
        acc = foldAsk(acc, String(answer));
        break;
      }
      case 'send':
        await ctx.send({ channel: 'http', target: `${program.url}/message` }, { text: op.text });
        break;
      case 'child': {
        const child: Program = { id: childId(program.id, i), url: program.url, ops: op.ops };
        // The child runs in its parent's mode.
        const out = await ctx.child<ProgramOutput>(ctx.kind, child);
        acc = foldChild(acc, String(out?.acc));
        break;
      }
      case 'inbox':
        await ctx.inbox();
        break;
      case 'bad':
        await runStep(ctx, program, op.name, 0, acc, false, op.kind);
        acc = foldBad(acc, op.name);
        break;
    }
  }
  return acc;
}

async function simulated(
  ctx: WorkflowContext,
  input: Program | { payload: Program },
): Promise<ProgramOutput> {
  // Opened by a webhook the program is the delivery's payload; as a child, the input.
  const program = 'payload' in input ? input.payload : input;
  return { acc: await interpret(ctx, program, program.ops) };
}

// Faults use attempts up (a kill -9 mid-run costs one): enough that only a real
// defect, not the schedule, exhausts them.
const retry = { maxAttempts: 25, initialIntervalMs: 200, maxIntervalMs: 1_000 };

/** The program in `step` durability (the default). */
export const simProgram = defineWorkflow(SIM_KINDS.step, simulated, { retry });

/** The same program in `batched` durability (`--durability batched`). */
export const simProgramBatched = defineWorkflow(SIM_KINDS.batched, simulated, {
  retry,
  durability: 'batched',
});
