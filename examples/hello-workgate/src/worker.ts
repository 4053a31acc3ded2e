import { createWorker, migrate } from '@workgate/sdk';
import { lookupOrder } from './tools';
import { workflows } from './workflows';

// DATABASE_URL, REDIS_URL (and WORKGATE_DB_SCHEMA, WORKGATE_QUEUE_PREFIX) come from the environment.
async function main(): Promise<void> {
  await migrate();
  const worker = await createWorker({ workflows, tools: [lookupOrder] });
  console.log(`hello-workgate worker ready (concurrency ${worker.config.worker.concurrency})`);
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
