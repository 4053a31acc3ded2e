import { defineWorkflow } from '@app/engine';
import {
  type EngineHarness,
  eventsOfType,
  startEngine,
  type WaitRowT,
  type WorkEventRowT,
} from '@test/engine-ledger';
import { jobIdsIn } from '@test/queue';
import { until } from '@test/until';

/** Sleeps each of `sleeps` (ms) in turn, then until `until` if given. */
const sleeper = defineWorkflow(
  'timers.sleeper',
  async (ctx, input: { sleeps: number[]; until?: string }) => {
    for (const ms of input.sleeps) await ctx.sleep(ms);
    if (input.until) await ctx.sleep({ until: new Date(input.until) });
    return { slept: input.sleeps.length + (input.until ? 1 : 0) };
  },
);

const T1 = 300;
const T2 = 1_500;
const T3 = 2_000;
const ONCALL = { channel: 'nowhere', target: 'oncall' };

/** A question with a three-rung ladder: remind, hand to on-call, then take "no". */
const approval = defineWorkflow('timers.approval', async (ctx) => {
  const answer = await ctx.ask<string>({
    text: 'Ship it?',
    expects: { enum: ['yes', 'no'] },
    escalation: [
      { after: T1, action: 'remind' },
      { after: T2, action: 'escalate', to: ONCALL, text: 'nobody answered' },
      { after: T3, action: 'default', value: 'no' },
    ],
  });
  return { answer };
});

/** A ladder that ends in failure. */
const strict = defineWorkflow(
  'timers.strict',
  async (ctx) => {
    await ctx.ask<string>({
      text: 'Answer or fail',
      escalation: [
        { after: 200, action: 'remind' },
        { after: 400, action: 'fail' },
      ],
    });
  },
  { retry: { maxAttempts: 3, initialIntervalMs: 50 } },
);

const ms = (d: Date | string) => new Date(d).getTime();

