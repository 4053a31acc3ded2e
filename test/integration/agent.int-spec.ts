import { z } from 'zod';
import { costOf, createAssistantWorkflow, defineTool } from '@app/agent';
import { IngestService } from '@app/ledger';
import { createTestSchema, type TestSchema } from '@test/db';
import { correlatedEvent, ledgerOf } from '@test/engine-ledger';
import { testConfig } from '@test/gateway';
import { OpenAiApiServer } from '@test/openai-api';
import { deleteKeys, testQueuePrefix } from '@test/redis';
import { until } from '@test/until';
import { startWorker, type TestWorker } from '@test/worker';

const PRICES = { 'gpt-test': { input: 2.5, output: 10, cached: 1.25 } };

/** Side effects of the custom tools, in this process (the worker runs here too). */
const effects: Array<{ tool: string; args: unknown; key: string; attempt: number }> = [];

const deployTool = defineTool({
  name: 'deploy',
  description: 'Deploy a version to an environment',
  parameters: z.object({ version: z.string(), env: z.enum(['staging', 'production']) }),
  requiresApproval: true,
  async run(args, step) {
    effects.push({ tool: 'deploy', args, key: step.idempotencyKey, attempt: step.attempt });
    return { deployed: true, ...args };
  },
});

const lookupTool = defineTool({
  name: 'lookup',
  description: 'Look a thing up',
  parameters: z.object({ q: z.string() }),
  async run(args, step) {
    effects.push({ tool: 'lookup', args, key: step.idempotencyKey, attempt: step.attempt });
    if (args.q === 'boom') throw new Error('lookup service exploded');
    return { found: `${args.q}!` };
  },
});

/**
 * The assistant workflow in the real worker against a loopback OpenAI server through
 * the real `openai` SDK: tool calls as steps, approvals and denials by signal, budgets,
 * cost records, model failures (429 with retry-after, 500, context length), bad tool
 * calls and throwing tools, and a webhook resuming wait_for_webhook.
 */
