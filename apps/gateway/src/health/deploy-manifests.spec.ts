import 'reflect-metadata';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { PATH_METADATA } from '@nestjs/common/constants';
import { parse, parseAllDocuments } from 'yaml';
import { envSchema, loadConfig, type AppConfig } from '@app/config';
import { HealthController } from './health.controller';

/**
 * docker/compose.scale.yml and docker/k8s/ name workgate's environment variables, config
 * keys, ports, probe paths and entry points as plain text, which no compiler reads:
 * `npm run deploy:check` validates their shape, this spec that they still mean something
 * to workgate, so a rename in the code fails here instead of in someone's cluster.
 */
const ROOT = join(__dirname, '..', '..', '..', '..');
const DOCKER = join(ROOT, 'docker');
const K8S = join(DOCKER, 'k8s');

/**
 * Variables other branches add to envSchema before the manifests' own branch is merged.
 * Empty: every variable the manifests name is one workgate reads.
 */
const PENDING_ENV = new Set<string>([]);

/** The worker's health listener in the examples (worker.healthPort). */
const WORKER_HEALTH_PORT = 9090;

type Json = Record<string, unknown>;
interface Container {
  image: string;
  command: string[];
  env?: Array<{ name: string; value?: string }>;
  ports?: Array<{ name: string; containerPort: number }>;
  readinessProbe?: { httpGet: { path: string; port: string } };
  livenessProbe?: { httpGet: { path: string; port: string } };
  startupProbe?: { httpGet: { path: string; port: string } };
  lifecycle?: { preStop?: { exec?: { command: string[] } } };
}
interface PodSpec {
  terminationGracePeriodSeconds?: number;
  containers: Container[];
}

function k8sObjects(): Json[] {
  return readdirSync(K8S)
    .filter((f) => f.endsWith('.yaml') && f !== 'kustomization.yaml')
    .flatMap((f) => parseAllDocuments(readFileSync(join(K8S, f), 'utf8')).map((d) => d.toJS()))
    .filter(Boolean) as Json[];
}

function k8sObject(kind: string, name: string): Json {
  const found = k8sObjects().find(
    (o) => o.kind === kind && (o.metadata as { name: string }).name === name,
  );
  if (!found) throw new Error(`docker/k8s has no ${kind} ${name}`);
  return found;
}

function podSpec(kind: 'Deployment' | 'Job', name: string): PodSpec {
  const spec = k8sObject(kind, name).spec as { template: { spec: PodSpec } };
  return spec.template.spec;
}

const compose = parse(readFileSync(join(DOCKER, 'compose.scale.yml'), 'utf8'), {
  merge: true,
}) as { services: Record<string, Json> };
const workgateServices = Object.entries(compose.services).filter(([, s]) =>
  String(s.image).includes('workgate'),
);

const configMapText = (k8sObject('ConfigMap', 'workgate-config').data as Json)[
  'workgate.config.yaml'
] as string;
const composeConfigText = readFileSync(join(DOCKER, 'workgate.scale.config.yaml'), 'utf8');
const secretKeys = Object.keys(k8sObject('Secret', 'workgate-secrets').stringData as Json);

/** `${NAME}` references in a config file's values (not its comments): the environment sets them. */
const referencedEnv = (text: string) =>
  [...JSON.stringify(parse(text)).matchAll(/\$\{([A-Z0-9_]+)(?::-[^}]*)?\}/g)].map((m) => m[1]!);

/** A config file parsed as workgate parses it, with every reference given a value. */
function parsedConfig(text: string): AppConfig {
  const env = Object.fromEntries(referencedEnv(text).map((n) => [n, 'whsec_dGVzdC1zZWNyZXQ=']));
  return loadConfig({ env, path: null, overrides: parse(text) as Record<string, unknown> });
}

function durationSeconds(value: unknown): number {
  const m = /^(\d+)s$/.exec(String(value));
  if (!m) throw new Error(`not a duration in seconds: ${String(value)}`);
  return Number(m[1]);
}

function probePath(method: 'live' | 'ready'): string {
  const base = Reflect.getMetadata(PATH_METADATA, HealthController) as string;
  const route = Reflect.getMetadata(PATH_METADATA, HealthController.prototype[method]) as string;
  return `/${base}/${route}`;
}

const known = new Set(Object.keys(envSchema.shape));
const isWorkgateEnv = (name: string, config: string) =>
  known.has(name) || PENDING_ENV.has(name) || referencedEnv(config).includes(name);