describe('engine timers and escalation ladders', () => {
  let h: EngineHarness;

  beforeAll(async () => {
    h = await startEngine('eng_timers', [sleeper, approval, strict]);
  });

  afterAll(async () => {
    await h?.close();
  });

  /** The human wait of a work once it is open. */
  async function openHumanWait(workId: string): Promise<WaitRowT> {
    return until(
      async () => (await h.ledger.waits(workId)).find((w) => w.type === 'human') ?? null,
      `work ${workId} to open its question`,
    );
  }

  it('never fires a sleep before the due time recorded when it was opened', async () => {
    const now = Date.now();
    const plans: Array<{ sleeps: number[]; until?: string }> = [
      { sleeps: [100] },
      { sleeps: [250, 100] },
      { sleeps: [150, 150, 150] },
      { sleeps: [700] },
      { sleeps: [120, 330, 90] },
      { sleeps: [500, 200] },
      { sleeps: [1, 400] },
      { sleeps: [], until: new Date(now + 600).toISOString() },
      { sleeps: [200], until: new Date(now + 900).toISOString() },
      { sleeps: [], until: new Date(now + 1_100).toISOString() },
      // Already past when reached: recorded, nothing to wait for.
      { sleeps: [], until: new Date(now - 60_000).toISOString() },
    ];
    const ids = await Promise.all(
      plans.map(
        async (input) =>
          (await h.worker.control.start('timers.sleeper', input, { actor: 'test' })).workId!,
      ),
    );
    for (const id of ids)
      expect((await h.ledger.untilState(id, 'COMPLETED', 20_000)).state).toBe('COMPLETED');

    // Whether a sleep opens a timer depends on when the run reaches it: an `until` that
    // has passed by then (a loaded machine can take longer than 600 ms to start a work)
    // is recorded as a completed sleep with nothing to wait for. So each sleep is held
    // to the promise either way: a timer never fires before its due time, and a sleep
    // without one was already due when it was recorded.
    let accounted = 0;
    for (const [i, workId] of ids.entries()) {
      const plan = plans[i]!;
      const timeline = await h.ledger.timeline(workId);
      const timers = (await h.ledger.waits(workId)).filter((w) => w.type === 'timer');
      const sleepSteps = (await h.ledger.steps(workId)).filter((s) => s.type === 'sleep');
      const requested = [...plan.sleeps, ...(plan.until ? [{ until: ms(plan.until) }] : [])];
      expect(sleepSteps).toHaveLength(requested.length);
      expect(sleepSteps.every((s) => s.status === 'completed')).toBe(true);

      for (const [k, step] of sleepSteps.entries()) {
        const asked = requested[k]!;
        const wait = timers.find((w) => w.stepSeq === step.seq);
        if (!wait) {
          // Due when reached: only a 1 ms sleep (the clock may tick between the two
          // readings) or an `until` that had passed, and recorded at or after it.
          if (typeof asked === 'number') expect(asked).toBeLessThanOrEqual(1);
          else expect((step.finishedAt as Date).getTime()).toBeGreaterThanOrEqual(asked.until);
          accounted++;
          continue;
        }
        const opened = timeline.find((e) => e.type === 'waiting' && e.data.waitId === wait.id)!;
        const fired = timeline.find((e) => e.type === 'timer_fired' && e.data.waitId === wait.id)!;
        expect(opened).toBeDefined();
        expect(fired).toBeDefined();
        // The due time recorded at opening is the wait's, and the timer fired at or after it.
        const due = ms(opened.data.timeoutAt);
        expect(ms(wait.timeoutAt!)).toBe(due);
        expect(fired.at.getTime()).toBeGreaterThanOrEqual(due);
        // The run that continued after the sleep was claimed after it was due too.
        const resumedBy = timeline.find((e) => e.seq > fired.seq && e.type === 'claimed')!;
        expect(resumedBy.at.getTime()).toBeGreaterThanOrEqual(due);
        expect(wait.status).toBe('satisfied');

        // The due time is at least the requested length after the run reached the sleep
        // (the entry before `waiting` was written before the sleep was called).
        if (typeof asked === 'number') {
          const before = timeline.filter((e) => e.seq < opened.seq).at(-1)!;
          expect(due).toBeGreaterThanOrEqual(before.at.getTime() + asked);
        } else {
          expect(due).toBe(asked.until);
        }
        accounted++;
      }
    }
    expect(accounted).toBe(plans.flatMap((p) => [...p.sleeps, ...(p.until ? [1] : [])]).length);
    const past = ids[plans.length - 1]!;
    expect(await h.ledger.waits(past)).toEqual([]);
    expect(await h.ledger.types(past)).not.toContain('waiting');
  });

  it('climbs the escalation ladder rung by rung, none early, then takes the default', async () => {
    const { workId } = await h.worker.control.start('timers.approval', {}, { actor: 'test' });
    const wait = await openHumanWait(workId!);
    const done = await h.ledger.untilState(workId!, ['COMPLETED', 'FAILED'], 15_000);
    expect(done.state).toBe('COMPLETED');
    expect(done.output).toEqual({ answer: 'no' });

    const timeline = await h.ledger.timeline(workId!);
    const opened = wait.createdAt.getTime();
    const waiting = timeline.find((e) => e.type === 'waiting' && e.data.waitId === wait.id)!;
    // The first rung is due T1 after the wait opened (the ladder's base is the wait's own time).
    expect(ms(waiting.data.timeoutAt)).toBe(opened + T1);

    const rungs = eventsOfType(timeline, 'escalation');
    expect(rungs.map((e) => [e.data.rung, e.data.action])).toEqual([
      [1, 'remind'],
      [2, 'escalate'],
      [3, 'default'],
    ]);
    [T1, T2, T3].forEach((after, i) =>
      expect(rungs[i]!.at.getTime()).toBeGreaterThanOrEqual(opened + after),
    );
    expect(rungs[1]!.data.to).toEqual(ONCALL);
    // The default is the wait's resolution, recorded once, after the last rung.
    const resolutions = timeline.filter((e) =>
      ['wait_satisfied', 'wait_timed_out'].includes(e.type),
    );
    expect(resolutions.map((e) => e.type)).toEqual(['wait_timed_out']);
    expect(resolutions[0]!.seq).toBeGreaterThan(rungs[2]!.seq);
    const [resolved] = await h.ledger.waits(workId!);
    expect(resolved).toMatchObject({ status: 'timed_out', result: 'no', escalationRung: 2 });

    // The hand-over went out through the outbox, to the on-call address.
    const outbox = await h.db.query<any>('SELECT * FROM "Outbox" WHERE "workId" = $1', [workId]);
    expect(outbox).toHaveLength(1);
    expect(outbox[0]).toMatchObject({ channel: 'nowhere', target: 'oncall' });
    expect(outbox[0].payload).toMatchObject({ kind: 'ask', waitId: wait.id, escalated: true });
  });

  it('an answer after the reminder still wins; later rungs do nothing', async () => {
    const { workId } = await h.worker.control.start('timers.approval', {}, { actor: 'test' });
    const wait = await openHumanWait(workId!);
    await until(
      async () => eventsOfType(await h.ledger.timeline(workId!), 'escalation').length === 1,
      'the reminder',
    );
    await h.worker.control.signal(workId!, 'yes', 'operator:test');
    const done = await h.ledger.untilState(workId!, ['COMPLETED', 'FAILED']);
    expect(done.output).toEqual({ answer: 'yes' });

    // The second rung's timer (armed when the first fired) comes due and finds the wait answered.
    await until(
      async () =>
        Date.now() > wait.createdAt.getTime() + T2 &&
        !(await jobIdsIn(h.prefix, 'wake')).includes(`wait:${wait.id}:1`),
      'the second rung to come due and be handled',
    );
    const timeline = await h.ledger.timeline(workId!);
    expect(eventsOfType(timeline, 'escalation').map((e) => e.data.action)).toEqual(['remind']);
    expect(eventsOfType(timeline, 'wait_satisfied')).toHaveLength(1);
    expect(eventsOfType(timeline, 'wait_timed_out')).toHaveLength(0);
    const [resolved] = await h.ledger.waits(workId!);
    expect(resolved).toMatchObject({ status: 'satisfied', result: 'yes', escalationRung: 1 });
  });

  it('a ladder ending in fail fails the work with a wait timeout, not retried', async () => {
    const { workId } = await h.worker.control.start('timers.strict', {}, { actor: 'test' });
    const wait = await openHumanWait(workId!);
    const failed = await h.ledger.untilState(workId!, ['FAILED', 'COMPLETED']);
    expect(failed.state).toBe('FAILED');
    expect(failed.attempt).toBe(1);
    expect(failed.error).toMatchObject({ name: 'WaitTimeoutError', code: 'wait_timed_out' });
    const timeline: WorkEventRowT[] = await h.ledger.timeline(workId!);
    const rungs = eventsOfType(timeline, 'escalation');
    expect(rungs.map((e) => e.data.action)).toEqual(['remind', 'fail']);
    expect(rungs[1]!.at.getTime()).toBeGreaterThanOrEqual(wait.createdAt.getTime() + 400);
    expect(timeline.at(-1)!.type).toBe('wait_timed_out');
    const [step] = (await h.ledger.steps(workId!)).filter((s) => s.name === 'ask');
    expect(step).toMatchObject({ status: 'failed', error: { code: 'wait_timed_out' } });
  });
});
