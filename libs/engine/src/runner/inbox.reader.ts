import { type PoolClient } from 'pg';
import { type RunResources } from './run-resources';

/** The step ctx.inbox() records; an interrupt restarts a run from the last one. */
export const INBOX_STEP = '$inbox';

interface InboxRow {
  id: string;
  channel: string;
  source: string;
  decision: string;
  body: unknown;
  answer: unknown;
  receivedAt: Date;
  collectWindowMs: number | null;
  ageMs: number;
}

/**
 * Consecutive `collected` events form one burst; every other event stands alone. A
 * burst is open (not handed out yet) while its newest event is younger than its window.
 */
export function groupCollectedBursts(rows: InboxRow[]): Array<{ rows: InboxRow[]; open: boolean }> {
  const items: Array<{ rows: InboxRow[]; open: boolean }> = [];
  for (const row of rows) {
    const current = items.at(-1);
    if (row.decision === 'collected' && current?.rows[0]?.decision === 'collected')
      current.rows.push(row);
    else items.push({ rows: [row], open: false });
  }
  for (const item of items) {
    const newest = item.rows.at(-1)!;
    item.open = newest.decision === 'collected' && newest.ageMs < (newest.collectWindowMs ?? 0);
  }
  // Arrival order is kept: nothing after an open burst is handed out before it.
  const firstOpen = items.findIndex((i) => i.open);
  return firstOpen === -1 ? items : items.map((i, n) => ({ ...i, open: n >= firstOpen }));
}

/**
 * A work's inbox as its run reads it, inside the run's fenced transaction: the events
 * ctx.inbox() takes (a `collect` burst as one event), and the buffered event that
 * answers a wait as it opens.
 */
export class InboxReader {
  constructor(private readonly resources: RunResources) {}

  /**
   * Takes the work's unconsumed inbox, oldest first (arrival order), and marks it
   * consumed. Events of the `collect` busy policy come as one event per burst (texts
   * joined by newlines); a burst still inside its debounce window stays in the inbox
   * for a later read.
   */
  async take(client: PoolClient, workId: string): Promise<unknown[]> {
    const { rows } = await client.query<InboxRow>(
      `SELECT id, channel, source, decision, body, answer, "receivedAt", "collectWindowMs",
              (EXTRACT(EPOCH FROM (now() - "receivedAt")) * 1000)::float8 AS "ageMs"
       FROM "InboundEvent"
       WHERE "workId" = $1 AND "consumedAt" IS NULL AND decision IN ('inbox', 'collected', 'interrupted')
       ORDER BY seq FOR UPDATE`,
      [workId],
    );
    const items = groupCollectedBursts(rows);
    const taken = items.filter((item) => !item.open);
    const ids = taken.flatMap((item) => item.rows.map((r) => r.id));
    if (ids.length)
      await client.query(
        'UPDATE "InboundEvent" SET "consumedAt" = now() WHERE id = ANY($1::uuid[])',
        [ids],
      );
    return taken.map(({ rows: burst }) => inboxEvent(burst));
  }

  /**
   * The oldest event buffered in the inbox under `correlationKey` that `expects`
   * accepts (the caller holds the key's advisory lock, as ingest does).
   */
  async findBuffered(
    client: PoolClient,
    workId: string,
    correlationKey: string,
    expects: unknown,
  ): Promise<{ id: string; answer: unknown } | undefined> {
    const { rows } = await client.query<{ id: string; answer: unknown }>(
      `SELECT id, answer FROM "InboundEvent"
       WHERE "correlationKey" = $1 AND "consumedAt" IS NULL AND decision = 'inbox' AND ("workId" IS NULL OR "workId" = $2)
       ORDER BY seq LIMIT 20`,
      [correlationKey, workId],
    );
    return rows.find((r) => this.resources.validator.validate(expects, r.answer).ok);
  }
}

/** One event as ctx.inbox() hands it out: a burst of collected events becomes one. */
function inboxEvent(burst: InboxRow[]): unknown {
  const first = burst[0]!;
  const last = burst.at(-1)!;
  if (burst.length === 1)
    return {
      eventId: first.id,
      channel: first.channel,
      source: first.source,
      decision: first.decision,
      body: first.body,
      answer: first.answer,
      receivedAt: first.receivedAt.toISOString(),
    };
  const texts = burst.map((r) => (r.body as { text?: unknown } | null)?.text);
  const allText = texts.every((t): t is string => typeof t === 'string');
  return {
    eventId: first.id,
    eventIds: burst.map((r) => r.id),
    channel: first.channel,
    source: first.source,
    decision: 'collected',
    body: { text: allText ? texts.join('\n') : null, parts: burst.map((r) => r.body) },
    answer: allText ? texts.join('\n') : burst.map((r) => r.answer),
    receivedAt: last.receivedAt.toISOString(),
  };
}
