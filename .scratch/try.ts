import { Client } from 'pg';
import { startDisposablePostgres } from '../test/support/disposable-services';
import { startPgBouncer } from '../test/support/services/pgbouncer';
async function main() {
  const pg = await startDisposablePostgres();
  const b = await startPgBouncer({ postgresPort: pg.port, poolSize: 2 });
  try {
    const c = new Client({ connectionString: b.url('postgres') });
    await c.connect();
    console.log((await c.query('select 1 as x')).rows);
    console.log((await c.query('select $1::int as x', [2])).rows);
    c.on('error', () => {});
    await c.query('BEGIN; SET LOCAL idle_in_transaction_session_timeout = 300; SET LOCAL lock_timeout = 100');
    console.log((await c.query("select current_setting('idle_in_transaction_session_timeout') a, current_setting('lock_timeout') b")).rows);
    await new Promise((r) => setTimeout(r, 800));
    await c.query('select 1').then(() => console.log('still alive?!'), (e) => console.log('idle timeout hit:', e.message));
    await c.end().catch(() => {});
    const d = new Client({ connectionString: b.url('postgres'), options: '-c search_path=x' });
    await d.connect().then(() => console.log('options accepted'), (e) => console.log('options refused:', e.message));
    await d.end().catch(() => {});
    console.log(b.show('POOLS'));
    await b.restart();
    const e = new Client({ connectionString: b.url('postgres') });
    await e.connect();
    console.log((await e.query({ name: 'n1', text: 'select $1::int as x', values: [3] })).rows);
    await e.end();
  } finally { b.destroy(); pg.destroy(); }
}
main().catch((e) => { console.error(e); process.exit(1); });
