import { z } from 'zod';
import { byteSize, durationMs, envSchema, fileConfigSchema } from '../config.schema';

/**
 * Renders docs/reference/configuration.md from the zod schemas, so the reference cannot
 * drift from what loadConfig accepts. Walks zod 4's public `def` of each schema: its
 * JSON Schema export (z.toJSONSchema) drops the defaults of transformed values
 * (durations, sizes), which are most of the defaults here.
 */

/** Environment variables that set a config-file key (loadConfig applies them). */
export const ENV_OVERRIDES: Record<string, string> = {
  PORT: 'server.port',
  HOST: 'server.host',
  WORKER_CONCURRENCY: 'worker.concurrency',
  WORKER_METRICS_PORT: 'worker.metricsPort',
  WORKGATE_WORKER_HEALTH_PORT: 'worker.healthPort',
  WORKGATE_WORKFLOWS: 'workflows.modules (added to)',
  WORKGATE_BUTTON_SECRET: 'chat.buttonSecrets (when empty)',
};

interface Row {
  key: string;
  type: string;
  def: string;
  description: string;
}

type Schema = z.core.$ZodType;
const defOf = (s: Schema) => s._zod.def as z.core.$ZodTypeDef & Record<string, unknown>;
const describe = (s: Schema): string | undefined => z.globalRegistry.get(s)?.description;

const RECORD_KEY: Record<string, string> = {
  sources: '<source>',
  workspaces: '<workspace>',
  bots: '<bot>',
  http: '<target>',
  prices: '<model>',
  targets: '<name>',
  identities: '<person>',
};

function formatMs(ms: number): string {
  for (const [unit, size] of [
    ['d', 86_400_000],
    ['h', 3_600_000],
    ['m', 60_000],
    ['s', 1_000],
  ] as const)
    if (ms >= size && ms % size === 0) return `${ms / size}${unit}`;
  return `${ms}ms`;
}

function formatBytes(n: number): string {
  if (n % 1024 ** 2 === 0) return `${n / 1024 ** 2}mb`;
  if (n % 1024 === 0) return `${n / 1024}kb`;
  return String(n);
}

/** Peels optional/default/prefault/pipe wrappers; returns the core schema and facts. */
function unwrap(schema: Schema): {
  core: Schema;
  optional: boolean;
  defaultValue?: unknown;
  description?: string;
} {
  let node = schema;
  let optional = false;
  let defaultValue: unknown;
  let description = describe(node);
  for (;;) {
    if (node === durationMs || node === byteSize) break;
    const def = defOf(node);
    if (def.type === 'optional') optional = true;
    else if (def.type === 'default' || def.type === 'prefault') {
      if (defaultValue === undefined) defaultValue = def.defaultValue;
    } else if (def.type !== 'pipe') break;
    node = (def.type === 'pipe' ? def.in : def.innerType) as Schema;
    description ??= describe(node);
  }
  return { core: node, optional, defaultValue, description };
}

function typeOf(schema: Schema): string {
  if (schema === durationMs) return 'duration';
  if (schema === byteSize) return 'size';
  const { core } = unwrap(schema);
  if (core !== schema) return typeOf(core);
  const def = defOf(core);
  switch (def.type) {
    case 'enum':
      return Object.values(def.entries as Record<string, string>)
        .map((v) => `\`${v}\``)
        .join(' \\| ');
    case 'number':
      return (core as z.ZodNumber).isInt ? 'integer' : 'number';
    case 'array':
      return `list of ${typeOf(def.element as Schema)}`;
    case 'record':
      return `map of ${typeOf(def.valueType as Schema)}`;
    case 'object':
      return `{ ${Object.keys(def.shape as object).join(', ')} }`;
    case 'union':
      return (def.options as Schema[]).map(typeOf).join(' or ');
    case 'string':
      return (core._zod as { bag?: { format?: string } }).bag?.format === 'datetime'
        ? 'ISO 8601 time'
        : 'string';
    case 'date':
      return 'Date';
    default:
      return def.type === 'unknown' ? 'any' : def.type;
  }
}

function formatDefault(schema: Schema, value: unknown): string {
  if (value === undefined) return '';
  if (schema === durationMs && typeof value === 'number') return `\`${formatMs(value)}\``;
  if (schema === byteSize && typeof value === 'number') return `\`${formatBytes(value)}\``;
  if (typeof value === 'object' && value !== null && Object.keys(value).length === 0)
    return Array.isArray(value) ? '`[]`' : '`{}`';
  return `\`${JSON.stringify(value)}\``;
}

