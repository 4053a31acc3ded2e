import { SCHEMES } from '@app/channels/webhook';
import { createTestSchema, type TestSchema } from '@test/db';
import { startGateway, testConfig, type TestGateway } from '@test/gateway';
import { post } from '@test/http';
import { deleteKeys, testQueuePrefix } from '@test/redis';
import { startPostgres, stopPostgres } from '@test/services';

const SECRET = 'whsec_d29ya2dhdGUtZml4dHVyZS1URVNULU9OTFkta2V5LTE=';

/** Never a 2xx before the commit: with PostgreSQL gone every delivery gets 503, and nothing is lost. */
describe('ingest while PostgreSQL is down', () => {
  let db: TestSchema;
  let prefix: string;
  let gw: TestGateway;

  beforeAll(async () => {
    db = await createTestSchema('pgdown');
    prefix = testQueuePrefix();
    gw = await startGateway(
      testConfig({
        schema: db.schema,
        prefix,
        overrides: {
          webhooks: {
            sources: { ci: { scheme: 'standard-webhooks', secrets: [SECRET], workflow: 'build' } },
          },
        },
      }),
    );
  });

  afterAll(async () => {
    await startPostgres(); // leave it running whatever happened
    await gw?.close();
    await deleteKeys(prefix);
    await db?.drop();
  });

  const deliver = (id: string, at = Math.floor(Date.now() / 1000)) => {
    const body = JSON.stringify({ id, kind: 'build' });
    const headers = SCHEMES['standard-webhooks'].sign({
      rawBody: Buffer.from(body),
      secret: SECRET,
      nowSeconds: at,
      id,
    });
    return post(`${gw.url}/hooks/ci`, body, { 'content-type': 'application/json', ...headers });
  };

  it('answers 503 (never 2xx) while it is down, and the same deliveries succeed once it is back', async () => {
    const ids = Array.from({ length: 40 }, (_, i) => `evt_pgdown_${i}`);
    // Half go in while the server is being stopped, half after: some of the first half may
    // commit before the stop; none may be acknowledged without a committed row.
    const inFlight = ids.slice(0, 20).map((id) => deliver(id));
    stopPostgres();
    const during = await Promise.all([...inFlight, ...ids.slice(20).map((id) => deliver(id))]);

    const acknowledged = during.flatMap((res, i) =>
      res.status >= 200 && res.status < 300 ? [ids[i]!] : [],
    );
    const refused = during.filter((res) => res.status === 503);
    expect(acknowledged.length + refused.length).toBe(ids.length); // nothing else: no 500, no hang
    for (const res of refused) {
      expect(res.json).toMatchObject({ status: 503, code: 'ledger_unavailable' });
      expect(res.headers.get('retry-after')).toBe('5');
    }
    expect(refused.length).toBeGreaterThanOrEqual(20); // at least everything sent after the stop

    await startPostgres();
    // Senders retry: every delivery now succeeds; those already committed answer 200.
    const after = await Promise.all(ids.map((id) => deliver(id)));
    expect(after.map((r) => r.status).filter((s) => s !== 200 && s !== 202)).toEqual([]);
    for (const [i, res] of after.entries()) {
      expect(res.status).toBe(acknowledged.includes(ids[i]!) ? 200 : 202);
    }
    const rows = await db.query<{ n: string }>('SELECT count(*)::text AS n FROM "InboundEvent"');
    expect(rows[0]!.n).toBe(String(ids.length));
    const works = await db.query<{ n: string }>('SELECT count(*)::text AS n FROM "Work"');
    expect(works[0]!.n).toBe(String(ids.length));
  });
});