describe('deployment files (docker/compose.scale.yml, docker/k8s)', () => {
  it('give the workgate services only environment variables workgate reads', () => {
    for (const [service, spec] of workgateServices)
      for (const name of Object.keys(spec.environment as Json))
        expect([service, name, isWorkgateEnv(name, composeConfigText)]).toEqual([
          service,
          name,
          true,
        ]);
    const k8sNames = [
      ...secretKeys,
      ...(['workgate-gateway', 'workgate-worker'] as const).flatMap((d) =>
        podSpec('Deployment', d).containers.flatMap((c) => (c.env ?? []).map((e) => e.name)),
      ),
      ...podSpec('Job', 'workgate-migrate').containers.flatMap((c) =>
        (c.env ?? []).map((e) => e.name),
      ),
    ];
    for (const name of k8sNames)
      expect([name, isWorkgateEnv(name, configMapText)]).toEqual([name, true]);
  });

  it('set every variable their config files refer to', () => {
    const composeEnv = Object.keys(compose.services.gateway!.environment as Json);
    for (const name of referencedEnv(composeConfigText)) expect(composeEnv).toContain(name);
    for (const name of referencedEnv(configMapText)) expect(secretKeys).toContain(name);
  });

  it('carry config files workgate accepts, with the queue shards the Redis Cluster has', () => {
    for (const text of [composeConfigText, configMapText]) {
      const config = parsedConfig(text);
      expect(config.queues.shards).toBe(3);
      expect(config.server.port).toBe(3000);
    }
  });

  it('probe the paths the health controller serves, on the right ports', () => {
    expect([probePath('live'), probePath('ready')]).toEqual(['/health/live', '/health/ready']);
    const gateway = podSpec('Deployment', 'workgate-gateway').containers[0]!;
    const worker = podSpec('Deployment', 'workgate-worker').containers[0]!;
    // The worker's health listener serves the same two paths (issue 16, item 5).
    for (const c of [gateway, worker]) {
      expect(c.readinessProbe?.httpGet.path).toBe(probePath('ready'));
      expect(c.livenessProbe?.httpGet.path).toBe(probePath('live'));
      expect(c.startupProbe?.httpGet.path).toBe(probePath('live'));
    }
    const portOf = (c: Container, name: string) =>
      c.ports?.find((p) => p.name === name)?.containerPort;
    expect(portOf(gateway, 'http')).toBe(parsedConfig(configMapText).server.port);
    expect(portOf(worker, 'health')).toBe(WORKER_HEALTH_PORT);
    const healthEnv = worker.env?.find((e) => e.name === 'WORKGATE_WORKER_HEALTH_PORT');
    expect(healthEnv?.value).toBe(String(WORKER_HEALTH_PORT));
    const workerEnv = { WORKGATE_WORKER_HEALTH_PORT: healthEnv!.value };
    expect(loadConfig({ env: workerEnv, path: null }).worker.healthPort).toBe(WORKER_HEALTH_PORT);
    const composeWorker = compose.services.worker!;
    expect((composeWorker.environment as Json).WORKGATE_WORKER_HEALTH_PORT).toBe(
      String(WORKER_HEALTH_PORT),
    );
    expect(JSON.stringify(composeWorker.healthcheck)).toContain(
      `:${WORKER_HEALTH_PORT}${probePath('ready')}`,
    );
    expect(JSON.stringify(compose.services.gateway!.healthcheck)).toContain(probePath('ready'));
  });

  it('give every process more time to stop than server.drainDelay + shutdownGrace', () => {
    const stopSeconds = (c: AppConfig) => (c.server.drainDelay + c.server.shutdownGrace) / 1000;
    const k8sGrace = stopSeconds(parsedConfig(configMapText));
    for (const name of ['workgate-gateway', 'workgate-worker']) {
      const spec = podSpec('Deployment', name);
      const preStop = spec.containers[0]!.lifecycle?.preStop?.exec?.command ?? [];
      const pause = preStop[0] === 'sleep' ? Number(preStop[1]) : 0;
      expect(spec.terminationGracePeriodSeconds).toBeGreaterThan(k8sGrace + pause);
    }
    const composeGrace = stopSeconds(parsedConfig(composeConfigText));
    for (const service of ['gateway', 'worker'])
      expect(durationSeconds(compose.services[service]!.stop_grace_period)).toBeGreaterThan(
        composeGrace,
      );
  });

  it('start entry points the build produces', () => {
    const commands = [
      ...workgateServices.map(([, s]) => s.command as string[]),
      ...k8sObjects()
        .filter((o) => o.kind === 'Deployment' || o.kind === 'Job')
        .flatMap((o) =>
          (o.spec as { template: { spec: PodSpec } }).template.spec.containers.map(
            (c) => c.command,
          ),
        ),
    ];
    for (const command of commands) {
      const entry = command.find((a) => a.startsWith('dist/'))!;
      const source = entry.replace(/^dist\//, '').replace(/\.js$/, '.ts');
      expect([entry, existsSync(join(ROOT, source))]).toEqual([entry, true]);
    }
  });
});
