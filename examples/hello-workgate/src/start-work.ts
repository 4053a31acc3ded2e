import { WorkgateClient } from '@workgate/sdk/client';

// Starts a greeting through the gateway's API and prints its result.
// WORKGATE_URL: the gateway; WORKGATE_TOKEN: an operator token (`workgate tokens create`).
async function main(): Promise<void> {
  const url = process.env.WORKGATE_URL ?? 'http://127.0.0.1:3000';
  const token = process.env.WORKGATE_TOKEN;
  if (!token) throw new Error('set WORKGATE_TOKEN to an operator token');
  const client = new WorkgateClient({ url, token });
  const name = process.argv[2] ?? 'world';
  const { work } = await client.start('hello-greet', { name, pause: '200ms' });
  const result = await client.waitForResult(work.id, 60_000);
  console.log(JSON.stringify({ workId: work.id, state: result.state, output: result.output }));
  if (result.state !== 'COMPLETED') process.exitCode = 1;
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
