import { connect } from 'node:net';

export interface RawAnswer {
  status: number;
  headers: Record<string, string>;
  body: string;
  /** Body bytes the client had written when the answer's status line arrived. */
  bodyBytesSentBeforeAnswer: number;
}

/**
 * One HTTP/1.1 request written byte for byte on a fresh socket, for what fetch() will
 * not send: malformed paths, oversized headers, a body that is declared but withheld
 * (`withhold: true` sends the head and a chunked body that never ends). Resolves with
 * the answer, or rejects after `timeoutMs` without one (a server waiting for a body).
 */
export function rawRequest(
  url: string,
  head: string,
  opts: { body?: Buffer | string; withhold?: boolean; timeoutMs?: number } = {},
): Promise<RawAnswer> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), hostname);
    let received = Buffer.alloc(0);
    let sent = 0;
    let answeredAt: number | undefined;
    const timer = setTimeout(() => {
      socket.destroy();
      reject(
        new Error(
          `no answer within ${opts.timeoutMs ?? 5000} ms (body bytes sent: ${sent}); the server is waiting for the body`,
        ),
      );
    }, opts.timeoutMs ?? 5000);
    const finish = () => {
      clearTimeout(timer);
      const text = received.toString('utf8');
      const split = text.indexOf('\r\n\r\n');
      const [statusLine, ...lines] = text.slice(0, split < 0 ? text.length : split).split('\r\n');
      const headers: Record<string, string> = {};
      for (const line of lines) {
        const i = line.indexOf(':');
        headers[line.slice(0, i).trim().toLowerCase()] = line.slice(i + 1).trim();
      }
      let body = split < 0 ? '' : text.slice(split + 4);
      if (headers['transfer-encoding'] === 'chunked') body = dechunk(body);
      resolve({
        status: Number(statusLine?.split(' ')[1]),
        headers,
        body,
        bodyBytesSentBeforeAnswer: answeredAt ?? sent,
      });
    };
    socket.on('data', (chunk) => {
      answeredAt ??= sent;
      received = Buffer.concat([received, chunk]);
      const text = received.toString('utf8');
      const split = text.indexOf('\r\n\r\n');
      if (split < 0) return;
      const length = /\r\ncontent-length:\s*(\d+)/i.exec(text.slice(0, split));
      if (length && Buffer.byteLength(text.slice(split + 4)) >= Number(length[1])) {
        socket.destroy();
        finish();
      } else if (/\r\ntransfer-encoding:\s*chunked/i.test(text) && text.endsWith('0\r\n\r\n')) {
        socket.destroy();
        finish();
      }
    });
    socket.on('end', () => finish());
    socket.on('error', (err) => (received.length ? finish() : reject(err)));
    socket.on('connect', () => {
      socket.write(head.replace(/\r?\n/g, '\r\n').replace(/(\r\n)*$/, '\r\n\r\n'));
      if (opts.body !== undefined) {
        const bytes = Buffer.isBuffer(opts.body) ? opts.body : Buffer.from(opts.body);
        sent += bytes.length;
        socket.write(bytes);
      }
      if (opts.withhold) {
        // A first chunk of the body, then nothing: the rest never comes.
        socket.write('400\r\n' + 'a'.repeat(0x400) + '\r\n');
        sent += 0x400;
      }
    });
  });
}

function dechunk(body: string): string {
  let out = '';
  let rest = body;
  for (;;) {
    const nl = rest.indexOf('\r\n');
    if (nl < 0) return out;
    const size = parseInt(rest.slice(0, nl), 16);
    if (!size) return out;
    out += rest.slice(nl + 2, nl + 2 + size);
    rest = rest.slice(nl + 2 + size + 2);
  }
}
