import { z } from 'zod';
import { costOf, createAssistantWorkflow, defineTool } from '@app/agent';
import { createTestSchema, type TestSchema } from '@test/db';
import { ledgerOf } from '@test/engine-ledger';
import { testConfig } from '@test/gateway';
import { OpenAiApiServer } from '@test/openai-api';
import { deleteKeys, testQueuePrefix } from '@test/redis';
import { until } from '@test/until';
import { startWorker, type TestWorker } from '@test/worker';

const PRICES = { 'gpt-test': { input: 2.5, output: 10, cached: 1.25 } };

const effects: Array<{ tool: string; args: unknown }> = [];

const lookupTool = defineTool({
  name: 'lookup',
  description: 'Look a thing up',
  parameters: z.object({ q: z.string() }),
  async run(args) {
    effects.push({ tool: 'lookup', args });
    return { found: `${args.q}!` };
  },
});

const deployTool = defineTool({
  name: 'deploy',
  description: 'Deploy a version to an environment',
  parameters: z.object({ version: z.string(), env: z.enum(['staging', 'production']) }),
  requiresApproval: true,
  async run(args) {
    effects.push({ tool: 'deploy', args });
    return { deployed: true };
  },
});

/**
 * The assistant with `agent.api: responses`: the real `openai` SDK's responses.create
 * against the loopback server's POST /v1/responses — tool calls as function_call items,
 * their results sent back as function_call_output items by call_id, an approval, cost
 * totals from the Responses usage, and a 429 retried inside the step.
 */
