import { createServer, type Server } from 'node:http';
import {
  Inject,
  Injectable,
  type OnApplicationBootstrap,
  type OnApplicationShutdown,
  Optional,
} from '@nestjs/common';
import { APP_CONFIG, type AppConfig, LOGGER, type Logger } from '@app/config';
import { LedgerDatabase } from '@app/ledger';
import { closeNow, listenOn, ProcessHealth, probeDependency } from '@app/observability';
import { type RedisClient } from '../queues/redis-connection';
import { REDIS } from '../queues/redis.module';

/**
 * The worker's /health/live and /health/ready (the gateway's paths and answers) on a
 * tiny node:http listener at worker.healthPort, 0 = off: the worker has no HTTP server,
 * and Kubernetes' probes need one. Ready means PostgreSQL and Redis answer and the
 * worker is not draining; live only that the event loop answers. Unlike /metrics, a
 * port that is taken stops the worker: a probe that cannot reach it would restart the
 * pod forever, which is worse than failing at start where the operator sees why.
 */
@Injectable()
export class WorkerHealthListener implements OnApplicationBootstrap, OnApplicationShutdown {
  private server: Server | null = null;

  constructor(
    private readonly db: LedgerDatabase,
    @Inject(REDIS) private readonly redis: RedisClient,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    @Inject(LOGGER) private readonly logger: Logger,
    @Optional() private readonly health: ProcessHealth = new ProcessHealth(),
  ) {}

  /** Where it listens (null when off), e.g. for tests: `http://host:port`. */
  get url(): string | null {
    const address = this.server?.address();
    return address && typeof address === 'object'
      ? `http://${address.family === 'IPv6' ? `[${address.address}]` : address.address}:${address.port}`
      : null;
  }

  async onApplicationBootstrap(): Promise<void> {
    const { healthPort: port, healthHost: host } = this.config.worker;
    if (port === 0) return;
    const server = createServer((req, res) => {
      const path = (req.url ?? '/').split('?')[0];
      const send = (status: number, body: unknown) => {
        res
          .writeHead(status, { 'content-type': 'application/json' })
          .end(req.method === 'HEAD' ? undefined : JSON.stringify(body));
      };
      if (req.method !== 'GET' && req.method !== 'HEAD')
        res.writeHead(405, { allow: 'GET, HEAD' }).end();
      else if (path === '/health/live') send(200, { status: 'ok' });
      else if (path !== '/health/ready') send(404, { status: 'not found' });
      else void this.readiness().then(({ ok, body }) => send(ok ? 200 : 503, body));
    });
    await listenOn(server, port, host);
    this.server = server;
    this.logger.info({ url: this.url }, 'worker health listening');
  }

  private async readiness() {
    const [postgres, redis] = await Promise.all([
      probeDependency(() => this.db.ping(), 2_000),
      probeDependency(() => this.redis.ping(), 2_000),
    ]);
    return this.health.readiness({ postgres, redis });
  }

  async onApplicationShutdown(): Promise<void> {
    const server = this.server;
    this.server = null;
    await closeNow(server);
  }
}
