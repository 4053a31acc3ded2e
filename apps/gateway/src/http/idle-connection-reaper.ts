import { type Server } from 'node:http';
import { type Socket } from 'node:net';

/**
 * Closes the gateway's connections that carry no request while it shuts down, so the
 * listener's close ends once the requests in flight are answered. Node's server.close()
 * only destroys keep-alive connections it knows as idle (a response sent, nothing since);
 * a connection opened and never used — load balancers and HTTP clients open them ahead
 * of time — is neither idle nor busy to it, and holds close() open until the grace
 * period kills the process (exit 1, every in-flight request cut). Requests are counted
 * per connection from 'request' to the response's 'close'; a connection at zero is
 * destroyed at each pass. A request that reaches a connection in the instant it is
 * destroyed gets no answer at all, which a client treats as a refusal (never as a 2xx).
 */
export class IdleConnectionReaper {
  private readonly inFlight = new Map<Socket, number>();
  private timer?: NodeJS.Timeout;

  constructor(server: Server) {
    server.on('connection', (socket: Socket) => {
      this.inFlight.set(socket, 0);
      socket.once('close', () => this.inFlight.delete(socket));
    });
    server.on('request', (req, res) => {
      const socket = req.socket;
      this.inFlight.set(socket, (this.inFlight.get(socket) ?? 0) + 1);
      res.once('close', () => {
        if (this.inFlight.has(socket))
          this.inFlight.set(socket, Math.max(0, (this.inFlight.get(socket) ?? 1) - 1));
      });
    });
  }

  /** From now until `stop`, every `everyMs` (and at once) destroys the connections without a request. */
  start(everyMs = 100): void {
    if (this.timer) return;
    const reap = () => {
      for (const [socket, n] of this.inFlight) if (n === 0) socket.destroy();
    };
    reap();
    this.timer = setInterval(reap, everyMs);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }
}
