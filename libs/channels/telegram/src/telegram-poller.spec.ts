import { createLogger, loadConfig } from '@app/config';
import { type CursorLease, type StoredCursor } from '@app/core';
import { type TelegramUpdate } from './telegram-payloads';
import { TelegramPoller, type TelegramPollerDeps } from './telegram-poller';

/** The cursor table and the lock as plain memory: the poller's own port, not a mocked library. */
class MemoryLease implements CursorLease {
  lost = false;
  private markLost!: () => void;
  readonly whenLost = new Promise<void>((r) => (this.markLost = r));
  constructor(private readonly rows: Map<string, StoredCursor>) {}
  async readCursor(key: string) {
    return this.rows.get(key) ?? null;
  }
  async writeCursor(key: string, value: string) {
    if (this.lost) throw new Error('lost');
    this.rows.set(key, { value, updatedAt: new Date() });
  }
  async release() {
    this.lost = true;
    this.markLost();
  }
}

const logger = createLogger(loadConfig({ env: { LOG_LEVEL: 'silent' }, path: null }), 'test');

function msg(id: number) {
  return {
    update_id: id,
    message: { message_id: id, chat: { id: 1, type: 'private' }, date: 1, text: `m${id}` },
  };
}

async function eventually(probe: () => boolean, what: string) {
  const deadline = Date.now() + 5_000;
  while (!probe()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

function harness(opts: {
  batches: unknown[][];
  rows?: Map<string, StoredCursor>;
  failOn?: Set<number>;
  now?: number;
}) {
  const rows = opts.rows ?? new Map<string, StoredCursor>();
  const offsets: Array<number | undefined> = [];
  const handled: number[] = [];
  const failOn = opts.failOn ?? new Set<number>();
  const deps: TelegramPollerDeps = {
    bot: 'main',
    timeoutSeconds: 1,
    retryMs: 5,
    acquire: async () => new MemoryLease(rows),
    getUpdates: async (offset, _timeout, signal) => {
      offsets.push(offset);
      const batch = opts.batches.shift();
      if (batch)
        return batch.filter(
          (u) => offset === undefined || (u as { update_id: number }).update_id >= offset,
        );
      // Nothing more: a long poll that only the stop signal ends.
      return new Promise((_resolve, reject) =>
        signal.addEventListener('abort', () => reject(new Error('aborted'))),
      );
    },
    handle: async (update: TelegramUpdate) => {
      if (failOn.delete(update.update_id)) throw new Error('PostgreSQL is restarting');
      handled.push(update.update_id);
    },
    now: () => opts.now ?? Date.now(),
    logger,
  };
  return { poller: new TelegramPoller(deps), rows, offsets, handled };
}

describe(TelegramPoller.name, () => {
  it('ingests each batch, then stores the next offset and polls from it', async () => {
    const h = harness({ batches: [[msg(10), msg(11)], [msg(12)]] });
    h.poller.start();
    await eventually(() => h.offsets.length === 3, 'a third getUpdates');
    await h.poller.stop();
    expect(h.handled).toEqual([10, 11, 12]);
    expect(h.offsets).toEqual([undefined, 12, 13]);
    expect(h.rows.get('telegram:main:offset')?.value).toBe('13');
  });

  it('starts from the stored offset', async () => {
    const rows = new Map([['telegram:main:offset', { value: '11', updatedAt: new Date() }]]);
    const h = harness({ batches: [[msg(10), msg(11), msg(12)]], rows });
    h.poller.start();
    await eventually(() => h.offsets.length === 2, 'a second getUpdates');
    await h.poller.stop();
    expect(h.offsets[0]).toBe(11);
    expect(h.handled).toEqual([11, 12]);
  });

  it('a failed ingest keeps what was ingested and fetches the rest again', async () => {
    const h = harness({
      batches: [
        [msg(10), msg(11), msg(12)],
        [msg(11), msg(12)],
      ],
      failOn: new Set([11]),
    });
    h.poller.start();
    await eventually(() => h.offsets.length === 3, 'a third getUpdates');
    await h.poller.stop();
    expect(h.handled).toEqual([10, 11, 12]);
    expect(h.offsets).toEqual([undefined, 11, 13]);
    expect(h.rows.get('telegram:main:offset')?.value).toBe('13');
  });

  it('after a week without updates it polls without an offset (ids may restart randomly)', async () => {
    const week = 7 * 24 * 3_600_000;
    const rows = new Map([
      ['telegram:main:offset', { value: '900', updatedAt: new Date(Date.now() - week) }],
    ]);
    const h = harness({ batches: [[msg(5)]], rows });
    h.poller.start();
    await eventually(() => h.offsets.length === 2, 'a second getUpdates');
    await h.poller.stop();
    expect(h.offsets).toEqual([undefined, 6]);
    expect(h.handled).toEqual([5]);
  });

  it('stands by while another replica holds the lock', async () => {
    let tries = 0;
    const poller = new TelegramPoller({
      bot: 'main',
      timeoutSeconds: 1,
      retryMs: 5,
      acquire: async () => {
        tries += 1;
        return null;
      },
      getUpdates: async () => {
        throw new Error('a standby must not poll');
      },
      handle: async () => undefined,
      now: () => Date.now(),
      logger,
    });
    poller.start();
    await eventually(() => tries >= 3, 'three tries to take the lock');
    await poller.stop();
    expect(tries).toBeGreaterThanOrEqual(3);
  });
});