describe('assistant workflow over the Responses API (worker + ledger + loopback OpenAI)', () => {
  let db: TestSchema;
  let prefix: string;
  let openai: OpenAiApiServer;
  let worker: TestWorker;
  let ledger: ReturnType<typeof ledgerOf>;

  beforeAll(async () => {
    db = await createTestSchema('agent_responses');
    prefix = testQueuePrefix();
    ledger = ledgerOf(db);
    openai = await new OpenAiApiServer().start();
    const config = testConfig({
      schema: db.schema,
      prefix,
      overrides: {
        worker: { lease: '3s', reconcileEvery: '200ms', concurrency: 4 },
        agent: {
          api: 'responses',
          baseURL: openai.baseURL,
          apiKey: 'sk-test-only',
          model: 'gpt-test',
          system: 'You are the test assistant.',
          prices: PRICES,
          maxAttempts: 3,
        },
      },
    });
    worker = await startWorker(config, [
      createAssistantWorkflow({ settings: config.agent!, tools: [lookupTool, deployTool] }),
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

  it('runs tools from function_call items, asks for approval, and records each call with its cost', async () => {
    openai.enqueue(
      {
        toolCalls: [{ id: 'call_lookup', name: 'lookup', arguments: { q: 'v2' } }],
        usage: { prompt: 1000, completion: 50, cached: 400 },
      },
      {
        content: 'Deploying now.',
        toolCalls: [
          { id: 'call_deploy', name: 'deploy', arguments: { version: 'v2', env: 'staging' } },
        ],
        usage: { prompt: 1200, completion: 30 },
      },
      { content: 'Deployed v2 to staging.', usage: { prompt: 1300, completion: 12 } },
    );
    const workId = await start('deploy v2 to staging');
    const approval = await until(
      async () =>
        (await ledger.waits(workId)).find((w) => w.status === 'open' && w.type === 'human'),
      'an open approval wait',
    );
    expect(effects.map((e) => e.tool)).toEqual(['lookup']);
    await worker.control.signal(workId, true, 'operator:test', approval.id);
    const done = await ledger.untilState(workId, 'COMPLETED');
    expect(done.output).toMatchObject({ answer: 'Deployed v2 to staging.', spent: { turns: 3 } });
    expect(effects.map((e) => e.tool)).toEqual(['lookup', 'deploy']);

    // Every call went to /v1/responses, stateless, with the system prompt as instructions.
    expect(openai.requests.map((r) => r.path)).toEqual(Array(3).fill('/v1/responses'));
    const [first, second, third] = openai.completions.map((r) => r.body);
    expect(first).toMatchObject({
      model: 'gpt-test',
      instructions: 'You are the test assistant.',
      store: false,
      input: [{ role: 'user', content: 'deploy v2 to staging' }],
    });
    expect(first.tools).toEqual(
      expect.arrayContaining([
        {
          type: 'function',
          name: 'lookup',
          description: 'Look a thing up',
          parameters: expect.objectContaining({ type: 'object' }),
          strict: false,
        },
      ]),
    );
    // The model's call and our result are joined by call_id.
    expect(second.input.slice(1)).toEqual([
      { type: 'function_call', call_id: 'call_lookup', name: 'lookup', arguments: '{"q":"v2"}' },
      {
        type: 'function_call_output',
        call_id: 'call_lookup',
        output: JSON.stringify({ found: 'v2!' }),
      },
    ]);
    expect(third.input.slice(3)).toEqual([
      { role: 'assistant', content: 'Deploying now.' },
      {
        type: 'function_call',
        call_id: 'call_deploy',
        name: 'deploy',
        arguments: '{"version":"v2","env":"staging"}',
      },
      {
        type: 'function_call_output',
        call_id: 'call_deploy',
        output: JSON.stringify({ deployed: true }),
      },
    ]);

    const calls = await db.query<any>(
      'SELECT * FROM "ModelCall" WHERE "workId" = $1 ORDER BY "createdAt"',
      [workId],
    );
    expect(calls.map((c: any) => c.finishReason)).toEqual(['tool_calls', 'tool_calls', 'stop']);
    expect(calls[0]).toMatchObject({
      provider: 'openai',
      model: 'gpt-test',
      inputTokens: 1000,
      outputTokens: 50,
      cachedTokens: 400,
    });
    expect(calls[0].toolCalls).toEqual([
      expect.objectContaining({ id: 'call_lookup', name: 'lookup' }),
    ]);
    const [total] = await db.query<any>(
      'SELECT sum("costUsd")::text AS usd FROM "ModelCall" WHERE "workId" = $1',
      [workId],
    );
    expect(Number(total.usd)).toBeCloseTo(
      costOf(PRICES, 'gpt-test', { inputTokens: 1000, outputTokens: 50, cachedTokens: 400 }) +
        costOf(PRICES, 'gpt-test', { inputTokens: 1200, outputTokens: 30, cachedTokens: 0 }) +
        costOf(PRICES, 'gpt-test', { inputTokens: 1300, outputTokens: 12, cachedTokens: 0 }),
      6,
    );
    expect(Number(total.usd)).toBeCloseTo((600 * 2.5 + 400 * 1.25 + 2500 * 2.5 + 92 * 10) / 1e6, 6);
  });

  it('retries a 429 inside the step after its retry-after, then answers', async () => {
    openai.enqueue({ kind: 'rate_limit', retryAfterSeconds: 0 }, { content: 'ok' });
    const workId = await start('hello');
    const done = await ledger.untilState(workId, 'COMPLETED');
    expect(done.output).toMatchObject({ answer: 'ok', spent: { turns: 1 } });
    expect(done.attempt).toBe(1);
    expect(openai.requests.map((r) => [r.path, r.status])).toEqual([
      ['/v1/responses', 429],
      ['/v1/responses', 200],
    ]);
    const calls = await db.query<any>(
      'SELECT "finishReason" FROM "ModelCall" WHERE "workId" = $1',
      [workId],
    );
    expect(calls).toEqual([{ finishReason: 'stop' }]);
  });

  it('records a reply cut short at the output limit as finish reason length', async () => {
    openai.enqueue({ content: 'A long answer that was cut', truncated: true });
    const workId = await start('write an essay');
    const done = await ledger.untilState(workId, 'COMPLETED');
    expect(done.output).toMatchObject({ answer: 'A long answer that was cut' });
    const [call] = await db.query<any>(
      'SELECT "finishReason" FROM "ModelCall" WHERE "workId" = $1',
      [workId],
    );
    expect(call.finishReason).toBe('length');
  });
});
