import { existsSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Client } from 'pg';
import { check, type Violation } from './checker';
import { Cluster, Services } from './cluster';
import { Counters } from './counters';
import { FaultInjector } from './faults';
import { type Durability, generatePlan, type Load } from './generator';
import { TrafficDriver } from './traffic';

/**
 * `npm run simulate -- [--seed N] [--runs K] [--budget SECONDS] [--load steady|burst]
 * [--durability step|batched|step,batched] [--quiesce SECONDS]`: randomized fault
 * simulation against the real gateway and worker processes (docs/contributing.md,
 * "Simulation"). Each run draws programs, traffic and faults from its seed, plays them
 * in each durability mode asked for, waits for quiescence and checks the guarantees
 * (the checker knows what each mode promises). A failing run prints the command that
 * reproduces it and the process exits 1.
 */

interface Args {
  seed: number;
  runs: number;
  budgetS: number;
  load: Load;
  durabilities: Durability[];
  quiesceS: number;
}

function parseArgs(argv: string[]): Args {
  const get = (name: string) => {
    const i = argv.indexOf(`--${name}`);
    return i >= 0 ? argv[i + 1] : undefined;
  };
  if (get('mode') !== undefined)
    throw new Error(
      '--mode is now --load (the shape of the load: --mode batched is --load burst); durability modes are --durability step|batched',
    );
  const load = get('load') ?? 'steady';
  if (load !== 'steady' && load !== 'burst') throw new Error(`--load steady|burst, not ${load}`);
  const durabilities = (get('durability') ?? 'step,batched').split(',');
  for (const d of durabilities)
    if (d !== 'step' && d !== 'batched') throw new Error(`--durability step|batched, not ${d}`);
  return {
    seed: Number(get('seed') ?? Math.floor(Math.random() * 2 ** 31)),
    runs: Number(get('runs') ?? 1),
    budgetS: Number(get('budget') ?? 0),
    load,
    durabilities: durabilities as Durability[],
    quiesceS: Number(get('quiesce') ?? 30),
  };
}

const log = (line: string) => process.stdout.write(`${line}\n`);

interface RunResult {
  seed: number;
  durability: Durability;
  violations: Violation[];
  events: number;
  works: number;
  faults: number;
  checks: number;
}

async function quiesce(cluster: Cluster, seconds: number): Promise<boolean> {
  const db = new Client({
    connectionString: cluster.services.databaseUrl,
    options: `-c search_path="${cluster.schema}"`,
  });
  db.on('error', () => undefined);
  await db.connect();
  try {
    const deadline = Date.now() + seconds * 1000;
    while (Date.now() < deadline) {
      const { rows } = await db.query<{ n: number }>(
        `SELECT count(*)::int AS n FROM "Work" WHERE state NOT IN ('COMPLETED', 'FAILED', 'CANCELLED')`,
      );
      if (rows[0]!.n === 0) return true;
      await new Promise((r) => setTimeout(r, 250)); // polling the ledger for a condition
    }
    return false;
  } finally {
    await db.end();
  }
}

