import { createServer, request, type Server } from 'node:http';
import { connect, type AddressInfo } from 'node:net';
import { IdleConnectionReaper } from './idle-connection-reaper';

const closed = (server: Server) => new Promise<void>((resolve) => server.close(() => resolve()));

describe(IdleConnectionReaper.name, () => {
  it('lets the listener close past a connection that never sent a request, answering the one in flight', async () => {
    let answer: (() => void) | undefined;
    const server = createServer((_req, res) => {
      answer = () => res.end('done');
    });
    const reaper = new IdleConnectionReaper(server);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;

    // Opened and never used: Node's close() alone waits for it forever.
    const unused = connect(port, '127.0.0.1');
    const unusedClosed = new Promise<void>((resolve) => unused.once('close', () => resolve()));
    unused.on('error', () => undefined);
    await new Promise<void>((resolve) => unused.once('connect', () => resolve()));

    // A request in flight when the close begins.
    const inFlight = new Promise<string>((resolve, reject) => {
      const req = request({ host: '127.0.0.1', port, path: '/' }, (res) => {
        let text = '';
        res.on('data', (c: Buffer) => (text += c.toString()));
        res.on('end', () => resolve(text));
      });
      req.on('error', reject);
      req.end();
    });
    await new Promise<void>((resolve) => {
      const check = () => (answer !== undefined ? resolve() : setImmediate(check));
      check();
    });

    reaper.start(10);
    const serverClosed = closed(server);
    await unusedClosed;
    answer!();
    expect(await inFlight).toBe('done');
    await serverClosed;
    reaper.stop();
  });
});
