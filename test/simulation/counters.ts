import { LoopbackServer } from '../support/loopback-server';

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
  private readonly server = new LoopbackServer();

  get url(): string {
    return this.server.url;
  }

  /** Each step body's report (POST /effect), in arrival order. */
  get effects(): Effect[] {
    return this.server
      .on('/effect')
      .filter((r) => r.body !== null && typeof r.body === 'object')
      .map((r) => ({ ...(r.body as Omit<Effect, 'at'>), at: r.at }));
  }

  /** Each message delivered to the simulated chat (POST /message), by its key. */
  get messages(): Array<{ key: string; body: unknown; at: number }> {
    return this.server.on('/message').map((r) => ({
      key: String(r.headers['idempotency-key'] ?? r.headers['webhook-id'] ?? ''),
      body: r.body,
      at: r.at,
    }));
  }

  async start(): Promise<this> {
    await this.server.start();
    return this;
  }

  /** Clears what one run recorded (the server is shared by every run of a session). */
  reset(): void {
    this.server.received.length = 0;
  }

  stop(): Promise<void> {
    return this.server.stop();
  }
}
