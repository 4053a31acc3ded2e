import { createTestEnv, type TestEnv } from '@workgate/sdk/testing';
import { approval, greet } from '../src/workflows';

// A real PostgreSQL and Redis (DATABASE_URL, REDIS_URL; local defaults otherwise): the
// environment makes a schema and a key prefix of its own and drops them at close().
describe('hello-workgate workflows', () => {
  let env: TestEnv;

  beforeAll(async () => {
    env = await createTestEnv({ workflows: [greet, approval] });
  });

  afterAll(async () => {
    await env?.close();
  });

  it('greets after an hour of pause, in milliseconds of test time', async () => {
    const began = Date.now();
    const id = await env.start('hello-greet', { name: 'ana', pause: '1h' });
    expect(await env.result(id)).toMatchObject({
      state: 'COMPLETED',
      output: { line: 'hello ana' },
    });
    expect(Date.now() - began).toBeLessThan(10_000);
  });

  it('refunds once someone approves', async () => {
    const id = await env.start('hello-approval', { orderId: 'o-1', amount: 12 });
    await env.idle();
    await env.signal(id, 'approve');
    expect(await env.result(id)).toMatchObject({
      state: 'COMPLETED',
      output: { decision: 'approve', refunded: true },
    });
  });

  it('refuses when nobody answers within a day (the clock skips the day)', async () => {
    const id = await env.start('hello-approval', { orderId: 'o-2', amount: 40 });
    expect(await env.result(id)).toMatchObject({
      state: 'COMPLETED',
      output: { decision: 'refuse', refunded: false },
    });
  });

  it('fails for nobody, without retrying', async () => {
    const id = await env.start('hello-greet', { name: 'nobody', pause: '1m' });
    expect(await env.result(id)).toMatchObject({ state: 'FAILED' });
  });
});