describe('assistant workflow (worker + ledger + loopback OpenAI)', () => {
  let db: TestSchema;
  let prefix: string;
  let openai: OpenAiApiServer;
  let worker: TestWorker;
  let ledger: ReturnType<typeof ledgerOf>;

  beforeAll(async () => {
    db = await createTestSchema('agent');
    prefix = testQueuePrefix();
    ledger = ledgerOf(db);
    openai = await new OpenAiApiServer().start();
    const config = testConfig({
      schema: db.schema,
      prefix,
      overrides: {
        worker: { lease: '3s', reconcileEvery: '200ms', concurrency: 4 },
        agent: {
          baseURL: openai.baseURL,
          apiKey: 'sk-test-only',
          model: 'gpt-test',
          prices: PRICES,
          budget: { turns: 3 },
          maxAttempts: 4,
        },
      },
    });
    worker = await startWorker(config, [
      createAssistantWorkflow({ settings: config.agent!, tools: [deployTool, lookupTool] }),
    ]);
  });

  afterAll(async () => {
    await worker?.close();
    await openai?.stop();
    await deleteKeys(prefix);
    await db?.drop();
  });

  beforeEach(() => {
    effects.length = 0;
    openai.requests.length = 0;
  });

  const start = async (text: string) =>
    (await worker.control.start('assistant', { text }, { actor: 'test' })).workId!;

  const untilWait = (workId: string, type: string) =>
    until(
      async () => (await ledger.waits(workId)).find((w) => w.status === 'open' && w.type === type),
      `an open ${type} wait on ${workId}`,
    );

  it('calls tools, asks for approval, records every model call with its cost, and answers', async () => {
    openai.enqueue(
      {
        toolCalls: [{ name: 'lookup', arguments: { q: 'v2' } }],
        usage: { prompt: 1000, completion: 50, cached: 400 },
      },
      {
        toolCalls: [{ name: 'deploy', arguments: { version: 'v2', env: 'staging' } }],
        usage: { prompt: 1200, completion: 30 },
      },
      { content: 'Deployed v2 to staging.', usage: { prompt: 1300, completion: 12 } },
    );
    const workId = await start('deploy v2 to staging');
    const approval = await untilWait(workId, 'human');
    expect(effects.map((e) => e.tool)).toEqual(['lookup']); // deploy waits for the approver
    await worker.control.signal(workId, true, 'operator:test', approval.id);
    const done = await ledger.untilState(workId, 'COMPLETED');
    expect(done.output).toMatchObject({ answer: 'Deployed v2 to staging.', spent: { turns: 3 } });
    expect(effects.map((e) => e.tool)).toEqual(['lookup', 'deploy']);

    // The model saw each tool's result, by tool_call_id.
    const second = openai.completions[1]!.body;
    expect(second.messages.at(-1)).toMatchObject({
      role: 'tool',
      content: JSON.stringify({ found: 'v2!' }),
    });
    expect(second.tools.map((t: any) => t.function.name)).toEqual(
      expect.arrayContaining([
        'ask_human',
        'wait_for_webhook',
        'schedule_wakeup',
        'send_message',
        'deploy',
        'lookup',
      ]),
    );
    expect(openai.completions[2]!.body.messages.at(-1).content).toContain('"deployed":true');

    const calls = await db.query<any>(
      'SELECT * FROM "ModelCall" WHERE "workId" = $1 ORDER BY "createdAt"',
      [workId],
    );
    expect(calls).toHaveLength(3);
    expect(calls[0]).toMatchObject({
      provider: 'openai',
      model: 'gpt-test',
      inputTokens: 1000,
      outputTokens: 50,
      cachedTokens: 400,
      finishReason: 'tool_calls',
    });
    expect(calls[0].promptHash).toMatch(/^[0-9a-f]{64}$/);
    expect(calls[0].toolCalls).toEqual([expect.objectContaining({ name: 'lookup' })]);
    expect(calls[2]).toMatchObject({ finishReason: 'stop', toolCalls: null });
    // Cost totals per work = the price table applied to each call's usage.
    const expected =
      costOf(PRICES, 'gpt-test', { inputTokens: 1000, outputTokens: 50, cachedTokens: 400 }) +
      costOf(PRICES, 'gpt-test', { inputTokens: 1200, outputTokens: 30, cachedTokens: 0 }) +
      costOf(PRICES, 'gpt-test', { inputTokens: 1300, outputTokens: 12, cachedTokens: 0 });
    const [total] = await db.query<any>(
      'SELECT sum("costUsd")::text AS usd FROM "ModelCall" WHERE "workId" = $1',
      [workId],
    );
    expect(Number(total.usd)).toBeCloseTo(expected, 6);
    expect(Number(total.usd)).toBeCloseTo((600 * 2.5 + 400 * 1.25 + 2500 * 2.5 + 92 * 10) / 1e6, 6);

    // Each tool call is its own step with its own idempotency key.
    const steps = await ledger.steps(workId);
    const toolSteps = steps.filter((s) => s.name.startsWith('tool:'));
    expect(toolSteps.map((s) => s.name)).toEqual(['tool:lookup', 'tool:deploy']);
    expect(new Set(effects.map((e) => e.key)).size).toBe(2);
    expect(steps.filter((s) => s.type === 'llm')).toHaveLength(3);
  });

  it('a denied approval goes back to the model as the tool result', async () => {
    openai.enqueue(
      { toolCalls: [{ name: 'deploy', arguments: { version: 'v3', env: 'production' } }] },
      { content: 'The deployment was not approved.' },
    );
    const workId = await start('ship v3 to prod');
    const approval = await untilWait(workId, 'human');
    await worker.control.signal(workId, false, 'operator:test', approval.id);
    const done = await ledger.untilState(workId, 'COMPLETED');
    expect(done.output).toMatchObject({ answer: 'The deployment was not approved.' });
    expect(effects).toEqual([]);
    expect(openai.completions[1]!.body.messages.at(-1)).toMatchObject({
      role: 'tool',
      content: expect.stringContaining('denied'),
    });
  });

  it('a budget passed opens a budget wait; approved, the work continues; denied, it stops politely', async () => {
    const many = (n: number) =>
      Array.from({ length: n }, () => ({ toolCalls: [{ name: 'lookup', arguments: { q: 'x' } }] }));
    openai.enqueue(...many(3), { content: 'Finally done.' });
    const workId = await start('loop a bit');
    const budget = await untilWait(workId, 'budget');
    expect(openai.completions).toHaveLength(3); // turns: 3 reached before the 4th call
    expect((await ledger.work(workId)).waitReason).toBe('budget');
    await worker.control.signal(workId, true, 'operator:test', budget.id);
    const done = await ledger.untilState(workId, 'COMPLETED');
    expect(done.output).toMatchObject({ answer: 'Finally done.', spent: { turns: 4 } });

    openai.requests.length = 0;
    openai.enqueue(...many(3));
    const second = await start('loop again');
    const wait = await untilWait(second, 'budget');
    await worker.control.signal(second, false, 'operator:test', wait.id);
    const stopped = await ledger.untilState(second, 'COMPLETED');
    expect(stopped.output).toMatchObject({ answer: null, stopped: 'budget' });
    expect(openai.completions).toHaveLength(3);
  });

  it('retries 429 (after retry-after) and 500 inside the step; trims the oldest turns on a context-length error', async () => {
    openai.enqueue(
      { kind: 'rate_limit', retryAfterSeconds: 0 },
      { kind: 'server_error', status: 500 },
      { toolCalls: [{ name: 'lookup', arguments: { q: 'a' } }] },
      { kind: 'context_length' },
      { content: 'ok' },
    );
    const workId = await start('hello');
    const done = await ledger.untilState(workId, 'COMPLETED');
    expect(done.output).toMatchObject({ answer: 'ok' });
    expect(openai.requests.map((r) => r.status)).toEqual([429, 500, 200, 400, 200]);
    expect(done.attempt).toBe(1); // retried inside the step, not by failing the work
    const calls = await db.query<any>('SELECT id FROM "ModelCall" WHERE "workId" = $1', [workId]);
    expect(calls).toHaveLength(2);
    // The trimmed request dropped the user's first message (system prompt kept).
    const [before, after] = [openai.requests[3]!.body.messages, openai.requests[4]!.body.messages];
    expect(before.map((m: any) => m.role)).toEqual(['system', 'user', 'assistant', 'tool']);
    expect(after.map((m: any) => m.role)).toEqual(['system', 'assistant', 'tool']);
    const trimmed = (await ledger.timeline(workId)).filter((e) => e.type === 'context_trimmed');
    expect(trimmed).toHaveLength(1);
    expect(trimmed[0]!.data).toMatchObject({ droppedMessages: 1 });
  });

  it('an invalid tool call and a throwing tool are reported to the model, not a crash', async () => {
    openai.enqueue(
      {
        toolCalls: [
          { name: 'lookup', arguments: '{"q": ' },
          { name: 'nope', arguments: {} },
          { name: 'deploy', arguments: { version: 'v1', env: 'moon' } },
          { name: 'lookup', arguments: { q: 'boom' } },
        ],
      },
      { content: 'Sorry, that did not work.' },
    );
    const workId = await start('try things');
    const done = await ledger.untilState(workId, 'COMPLETED');
    expect(done.output).toMatchObject({ answer: 'Sorry, that did not work.' });
    const results = openai.completions[1]!.body.messages.filter((m: any) => m.role === 'tool');
    expect(results.map((m: any) => JSON.parse(m.content).error)).toEqual([
      expect.stringContaining('not valid JSON'),
      expect.stringContaining('unknown tool "nope"'),
      expect.stringContaining('invalid arguments for deploy'),
      expect.stringContaining('lookup service exploded'),
    ]);
  });

  it('a webhook resumes an agent waiting in wait_for_webhook', async () => {
    const key = `ci:${Date.now()}`;
    openai.enqueue(
      { toolCalls: [{ name: 'wait_for_webhook', arguments: { key } }] },
      { content: 'CI passed.' },
    );
    const workId = await start('tell me when CI is done');
    const wait = await untilWait(workId, 'webhook');
    expect(wait.correlationKey).toBe(key);
    const res = await worker.app
      .get(IngestService)
      .ingest(correlatedEvent(key, { status: 'passed' }));
    expect(res.decision).toBe('resumed');
    const done = await ledger.untilState(workId, 'COMPLETED');
    expect(done.output).toMatchObject({ answer: 'CI passed.' });
    expect(openai.completions[1]!.body.messages.at(-1)).toMatchObject({
      role: 'tool',
      content: JSON.stringify({ payload: { status: 'passed' } }),
    });
  });
});
