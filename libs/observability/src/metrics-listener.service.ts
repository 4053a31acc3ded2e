import { closeNow, listenOn } from './small-listener';
import { createServer, type Server } from 'node:http';
import {
  Inject,
  Injectable,
  type OnApplicationBootstrap,
  type OnApplicationShutdown,
} from '@nestjs/common';
import { APP_CONFIG, type AppConfig, LOGGER, type Logger } from '@app/config';
import { PromMetrics } from './prom-metrics';

/**
 * The worker has no HTTP server of its own, so /metrics gets a tiny node:http listener
 * on `worker.metricsPort` (0 = none). A port that is taken is logged as an error and
 * the worker runs on without it: a second replica on the same host must not stop
 * processing work over its metrics (give each replica its own WORKER_METRICS_PORT).
 */
@Injectable()
export class MetricsListener implements OnApplicationBootstrap, OnApplicationShutdown {
  private server: Server | null = null;

  constructor(
    private readonly metrics: PromMetrics,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {}

  /** Where it listens (null when off or not started), e.g. for tests. */
  get url(): string | null {
    const address = this.server?.address();
    return address && typeof address === 'object'
      ? `http://${address.family === 'IPv6' ? `[${address.address}]` : address.address}:${address.port}/metrics`
      : null;
  }

  async onApplicationBootstrap(): Promise<void> {
    const { metricsPort: port, metricsHost: host } = this.config.worker;
    if (port === 0) return;
    const server = createServer((req, res) => {
      const path = (req.url ?? '/').split('?')[0];
      if (req.method !== 'GET' && req.method !== 'HEAD') {
        res.writeHead(405, { allow: 'GET, HEAD' }).end();
        return;
      }
      if (path !== '/metrics') {
        res.writeHead(404, { 'content-type': 'text/plain' }).end('not found; try /metrics\n');
        return;
      }
      this.metrics.scrape().then(
        (text) => {
          res.writeHead(200, { 'content-type': this.metrics.contentType });
          res.end(req.method === 'HEAD' ? undefined : text);
        },
        (err: Error) => {
          this.logger.error({ err: err.message }, 'metrics scrape failed');
          res.writeHead(500, { 'content-type': 'text/plain' }).end('scrape failed\n');
        },
      );
    });
    try {
      await listenOn(server, port, host);
      this.server = server;
      this.logger.info({ url: this.url }, 'worker metrics listening');
    } catch (err) {
      this.logger.error(
        { err: (err as Error).message, port, host },
        'worker metrics listener could not start (set worker.metricsPort or WORKER_METRICS_PORT; 0 = off); the worker runs without it',
      );
    }
  }

  async onApplicationShutdown(): Promise<void> {
    const server = this.server;
    this.server = null;
    await closeNow(server);
  }
}
