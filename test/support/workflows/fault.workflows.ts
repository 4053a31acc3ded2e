import { defineWorkflow } from '@app/engine';

/**
 * Workflows the fault tests run in real worker processes (compiled to
 * dist/test/support/workflows and loaded through WORKGATE_WORKFLOWS). Side effects go to
 * a loopback HTTP server the test controls, keyed by the step's idempotency key.
 */

async function post(url: string, body: unknown, key?: string): Promise<void> {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(key ? { 'idempotency-key': key } : {}) },
    body: JSON.stringify(body),
  });
  if (!res.ok) throw new Error(`${url} answered ${res.status}`);
}

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** A side effect, then (first attempt only, if asked) a hang before the checkpoint. */
export const sideEffect = defineWorkflow(
  'fault.side-effect',
  async (ctx, input: { url: string; hang: boolean }) => {
    const applied = await ctx.step('effect', async ({ idempotencyKey, attempt }) => {
      await post(
        `${input.url}/effect`,
        { workId: ctx.workId, attempt, pid: process.pid },
        idempotencyKey,
      );
      if (input.hang && attempt === 1) await new Promise(() => undefined); // killed here, after the effect
      return { attempt, pid: process.pid };
    });
    const after = await ctx.step('after', async () => 'done');
    return { applied, after };
  },
);

/** Holds its first step long enough to be frozen (SIGSTOP) past its lease. */
export const zombie = defineWorkflow(
  'fault.zombie',
  async (ctx, input: { url: string; holdMs: number }) => {
    const result = await ctx.step('effect', async ({ attempt }) => {
      if (attempt === 1) {
        await post(`${input.url}/started`, { workId: ctx.workId, pid: process.pid });
        await pause(input.holdMs);
      }
      return { attempt, pid: process.pid };
    });
    return result;
  },
);

/** Several steps that report when each starts and ends, and where. */
export const reporter = defineWorkflow(
  'fault.reporter',
  async (ctx, input: { url: string; steps: number; stepMs: number }) => {
    const done: number[] = [];
    for (let i = 1; i <= input.steps; i++) {
      done.push(
        await ctx.step(`s${i}`, async ({ attempt }) => {
          await post(`${input.url}/span`, {
            workId: ctx.workId,
            step: i,
            attempt,
            pid: process.pid,
            phase: 'start',
            at: Date.now(),
          });
          await pause(input.stepMs);
          await post(`${input.url}/span`, {
            workId: ctx.workId,
            step: i,
            attempt,
            pid: process.pid,
            phase: 'end',
            at: Date.now(),
          });
          return i;
        }),
      );
    }
    return { done };
  },
);

/** Sleeps, then sends a message through the outbox to the test's server. */
export const sleeper = defineWorkflow(
  'fault.sleeper',
  async (ctx, input: { url: string; ms: number }) => {
    await ctx.sleep(input.ms);
    await ctx.send(
      { channel: 'http', target: `${input.url}/message` },
      { text: `woke ${ctx.workId}` },
    );
    return { woke: true };
  },
);

/** One quick step. */
export const quick = defineWorkflow('fault.quick', async (ctx) => {
  return ctx.step('x', async () => 1);
});

/** Sleeps, then records one step. */
export const napper = defineWorkflow('fault.napper', async (ctx, input: { ms: number }) => {
  await ctx.sleep(input.ms);
  return ctx.step('after-nap', async () => ({ napped: input.ms }));
});

/**
 * Steps run side by side (Promise.all), steps 3k to 3k+2 taking k × stepMs (they
 * finish together), each reporting its start with its idempotency key; then one more step.
 */
export const parallel = defineWorkflow(
  'fault.parallel',
  async (ctx, input: { url: string; steps: number; stepMs: number }) => {
    const results = await Promise.all(
      Array.from({ length: input.steps }, (_, i) =>
        ctx.step(`p${i}`, async ({ attempt, idempotencyKey }) => {
          const span = { workId: ctx.workId, step: i, attempt, pid: process.pid };
          await post(`${input.url}/span`, { ...span, phase: 'start' }, idempotencyKey);
          // Three by three, with nothing after the pause: their completions come in one tick.
          await pause(Math.floor(i / 3) * input.stepMs);
          return { step: i, attempt, pid: process.pid };
        }),
      ),
    );
    const after = await ctx.step('after', async () => results.length);
    return { results, after };
  },
);

