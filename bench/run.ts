import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { log } from './lib/harness';
import { takeAppendix } from './lib/scale-harness';
import { durableSteps, type Row, startLatency } from './scenarios/engine.scenarios';
import { firstStep, ingest } from './scenarios/ingest.scenarios';
import { ledgerSize } from './scenarios/ledger.scenarios';
import { manyWaiting, recovery } from './scenarios/scale.scenarios';
import { timersAtScale } from './scenarios/timers.scenarios';
import { sequentialRuns } from './scenarios/sequential.scenarios';
import { scaleOut } from './scenarios/scale-out.scenarios';

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
    // Full: 6 000 works (about 12 s), so one stall of the shared machine does not decide the ratio.
    ['steps', () => durableSteps({ works: quick ? 500 : 6_000, concurrency: 8 })],
    // One lone run at a time (warm-up runs not counted), in each durability mode.
    [
      'sequential',
      () => sequentialRuns(quick ? { works: 100, warm: 20 } : { works: 500, warm: 50 }),
    ],
    ['latency', () => startLatency({ rate: quick ? 50 : 200, seconds: quick ? 4 : 10 })],
    // Every sleeper is asleep before the first fires; they fire at a steady rate. Quick:
    // a 4-second burst at 250/s; full: 10 000 at 125/s, a rate the worker can resume at
    // (at 250/s the resumes fall behind on 2 cores; docs/performance.md).
    [
      'timers',
      () =>
        timersAtScale(
          quick ? { sleeps: 1_000, ratePerSec: 250 } : { sleeps: 10_000, ratePerSec: 125 },
        ),
    ],
    [
      'ingest',
      () => ingest({ rate: 500, seconds: quick ? 4 : 10, amount: quick ? 6_000 : 20_000 }),
    ],
    ['first-step', () => firstStep({ rate: 200, seconds: quick ? 4 : 10 })],
    [
      'waiting',
      () =>
        manyWaiting({ works: quick ? 10_000 : 100_000, replies: quick ? 300 : 1_000, rate: 50 }),
    ],
    ['recovery', () => recovery({ works: 500, rate: 25, steps: 6, leaseMs: 5_000 })],
    ['ledger', () => ledgerSize({ works: quick ? 100_000 : 1_000_000, repeats: quick ? 20 : 50 })],
  ];
  // Run only when named (--only=scale-out): it starts servers of its own and takes
  // minutes, and its figures go to docs/scaling.md rather than latest.md.
  const optIn: Array<[string, () => Promise<Row[]>]> = [
    ['scale-out', () => scaleOut({ works: quick ? 600 : 1_000, counts: [1, 2, 3] })],
  ];
  if (only) scenarios.push(...optIn);
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
  // EXPLAIN plans and notes the scenarios collected, under the table of the Markdown file.
  const appendix = takeAppendix();
  const table = [
    '| scenario | metric | value | unit | note |',
    '| --- | --- | ---: | --- | --- |',
    ...rows.map(
      (r) =>
        `| ${r.scenario} | ${r.metric} | ${r.value}${r.mustBe !== undefined && r.value !== r.mustBe ? ' **FAILED**' : ''} | ${r.unit} | ${r.note ?? ''} |`,
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
  const markdown =
    `# workgate bench ${startedAt.toISOString()} (${quick ? 'quick' : 'full'})\n\n${machine.cpus} × ${machine.model}, Node ${machine.node}\n\n${table}\n` +
    (appendix ? `\n${appendix}` : '');
  writeFileSync(join(dir, `${stamp}.md`), markdown);
  // latest.md is the committed reference: only a full run of every scenario replaces it,
  // so a quick or --only run while working does not overwrite it with a partial table.
  if (!quick && !only) writeFileSync(join(dir, 'latest.md'), markdown);
  log(`results in bench/results/${stamp}.{json,md}${!quick && !only ? ' and latest.md' : ''}`);
  const broken = rows.filter((r) => r.mustBe !== undefined && r.value !== r.mustBe);
  for (const r of broken)
    console.error(`FAILED: ${r.scenario} / ${r.metric} is ${r.value}, must be ${r.mustBe}`);
  process.exit(broken.length ? 1 : 0);
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
