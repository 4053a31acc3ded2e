const LEVELS = new Map<number, string>([
  [10, 'TRACE'],
  [20, 'DEBUG'],
  [30, 'INFO '],
  [40, 'WARN '],
  [50, 'ERROR'],
  [60, 'FATAL'],
]);
const COLORS = new Map<number, string>([
  [40, '\u001b[33m'],
  [50, '\u001b[31m'],
  [60, '\u001b[31m'],
]);
const SKIP = new Set(['level', 'time', 'msg', 'pid', 'hostname', 'app', 'component']);

/**
 * One pino JSON line as a human reads it: `12:03:04 INFO  [worker] msg key=value`.
 * A line that is not pino's JSON is kept as it is (a stack trace, a console.log).
 */
export function prettyLogLine(line: string, app: string): string {
  let entry: Record<string, unknown>;
  try {
    const parsed: unknown = JSON.parse(line);
    if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) return `[${app}] ${line}`;
    entry = parsed as Record<string, unknown>;
  } catch {
    return `[${app}] ${line}`;
  }
  const level = typeof entry.level === 'number' ? entry.level : 30;
  const time = typeof entry.time === 'number' ? new Date(entry.time) : new Date();
  const extra = Object.entries(entry)
    .filter(([k]) => !SKIP.has(k))
    .map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`)
    .join(' ');
  const color = COLORS.get(level) ?? '';
  const reset = color ? '\u001b[0m' : '';
  const head = `${time.toISOString().slice(11, 19)} ${color}${LEVELS.get(level) ?? String(level)}${reset}`;
  return `${head} [${app}] ${typeof entry.msg === 'string' ? entry.msg : JSON.stringify(entry.msg ?? '')}${extra ? ` ${extra}` : ''}`;
}