/**
 * Many short sleeps: each opens a wait in a transaction that holds the work's row lock,
 * so a worker running many of these is often inside one (the frozen-worker test
 * freezes it there).
 */
interface Naps {
  naps: number;
  ms: number;
}

export const dozer = defineWorkflow('fault.dozer', async (ctx, input: Naps | { payload: Naps }) => {
  // Started over the API the input is the naps; opened by a webhook it is the event
  // envelope, with the naps as its payload.
  const { naps, ms } = 'payload' in input ? input.payload : input;
  for (let i = 0; i < naps; i++) await ctx.sleep(ms);
  return ctx.step('after-naps', async () => ({ naps }));
});

/** Sends one long text (several outbox parts) to a chat address. */
export const longAnswer = defineWorkflow(
  'fault.long-answer',
  async (ctx, input: { to: { channel: string; target: string }; text: string }) => {
    await ctx.send(input.to, { text: input.text });
    return { sent: true };
  },
);

/**
 * A timer, a side effect (to the test's server, with its idempotency key), then a wait
 * that a correlated webhook on the `replies` source resumes (or that takes the reply
 * from the inbox, when it came first). The PgBouncer test's workload.
 */
export const pooled = defineWorkflow(
  'fault.pooled',
  // A webhook opens a work with its envelope as input; the delivery's JSON is `payload`.
  async (ctx, input: { payload: { url: string; ref: string; ms: number } }) => {
    const { url, ref, ms } = input.payload;
    await ctx.sleep(ms);
    await ctx.step('effect', async ({ idempotencyKey, attempt }) => {
      await post(`${url}/effect`, { workId: ctx.workId, attempt }, idempotencyKey);
      return { attempt };
    });
    const reply = await ctx.waitFor<{ ref: string }>({ match: `replies:${ref}`, timeout: '10m' });
    return ctx.step('after-reply', async () => ({ ref: reply.ref }));
  },
);

/**
 * `batched` durability under kill -9: four steps, each posting its effect with its
 * idempotency key; the batch commits at two steps, and the third hangs (in the process
 * `hangPid` only) after its effect, so a kill there leaves s1–s2 committed and s3 not.
 */
export const batchedEffects = defineWorkflow(
  'fault.batched',
  async (ctx, input: { url: string; hangPid: number }) => {
    const done: number[] = [];
    for (let i = 1; i <= 4; i++) {
      done.push(
        await ctx.step(`s${i}`, async ({ idempotencyKey, attempt }) => {
          await post(
            `${input.url}/effect`,
            { workId: ctx.workId, step: i, attempt, pid: process.pid },
            idempotencyKey,
          );
          if (i === 3 && process.pid === input.hangPid) await new Promise(() => undefined);
          return i;
        }),
      );
    }
    return done;
  },
  { durability: 'batched', batch: { maxSteps: 2, maxDelay: '1h' } },
);

/**
 * Steps that each apply a side effect (keyed by the step's idempotency key), then wait
 * at the test's gate: a request the test's server answers when the test lets it (a step
 * the test holds in flight, whose boundary comes when the test says). The gate request
 * ignores the step's abort signal on purpose: a step that does not honour it.
 */
export const gated = defineWorkflow(
  'fault.gated',
  async (ctx, input: { url: string; steps: number }) => {
    const done: number[] = [];
    for (let i = 1; i <= input.steps; i++) {
      done.push(
        await ctx.step(`g${i}`, async ({ attempt, idempotencyKey }) => {
          const report = { workId: ctx.workId, step: i, attempt, pid: process.pid };
          await post(`${input.url}/effect`, report, idempotencyKey);
          await post(`${input.url}/gate`, report);
          return i;
        }),
      );
    }
    return { done };
  },
);

/**
 * A webhook-opened work of `steps` steps (the delivery's JSON is `payload`), each posting
 * its effect with its idempotency key and then working `ms`: the load of the rolling
 * restart cluster spec, where every step must run exactly once.
 */
export const rolling = defineWorkflow(
  'fault.rolling',
  async (ctx, input: { payload: { url: string; steps: number; ms: number } }) => {
    const { url, steps, ms } = input.payload;
    for (let i = 1; i <= steps; i++) {
      await ctx.step(`r${i}`, async ({ idempotencyKey, attempt }) => {
        await post(`${url}/effect`, { workId: ctx.workId, step: i, attempt }, idempotencyKey);
        await pause(ms);
        return i;
      });
    }
    return { steps };
  },
);