async function runOnce(
  services: Services,
  counters: Counters,
  seed: number,
  args: Args,
  durability: Durability,
  index: number,
): Promise<RunResult> {
  const plan = generatePlan(seed, args.load, durability, `r${seed}`);
  for (const p of plan.programs) p.url = counters.url;
  counters.reset();
  const kinds = plan.faults.map((f) => `${f.kind}@${f.at}`).join(' ');
  log(
    `run ${index + 1}: seed ${seed}, load ${args.load}, durability ${durability}: ${plan.programs.length} programs, ${plan.traffic.length} traffic items, faults: ${kinds}`,
  );
  const pgLog = join(services.pg.dir, 'log');
  const pgLogFrom = existsSync(pgLog) ? statSync(pgLog).size : 0;
  const cluster = new Cluster(services, args.load, durability);
  const driver = new TrafficDriver(cluster, plan, `r${seed}`);
  const faults = new FaultInjector(cluster);
  try {
    // Inside the try: a process that fails to start must not outlive the simulator.
    await cluster.start();
    const t0 = Date.now();
    driver.startAnswering();
    faults.startMonitor();
    await Promise.all([driver.play(t0), faults.play(plan, t0, log)]);
    // What a pause/resume pair left paused (a resume that lost to a fault) is resumed;
    // only works we paused, so a work PAUSED by nobody still shows.
    const paused = new Set(driver.calls.filter((c) => c.action === 'pause').map((c) => c.p));
    for (const p of paused) await driver.operate(p, 'resume');
    log(`  traffic and faults done after ${Date.now() - t0}ms`);
    const quiet = await quiesce(cluster, args.quiesceS);
    log(`  quiescent: ${quiet} (${Date.now() - t0}ms)`);
    await faults.stop();
    const { violations, checks } = await check({
      plan,
      cluster,
      counters,
      driver,
      injected: faults.injected,
      stalls: faults.stalls,
      pgLogFrom,
    });
    if (!quiet)
      violations.push({
        kind: 'no-quiescence',
        workId: null,
        detail: `works still live ${args.quiesceS}s after the traffic ended`,
      });
    // SIM_DUMP=<dir>: a failing run's process output, for the finding's evidence.
    if (violations.length && process.env.SIM_DUMP) {
      const file = join(process.env.SIM_DUMP, `seed-${seed}-${args.load}-${durability}.log`);
      writeFileSync(file, `${cluster.allOutput().join('\n')}\n`);
      log(`  process output: ${file}`);
    }
    return {
      seed,
      durability,
      violations,
      events: driver.acked.length,
      works: driver.workIds.size,
      faults: faults.injected.length,
      checks,
    };
  } finally {
    await faults.stop().catch(() => undefined);
    await driver.stop();
    await cluster.stop();
  }
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  const started = Date.now();
  log(
    `simulate: seed ${args.seed}, runs ${args.runs}, load ${args.load}, durability ${args.durabilities.join(',')}${args.budgetS ? `, budget ${args.budgetS}s` : ''}`,
  );
  const counters = await new Counters().start();
  const services = await Services.start();
  // pg_ctl daemonizes PostgreSQL: an interrupted or crashed simulation must still take
  // it (and Redis) down.
  process.once('SIGINT', () => {
    Cluster.killAll();
    services.destroy();
    process.exit(130);
  });
  process.once('uncaughtException', (err) => {
    process.stderr.write(`simulator error: ${err.stack ?? err.message}\n`);
    Cluster.killAll();
    services.destroy();
    process.exit(2);
  });
  const results: RunResult[] = [];
  let failed: RunResult | undefined;
  try {
    // Each seed in every durability mode asked for: the same schedule, each mode's promise.
    const plays = Array.from({ length: args.runs }, (_, i) =>
      args.durabilities.map((d) => ({ seed: args.seed + i, durability: d })),
    ).flat();
    for (const [i, play] of plays.entries()) {
      // The budget stops new seeds, not a seed's other modes: each seed is played in all.
      const newSeed = play.durability === args.durabilities[0];
      if (args.budgetS && i > 0 && newSeed && Date.now() - started > args.budgetS * 1000) break;
      const result = await runOnce(services, counters, play.seed, args, play.durability, i);
      results.push(result);
      for (const v of result.violations) {
        log(
          `  VIOLATION ${v.kind}${v.defect ? ` [defect ${v.defect}]` : ''} work=${v.workId ?? '-'}: ${v.detail}`,
        );
      }
      if (result.violations.length) {
        failed = result;
        break;
      }
    }
  } finally {
    services.destroy();
    await counters.stop();
  }
  const sum = (k: 'events' | 'works' | 'faults' | 'checks') =>
    results.reduce((n, r) => n + r[k], 0);
  log(
    `summary: ${results.length} run(s), seeds ${results.map((r) => r.seed).join(',')}, ${sum('events')} events acknowledged, ` +
      `${sum('works')} works, ${sum('faults')} faults injected, ${sum('checks')} checks, ` +
      `${results.reduce((n, r) => n + r.violations.length, 0)} violation(s), ${Math.round((Date.now() - started) / 1000)}s`,
  );
  if (failed) {
    log(
      `FAILED. Reproduce: npm run simulate -- --seed ${failed.seed} --runs 1 --load ${args.load} --durability ${failed.durability} --quiesce ${args.quiesceS}`,
    );
    process.exitCode = 1;
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(2);
});
