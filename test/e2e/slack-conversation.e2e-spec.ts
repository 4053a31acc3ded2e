import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { verifyButtonToken } from '@app/security';
import { defineWorkflow } from '@app/engine';
import { FIXTURES as SHARED_FIXTURES } from '@test/paths';
import { createTestSchema, type TestSchema } from '@test/db';
import { ledgerOf } from '@test/engine-ledger';
import { startGateway, testConfig, type TestGateway } from '@test/gateway';
import { post } from '@test/http';
import { deleteKeys, testQueuePrefix } from '@test/redis';
import {
  type SlackApiCall,
  SlackApiServer,
  slackHeaders,
  slackInteractionBody,
} from '@test/slack-api';
import { until } from '@test/until';
import { startWorker, type TestWorker } from '@test/worker';

const FIXTURES = join(SHARED_FIXTURES, 'slack');
const fixture = (name: string) => JSON.parse(readFileSync(join(FIXTURES, name), 'utf8'));

const SIGNING_SECRET = 'e2e-slack-signing-secret-TEST-ONLY';
const BUTTON_SECRET = 'e2e-button-secret-TEST-ONLY-0004';
const BOSS = 'U0BOSS001';
const ALICE = 'U0FAKE01';
const TURNS = 50;

const chatInput = z.object({ text: z.string() }).passthrough();

/** Approval by button, only the boss may answer. */
const approve = defineWorkflow(
  'slack.approve',
  async (ctx, input) => {
    const ok = await ctx.ask<boolean>({
      text: `Ship ${input.text}?`,
      expects: { type: 'boolean' },
      responders: [`slack:T0ACME001:${BOSS}`],
    });
    await ctx.send(ctx.origin.address!, { text: ok ? 'Shipping.' : 'Not shipping.' });
    return { ok };
  },
  { input: chatInput },
);

/** A free-text answer validated against a pattern. */
const count = defineWorkflow(
  'slack.count',
  async (ctx) => ({
    n: await ctx.ask<string>({
      text: 'How many?',
      expects: { type: 'string', pattern: '^[0-9]+$' },
    }),
  }),
  { input: chatInput },
);

/** Fifty questions in one thread, each answered by a reply that resumes the same work. */
const turns = defineWorkflow(
  'slack.turns',
  async (ctx) => {
    const said: string[] = [];
    for (let i = 0; i < TURNS; i++)
      said.push(await ctx.ask<string>({ text: `Turn ${i}?`, expects: { type: 'string' } }));
    return { said };
  },
  { input: chatInput },
);

/** Reminds in its own words, then takes `false` when nobody answers. */
const ladder = defineWorkflow(
  'slack.ladder',
  async (ctx, input) => ({
    ok: await ctx.ask<boolean>({
      text: `Release ${input.text}?`,
      expects: { type: 'boolean' },
      escalation: [
        { after: '300ms', action: 'remind', text: 'Still waiting on this one.' },
        // Late enough that the reminder has been posted (and can lose its buttons too).
        { after: '3s', action: 'default', value: false },
      ],
    }),
  }),
  { input: chatInput },
);

const WORKSPACES = {
  acme: {
    teamId: 'T0ACME001',
    token: 'xoxb-acme',
    workflow: 'slack.approve',
    channel: 'C0ACME001',
  },
  beta: { teamId: 'T0BETA001', token: 'xoxb-beta', workflow: 'slack.count', channel: 'C0BETA001' },
  ladder: {
    teamId: 'T0LADR001',
    token: 'xoxb-ladder',
    workflow: 'slack.ladder',
    channel: 'C0LADR001',
  },
  turns: {
    teamId: 'T0TURN001',
    token: 'xoxb-turns',
    workflow: 'slack.turns',
    channel: 'C0TURN001',
  },
} as const;
type Ws = keyof typeof WORKSPACES;

/**
 * Whole conversations through the real gateway (signed Slack requests), the real
 * worker (workflows, outbox) and the real @slack/web-api client against a loopback
 * Slack: asks rendered as Block Kit, button presses, refusals, re-prompts, "answered
 * by" edits, and a 50-turn thread that keeps resuming one work.
 */