/** One row per leaf key; objects and maps of objects are expanded. */
function rows(schema: Schema, key: string, out: Row[]): Row[] {
  const { core, optional, defaultValue, description } = unwrap(schema);
  const def = defOf(core);
  const objectShape =
    def.type === 'object'
      ? (def.shape as Record<string, Schema>)
      : def.type === 'record' && defOf(unwrap(def.valueType as Schema).core).type === 'object'
        ? undefined
        : null;
  if (objectShape) {
    for (const [name, child] of Object.entries(objectShape)) rows(child, `${key}.${name}`, out);
    return out;
  }
  if (objectShape === undefined) {
    const placeholder = RECORD_KEY[key.split('.').pop() ?? ''] ?? '<name>';
    if (description) out.push({ key, type: 'map', def: '', description });
    return rows(def.valueType as Schema, `${key}.${placeholder}`, out);
  }
  if (def.type === 'array' && defOf(unwrap(def.element as Schema).core).type === 'object') {
    return rows(def.element as Schema, `${key}[]`, out);
  }
  out.push({
    key,
    type: typeOf(core),
    def: formatDefault(core, defaultValue) || (optional ? '' : 'required'),
    description: description ?? '',
  });
  return out;
}

/** `server.port`, or `chat.buttonSecrets` (when empty). */
function codeKey(text: string): string {
  const [key, ...note] = text.split(' (');
  return note.length ? `\`${key}\` (${note.join(' (')}` : `\`${key}\``;
}

// Outside code spans, `<bot>` would be read as an HTML tag by the site (Vue templates).
const cell = (text: string) =>
  text
    .split('`')
    .map((part, i) => (i % 2 === 0 ? part.replace(/</g, '&lt;') : part))
    .join('`')
    .replace(/\|/g, '\\|')
    .replace(/\n/g, ' ');
const esc = (text: string) => text.replace(/\\\|/g, '|');

function table(header: string[], body: string[][]): string {
  const line = (cells: string[]) => `| ${cells.join(' | ')} |`;
  return [line(header), line(header.map(() => '---')), ...body.map(line)].join('\n');
}

const INTRO = `<!-- Generated by \`npm run docs:config\` from libs/config/src/config.schema.ts: edit the schema's .describe() texts, not this file. -->

# Configuration reference

Two sources, both validated once at start (a mistake stops the process with the path
and the reason): the environment, and \`workgate.config.yaml\` (or the file
\`WORKGATE_CONFIG\` names) — server, worker and channel settings. Values in the file may
refer to the environment as \`\${NAME}\` or \`\${NAME:-default}\`; an unset variable
without a default is an error naming it (a silently empty secret would turn every
delivery into a 401).

Durations are written \`500ms\`, \`30s\`, \`5m\`, \`2h\`, \`1d\` (or compounds such as
\`1h30m\`, or a number of milliseconds); sizes \`256kb\`, \`1mb\` (or a number of bytes).
A key in angle brackets (\`<bot>\`) is a name of your choice.`;

export function renderConfigReference(): string {
  const envRows = Object.entries(envSchema.shape).map(([name, schema]) => {
    const { core, defaultValue, description } = unwrap(schema);
    return [
      `\`${name}\``,
      cell(esc(typeOf(core))),
      formatDefault(core, defaultValue) || '—',
      ENV_OVERRIDES[name] ? codeKey(ENV_OVERRIDES[name]) : '',
      cell(description ?? ''),
    ];
  });
  const sections = Object.entries(fileConfigSchema.shape).map(([name, schema]) => {
    const intro = unwrap(schema).description;
    const body = rows(schema, name, []).map((r) => [
      `\`${r.key}\``,
      cell(esc(r.type)),
      r.def,
      cell(r.description),
    ]);
    return [`### ${name}`, intro ?? '', table(['key', 'type', 'default', 'description'], body)]
      .filter(Boolean)
      .join('\n\n');
  });
  return [
    INTRO,
    '## Environment variables',
    table(['variable', 'type', 'default', 'sets', 'description'], envRows),
    '## The config file',
    ...sections,
  ].join('\n\n');
}
