import { createServer, type Server } from 'node:http';
import { type AddressInfo } from 'node:net';

/**
 * The outside world the simulated workflows touch: a loopback HTTP server that counts
 * every step body's side effect (by idempotency key, with what the step saw) and every
 * message the outbox delivered. It lives in the simulator, outside the system under
 * test, so a crash or a replay inside cannot hide or undo what it recorded.
 */

export interface Effect {
  program: string;
  workId: string;
  name: string;
  key: string;
  attempt: number;
  prev: string;
  pid: number;
  at: number;
}

export class Counters {
  readonly effects: Effect[] = [];
  readonly messages: Array<{ key: string; body: unknown; at: number }> = [];
  private server?: Server;

  get url(): string {
    const { port } = this.server!.address() as AddressInfo;
    return `http://127.0.0.1:${port}`;
  }

  async start(): Promise<this> {
    this.server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        let body: unknown;
        try {
          body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
        } catch {
          body = undefined;
        }
        if (req.url === '/effect' && body && typeof body === 'object') {
          this.effects.push({ ...(body as Omit<Effect, 'at'>), at: Date.now() });
        } else if (req.url === '/message') {
          this.messages.push({
            key: String(req.headers['idempotency-key'] ?? req.headers['webhook-id'] ?? ''),
            body,
            at: Date.now(),
          });
        }
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end('{"ok":true}');
      });
    });
    // Keep-alive sockets from killed workers must not hold close() open.
    this.server.keepAliveTimeout = 1_000;
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    return this;
  }

  /** Clears what one run recorded (the server is shared by every run of a session). */
  reset(): void {
    this.effects.length = 0;
    this.messages.length = 0;
  }

  async stop(): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise<void>((resolve) =>
      this.server ? this.server.close(() => resolve()) : resolve(),
    );
  }
}
