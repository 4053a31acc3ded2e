import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { log } from './lib/harness';
import { durableSteps, type Row, startLatency, timerLateness } from './scenarios/engine.scenarios';

/**
 * `npm run bench` (full) or `npm run bench -- --quick` (about a minute). Figures are
 * printed and written to bench/results/; nothing is asserted (the machines are noisy:
 * read the ratios, which are measured in the same run).
 */
async function main(): Promise<void> {
  const quick = process.argv.includes('--quick');
  const only = process.argv
    .find((a) => a.startsWith('--only='))
    ?.slice('--only='.length)
    .split(',');
  const scenarios: Array<[string, () => Promise<Row[]>]> = [
    ['steps', () => durableSteps({ works: quick ? 500 : 2_000, concurrency: 8 })],
    ['latency', () => startLatency({ rate: quick ? 50 : 200, seconds: quick ? 4 : 10 })],
    ['timers', () => timerLateness({ sleeps: quick ? 300 : 1_000 })],
  ];
  const rows: Row[] = [];
  const startedAt = new Date();
  for (const [name, run] of scenarios) {
    if (only && !only.includes(name)) continue;
    const t0 = performance.now();
    rows.push(...(await run()));
    log(`${name} done in ${Math.round((performance.now() - t0) / 1000)} s`);
  }
  const machine = {
    cpus: cpus().length,
    model: cpus()[0]?.model ?? 'unknown',
    node: process.version,
  };
  const table = [
    '| scenario | metric | value | unit | note |',
    '| --- | --- | ---: | --- | --- |',
    ...rows.map(
      (r) => `| ${r.scenario} | ${r.metric} | ${r.value} | ${r.unit} | ${r.note ?? ''} |`,
    ),
  ].join('\n');
  console.log(
    `\nworkgate bench (${quick ? 'quick' : 'full'}) — ${machine.cpus} × ${machine.model}, Node ${machine.node}\n\n${table}\n`,
  );
  const dir = join(__dirname, '..', '..', 'bench', 'results');
  mkdirSync(dir, { recursive: true });
  const stamp = startedAt.toISOString().replace(/[:.]/g, '-');
  writeFileSync(
    join(dir, `${stamp}.json`),
    JSON.stringify({ startedAt, quick, machine, rows }, null, 2),
  );
  writeFileSync(
    join(dir, `${stamp}.md`),
    `# workgate bench ${startedAt.toISOString()} (${quick ? 'quick' : 'full'})\n\n${machine.cpus} × ${machine.model}, Node ${machine.node}\n\n${table}\n`,
  );
  writeFileSync(
    join(dir, 'latest.md'),
    `# workgate bench ${startedAt.toISOString()} (${quick ? 'quick' : 'full'})\n\n${machine.cpus} × ${machine.model}, Node ${machine.node}\n\n${table}\n`,
  );
  log(`results in bench/results/${stamp}.{json,md}`);
  process.exit(0);
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