describe('Slack conversations (gateway + worker + outbox + loopback Slack)', () => {
  let db: TestSchema;
  let prefix: string;
  let api: SlackApiServer;
  let gw: TestGateway;
  let worker: TestWorker;
  let ledger: ReturnType<typeof ledgerOf>;
  let n = 0;

  const ts = () => `${Math.floor(Date.now() / 1000)}.${String(++n).padStart(6, '0')}`;

  async function sendEvent(doc: unknown) {
    const body = JSON.stringify(doc);
    const res = await post(`${gw.url}/slack/events`, body, slackHeaders(body, SIGNING_SECRET));
    expect(res.status).toBe(200);
    return res.json.results as Array<{ eventId: string; decision: string; workId: string | null }>;
  }

  function envelope(ws: Ws, event: Record<string, unknown>) {
    const doc = fixture('event-message-thread-reply.json');
    doc.team_id = WORKSPACES[ws].teamId;
    doc.event_id = `Ev0CONV${Date.now()}${++n}`;
    doc.authorizations[0].team_id = WORKSPACES[ws].teamId;
    doc.event = {
      ...doc.event,
      team: WORKSPACES[ws].teamId,
      channel: WORKSPACES[ws].channel,
      ...event,
    };
    return doc;
  }

  /** `@workgate <text>` at the top of the channel: opens a work on a new thread. */
  async function mention(ws: Ws, text: string) {
    const at = ts();
    const doc = envelope(ws, {
      type: 'app_mention',
      text: `<@U0FAKE02> ${text}`,
      ts: at,
      event_ts: at,
    });
    delete doc.event.thread_ts;
    delete doc.event.parent_user_id;
    delete doc.event.channel_type;
    const [result] = await sendEvent(doc);
    return { thread: at, ...result! };
  }

  async function reply(ws: Ws, thread: string, text: string, user = ALICE) {
    const at = ts();
    const [result] = await sendEvent(
      envelope(ws, { type: 'message', text, ts: at, event_ts: at, thread_ts: thread, user }),
    );
    return result!;
  }

  async function press(ws: Ws, prompt: SlackApiCall, label: string, user: string) {
    const buttons = prompt.args.blocks
      .filter((b: any) => b.type === 'actions')
      .flatMap((b: any) => b.elements.map((e: any) => ({ ...e, block_id: b.block_id })));
    const button = buttons.find((b: any) => b.text.text === label);
    const { teamId, channel } = WORKSPACES[ws];
    const doc = fixture('interactivity-block-actions.json');
    doc.user = { id: user, username: 'someone', name: 'someone', team_id: teamId };
    doc.team = { id: teamId, domain: 'acme' };
    doc.channel = { id: channel, name: 'ops' };
    doc.container = {
      type: 'message',
      message_ts: prompt.response.ts,
      channel_id: channel,
      is_ephemeral: false,
      thread_ts: prompt.args.thread_ts,
    };
    doc.message = { ...prompt.response.message, ts: prompt.response.ts };
    doc.actions = [{ ...button, type: 'button', action_ts: ts() }];
    const body = slackInteractionBody(doc);
    const res = await post(
      `${gw.url}/slack/interactivity`,
      body,
      slackHeaders(body, SIGNING_SECRET, { contentType: 'application/x-www-form-urlencoded' }),
    );
    expect(res.status).toBe(200);
  }

  /** The messages posted into a thread, oldest first. */
  const postedIn = (channel: string, thread: string) =>
    api
      .on('chat.postMessage')
      .filter((c) => c.args.channel === channel && c.args.thread_ts === thread && c.status === 200);

  const untilPosted = (channel: string, thread: string, count: number, what: string) =>
    until(() => {
      const posted = postedIn(channel, thread);
      return posted.length >= count ? posted[count - 1] : null;
    }, what);

  beforeAll(async () => {
    db = await createTestSchema('slack_conv');
    prefix = testQueuePrefix();
    ledger = ledgerOf(db);
    api = await new SlackApiServer().start();
    for (const ws of Object.values(WORKSPACES))
      api.tokens.set(ws.token, { teamId: ws.teamId, team: ws.teamId });
    const config = testConfig({
      schema: db.schema,
      prefix,
      overrides: {
        worker: { lease: '5s', reconcileEvery: '300ms', concurrency: 4 },
        // The 50-turn thread is a script answering as fast as it can, not a person.
        chat: { buttonSecrets: [BUTTON_SECRET], rateLimit: { messages: 0 } },
        slack: {
          apiUrl: api.url,
          workspaces: Object.fromEntries(
            Object.entries(WORKSPACES).map(([name, ws]) => [
              name,
              {
                teamId: ws.teamId,
                botToken: ws.token,
                signingSecret: SIGNING_SECRET,
                workflow: ws.workflow,
                ...(name === 'beta' ? { description: 'I count things for you.' } : {}),
              },
            ]),
          ),
        },
      },
    });
    gw = await startGateway(config);
    // The worker registers its own Slack sender (apps/worker outboundSenders).
    worker = await startWorker(config, [approve, count, turns, ladder]);
  });

  afterAll(async () => {
    await worker?.close();
    await gw?.close();
    await api?.stop();
    await deleteKeys(prefix);
    await db?.drop();
  });

  it('an approval with buttons: a refusal for the wrong person, the boss approves, the prompt says who', async () => {
    const { channel } = WORKSPACES.acme;
    const opened = await mention('acme', 'v1.2');
    expect(opened).toMatchObject({ decision: 'opened' });
    const prompt = await untilPosted(
      channel,
      opened.thread,
      1,
      'the approval prompt in the thread',
    );
    expect(prompt.args.text).toBe('Ship v1.2?');
    const values = prompt.args.blocks
      .filter((b: any) => b.type === 'actions')
      .flatMap((b: any) => b.elements.map((e: any) => verifyButtonToken(e.value, [BUTTON_SECRET])));
    expect(values).toEqual([
      expect.objectContaining({ kind: 'answer', choice: 0 }),
      expect.objectContaining({ kind: 'answer', choice: 1 }),
    ]);

    // Alice may not answer: told privately, the wait stays open.
    await press('acme', prompt, 'Approve', ALICE);
    await until(
      () =>
        api
          .on('chat.postEphemeral')
          .find((c) => c.args.user === ALICE && /only/i.test(c.args.text)),
      'a private refusal for Alice',
    );
    expect((await ledger.work(opened.workId!)).state).toBe('WAITING');

    await press('acme', prompt, 'Approve', BOSS);
    const done = await ledger.untilState(opened.workId!, 'COMPLETED', 20_000);
    expect(done.output).toEqual({ ok: true });
    const edit = await until(
      () => api.on('chat.update').find((c) => c.args.ts === prompt.response.ts),
      'the prompt to be edited',
    );
    expect(edit.args.blocks.some((b: any) => b.type === 'actions')).toBe(false);
    expect(edit.args.text).toBe(`Ship v1.2?\n✅ answered by <@${BOSS}>: Approve`);
    await untilPosted(channel, opened.thread, 2, '"Shipping." in the thread');
    expect(postedIn(channel, opened.thread)[1]!.args.text).toBe('Shipping.');

    // A second click on the answered question changes nothing; the presser is told.
    await press('acme', prompt, 'Reject', BOSS);
    await until(
      () =>
        api
          .on('chat.postEphemeral')
          .find((c) => c.args.user === BOSS && /already answered/.test(c.args.text)),
      '"already answered" for the second click',
    );
    expect((await ledger.work(opened.workId!)).output).toEqual({ ok: true });
  });

  it('a free-text answer that does not fit is re-prompted; a valid one resumes the work', async () => {
    const { channel } = WORKSPACES.beta;
    const opened = await mention('beta', 'count the servers');
    const prompt = await untilPosted(channel, opened.thread, 1, 'the question');
    expect(prompt.args.blocks.some((b: any) => b.type === 'actions')).toBe(false);
    expect(JSON.stringify(prompt.args.blocks)).toContain('Reply in this thread to answer.');

    expect(await reply('beta', opened.thread, 'a dozen')).toMatchObject({
      decision: 'rejected',
      workId: opened.workId,
    });
    const again = await untilPosted(channel, opened.thread, 2, 'the re-prompt');
    expect(again.args.text).toMatch(/doesn't fit/);
    expect((await ledger.work(opened.workId!)).state).toBe('WAITING');

    // `@workgate status` in the thread is answered by the gateway, in the thread.
    const at = ts();
    const [status] = await sendEvent(
      envelope('beta', {
        type: 'app_mention',
        text: '<@U0FAKE02> status',
        ts: at,
        event_ts: at,
        thread_ts: opened.thread,
      }),
    );
    expect(status).toMatchObject({ decision: 'command' });
    const answer = await untilPosted(channel, opened.thread, 3, 'the /status answer');
    expect(answer.args.text).toContain('slack.count');
    expect(answer.args.text).toContain('waiting');

    // `@workgate help` alone: what the app does and the words to type, in the thread.
    const asked = ts();
    const [help] = await sendEvent(
      envelope('beta', {
        type: 'app_mention',
        text: '<@U0FAKE02> help',
        ts: asked,
        event_ts: asked,
        thread_ts: opened.thread,
      }),
    );
    expect(help).toMatchObject({ decision: 'command', workId: null });
    const helpText = (await untilPosted(channel, opened.thread, 4, 'the help answer')).args.text;
    expect(helpText).toContain('I count things for you.');
    expect(helpText).toContain('`status`');
    expect(helpText).toContain('`forget`');

    expect(await reply('beta', opened.thread, '12')).toMatchObject({
      decision: 'resumed',
      workId: opened.workId,
    });
    const done = await ledger.untilState(opened.workId!, 'COMPLETED', 20_000);
    expect(done.output).toEqual({ n: '12' });
  });

  it('a typed "y" in the thread answers a yes/no question, as the Approve button would', async () => {
    const { channel } = WORKSPACES.acme;
    const opened = await mention('acme', 'v2.0');
    await untilPosted(channel, opened.thread, 1, 'the approval prompt');
    expect(await reply('acme', opened.thread, 'y', BOSS)).toMatchObject({
      decision: 'resumed',
      workId: opened.workId,
    });
    expect((await ledger.untilState(opened.workId!, 'COMPLETED', 20_000)).output).toEqual({
      ok: true,
    });
    const edit = await until(
      () => api.on('chat.update').find((c) => /v2\.0/.test(c.args.text)),
      'the prompt to say who answered',
    );
    expect(edit.args.text).toBe(`Ship v2.0?\n✅ answered by <@${BOSS}>: Approve`);
  });

  it('a reminder says so, in the workflow’s words; the expired question and reminder lose their buttons', async () => {
    const { channel } = WORKSPACES.ladder;
    const opened = await mention('ladder', 'v3');
    const prompt = await untilPosted(channel, opened.thread, 1, 'the question');
    const reminder = await untilPosted(channel, opened.thread, 2, 'the reminder');
    expect(reminder.args.text).toBe('Reminder: Still waiting on this one.');
    expect(reminder.args.blocks.some((b: any) => b.type === 'actions')).toBe(true);
    expect((await ledger.untilState(opened.workId!, 'COMPLETED', 20_000)).output).toEqual({
      ok: false,
    });
    for (const [posted, text] of [
      [prompt, 'Release v3?'],
      [reminder, 'Still waiting on this one.'],
    ] as const) {
      const edit = await until(
        () => api.on('chat.update').find((c) => c.args.ts === posted.response.ts),
        `message ${posted.response.ts} to expire`,
      );
      expect(edit.args.text).toBe(`${text}\n⌛ Expired: no answer in time.`);
      expect(edit.args.blocks.some((b: any) => b.type === 'actions')).toBe(false);
    }
  });

  it(`a ${TURNS}-turn thread resumes the same work every time`, async () => {
    const { channel } = WORKSPACES.turns;
    const opened = await mention('turns', 'let us talk');
    for (let i = 0; i < TURNS; i++) {
      const prompt = await untilPosted(channel, opened.thread, i + 1, `turn ${i}'s question`);
      expect(prompt.args.text).toBe(`Turn ${i}?`);
      const result = await reply('turns', opened.thread, `answer ${i}`);
      expect(result).toMatchObject({ decision: 'resumed', workId: opened.workId });
    }
    const done = await ledger.untilState(opened.workId!, 'COMPLETED', 20_000);
    expect(done.output.said).toEqual(Array.from({ length: TURNS }, (_v, i) => `answer ${i}`));
    const [row] = await db.query<{ works: number }>(
      `SELECT count(*)::int AS works FROM "Work" WHERE "conversationKey" = $1`,
      [`slack:turns:${channel}:${opened.thread}`],
    );
    expect(row!.works).toBe(1);
  }, 180_000);
});
