import { join } from 'node:path';
import { type INestApplicationContext } from '@nestjs/common';
import { EngineControl } from '@app/engine';
import { createTestSchema, type TestSchema } from '@test/db';
import { TEST_DATABASE_URL, TEST_REDIS_URL } from '@test/env';
import { workerStarted, writeWorkerConfig } from '@test/fault-harness';
import { testConfig } from '@test/gateway';
import { createLedgerContext } from '@test/ledger';
import { LoopbackServer } from '@test/loopback-server';
import { OpenAiApiServer } from '@test/openai-api';
import { DIST } from '@test/paths';
import { type AppProcess, spawnApp } from '@test/processes';
import { deleteKeys, testQueuePrefix } from '@test/redis';
import { until } from '@test/until';

const AGENT_WORKFLOWS = join(DIST, 'test', 'support', 'workflows', 'agent-fault.workflows.js');

/**
 * kill -9 between a model call and the tool it asked for: the model's response is
 * recorded (its step and ModelCall), the tool's step has started but done nothing. The
 * next worker replays the model call from the record — the model is not called again —
 * and the tool runs to completion once.
 */
describe('an agent worker killed between a model call and its tool', () => {
  let db: TestSchema;
  let prefix: string;
  let openai: OpenAiApiServer;
  let server: LoopbackServer;
  let ctx: INestApplicationContext;
  const workers: AppProcess[] = [];

  beforeAll(async () => {
    db = await createTestSchema('agent_kill');
    prefix = testQueuePrefix();
    openai = await new OpenAiApiServer().start();
    server = await new LoopbackServer().start();
    ctx = await createLedgerContext(testConfig({ schema: db.schema, prefix }));
  });

  afterAll(async () => {
    for (const w of workers) await w.stop('SIGKILL');
    await ctx?.close();
    await openai?.stop();
    await server?.stop();
    await deleteKeys(prefix);
    await db?.drop();
  });

  const spawn = (configPath: string, name: string) => {
    const w = spawnApp('worker', {
      DATABASE_URL: TEST_DATABASE_URL,
      WORKGATE_DB_SCHEMA: db.schema,
      REDIS_URL: TEST_REDIS_URL,
      WORKGATE_QUEUE_PREFIX: prefix,
      WORKGATE_CONFIG: configPath,
      WORKGATE_WORKFLOWS: AGENT_WORKFLOWS,
      WORKER_ID: name,
      LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'info',
    });
    workers.push(w);
    return w;
  };

  it('does not call the model again, and the tool runs once', async () => {
    const configPath = writeWorkerConfig({
      lease: '2s',
      reconcileEvery: '250ms',
      extra: [
        'agent:',
        `  baseURL: ${openai.baseURL}`,
        '  apiKey: sk-test-only',
        '  model: gpt-test',
        '  prices: { gpt-test: { input: 1, output: 2 } }',
      ].join('\n'),
    });
    openai.enqueue(
      { toolCalls: [{ name: 'effect', arguments: { url: server.url, hang: true } }] },
      { content: 'Effect applied.' },
    );
    const a = spawn(configPath, 'agent-a');
    await workerStarted(a);
    const started = await ctx
      .get(EngineControl, { strict: false })
      .start('fault.assistant', { text: 'apply the effect' }, { actor: 'test' });
    const workId = started.workId!;
    await until(() => server.on('/reached').length === 1, 'the tool step to be reached');
    const [recorded] = await db.query<any>(
      `SELECT count(*)::int AS n FROM "ModelCall" WHERE "workId" = $1`,
      [workId],
    );
    expect(recorded.n).toBe(1); // the model call is on record before the kill
    a.child.kill('SIGKILL');
    await a.exited;

    const b = spawn(configPath, 'agent-b');
    await until(
      async () =>
        (await db.query<any>('SELECT state FROM "Work" WHERE id = $1', [workId]))[0]?.state ===
        'COMPLETED',
      'the work to complete on worker b',
      30_000,
    );
    expect(b.child.exitCode).toBeNull();

    // Two model calls in all: the first one was never repeated, the second is the final answer.
    expect(openai.completions).toHaveLength(2);
    expect(openai.completions[1]!.body.messages.at(-1)).toMatchObject({ role: 'tool' });
    expect(server.on('/effect')).toHaveLength(1);
    expect(server.on('/effect')[0]!.body).toMatchObject({ attempt: 2 });
    const calls = await db.query<any>(
      'SELECT "stepId" FROM "ModelCall" WHERE "workId" = $1 ORDER BY "createdAt"',
      [workId],
    );
    expect(calls).toHaveLength(2);
    const steps = await db.query<any>(
      'SELECT name, type, status, attempt, "workerId" FROM "Step" WHERE "workId" = $1 ORDER BY seq',
      [workId],
    );
    const llm = steps.filter((s: any) => s.type === 'llm');
    expect(llm[0]).toMatchObject({ status: 'completed', attempt: 1, workerId: 'agent-a' });
    expect(steps.find((s: any) => s.name === 'tool:effect')).toMatchObject({
      status: 'completed',
      attempt: 2,
      workerId: 'agent-b',
    });
    const [work] = await db.query<any>('SELECT output FROM "Work" WHERE id = $1', [workId]);
    expect(work.output).toMatchObject({ answer: 'Effect applied.' });
  });
});
