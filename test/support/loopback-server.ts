import { createServer, type IncomingMessage, type Server } from 'node:http';
import { type AddressInfo } from 'node:net';

export interface Answer {
  status: number;
  body?: unknown;
  headers?: Record<string, string>;
}

export interface Received {
  method: string;
  path: string;
  headers: IncomingMessage['headers'];
  body: any;
  /** The exact bytes, as text (signatures are over these). */
  raw: string;
  at: number;
  /** The status this server answered. */
  status?: number;
}

/**
 * A small HTTP server on 127.0.0.1 that records every request, for tests to count side
 * effects by idempotency key and to script answers (a 503 now, a 200 later, or one held
 * until the test lets it go: `respond` may return a promise).
 */
export class LoopbackServer {
  readonly received: Received[] = [];
  respond: (req: Received) => Answer | Promise<Answer> = () => ({
    status: 200,
    body: { ok: true },
  });
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
        const text = Buffer.concat(chunks).toString('utf8');
        let body: unknown = text;
        try {
          body = text ? JSON.parse(text) : undefined;
        } catch {
          // keep the text
        }
        const entry: Received = {
          method: req.method ?? 'GET',
          path: req.url ?? '/',
          headers: req.headers,
          body,
          raw: text,
          at: Date.now(),
        };
        this.received.push(entry);
        void Promise.resolve(this.respond(entry)).then((answer) => {
          entry.status = answer.status;
          res.writeHead(answer.status, { 'content-type': 'application/json', ...answer.headers });
          res.end(JSON.stringify(answer.body ?? {}));
        });
      });
    });
    // Keep-alive sockets of a killed client (a worker killed -9) must not hold close() open.
    this.server.keepAliveTimeout = 1_000;
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    return this;
  }

  on(path: string): Received[] {
    return this.received.filter((r) => r.path === path);
  }

  /** Distinct idempotency keys seen on a path: the number of effects actually applied. */
  keys(path: string): Map<string, number> {
    const counts = new Map<string, number>();
    for (const r of this.on(path)) {
      const key = String(r.headers['idempotency-key'] ?? '');
      counts.set(key, (counts.get(key) ?? 0) + 1);
    }
    return counts;
  }

  async stop(): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise<void>((resolve) =>
      this.server ? this.server.close(() => resolve()) : resolve(),
    );
  }
}
