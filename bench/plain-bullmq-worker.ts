import { Worker } from 'bullmq';
import { Redis } from 'ioredis';

/**
 * The baseline: a plain BullMQ worker on the same Redis, with the same concurrency, whose
 * processor does nothing. The durable engine's figures are read against this one.
 */
const [queueName, prefix, concurrency] = process.argv.slice(2);
const connection = new Redis(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379', {
  maxRetriesPerRequest: null,
});
const worker = new Worker(queueName!, async () => 1, {
  connection,
  prefix,
  concurrency: Number(concurrency),
  removeOnComplete: { count: 1_000_000 },
});
worker.on('ready', () => console.log(JSON.stringify({ msg: 'plain worker ready' })));
process.on('SIGTERM', () => {
  void worker.close().then(() => process.exit(0));
});
