import { type Server } from 'node:http';

/**
 * The worker's small HTTP listeners (metrics, health) start and stop the same way:
 * `listen` rejects on EADDRINUSE and the like instead of emitting an error nobody hears.
 */
export function listenOn(server: Server, port: number, host: string): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
}

/** Closes at once: a scraper's or a probe's keep-alive connection must not hold shutdown. */
export async function closeNow(server: Server | null): Promise<void> {
  if (!server) return;
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
}
