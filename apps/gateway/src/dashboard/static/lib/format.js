// Formatting shared by every view: pure functions from API values to strings.

/** The states a work can be in, in the order the counts and filters show them. */
export const STATES = [
  'QUEUED',
  'RUNNING',
  'WAITING',
  'PAUSED',
  'COMPLETED',
  'FAILED',
  'CANCELLED',
];
export const TERMINAL = new Set(['COMPLETED', 'FAILED', 'CANCELLED']);

/** How many hex characters a short work id keeps. */
const SHORT_ID_LENGTH = 8;

/**
 * A work id as a person tells it apart: its last 8 hex characters. Work ids are UUIDv7,
 * whose leading characters are the creation time and repeat down a list; the tail is
 * random. The same rule as `shortWorkId` in libs/core (this page has no build step, so
 * it cannot import it; the dashboard e2e test checks the two agree).
 */
export function shortId(id) {
  if (!id) return '—';
  const hex = String(id).replaceAll('-', '');
  return hex.length > SHORT_ID_LENGTH ? hex.slice(-SHORT_ID_LENGTH) : hex;
}

export function relative(iso) {
  const ms = new Date(iso).getTime() - Date.now();
  const text = duration(Math.abs(ms));
  return ms >= 0 ? `in ${text}` : `${text} ago`;
}

export function duration(ms) {
  if (ms === null || ms === undefined) return '—';
  if (ms < 1000) return `${Math.round(ms)} ms`;
  const s = ms / 1000;
  if (s < 60) return `${s.toFixed(s < 10 ? 1 : 0)} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m ${Math.round(s % 60)}s`;
  const hours = Math.floor(m / 60);
  if (hours < 48) return `${hours}h ${m % 60}m`;
  return `${Math.floor(hours / 24)}d ${hours % 24}h`;
}

export function usd(value) {
  const n = Number(value ?? 0);
  if (n === 0) return '$0';
  return n < 0.01 ? `$${n.toFixed(4)}` : `$${n.toFixed(2)}`;
}

function brief(value, max) {
  const text = typeof value === 'string' ? value : JSON.stringify(value);
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}

/** What a wait expects, in words: its JSON Schema summarised. */
export function describeExpects(expects) {
  if (!expects || typeof expects !== 'object') return 'anything';
  if (Array.isArray(expects.enum))
    return `one of: ${expects.enum.map((v) => JSON.stringify(v)).join(', ')}`;
  if ('const' in expects) return `exactly ${JSON.stringify(expects.const)}`;
  if (expects.type === 'object' && expects.properties)
    return `an object with ${Object.keys(expects.properties).join(', ')}`;
  if (expects.type) return `a ${expects.type}`;
  return brief(expects, 100);
}

/** Buttons an operator can press to fill in an answer: the schema's choices. */
export function choicesOf(expects) {
  if (!expects || typeof expects !== 'object') return [];
  if (Array.isArray(expects.enum)) return expects.enum;
  if ('const' in expects) return [expects.const];
  if (expects.type === 'boolean') return [true, false];
  return [];
}

export function describeRung(rung) {
  if (!rung) return '';
  const after = duration(rung.afterMs);
  switch (rung.action) {
    case 'remind':
      return `after ${after}: remind`;
    case 'escalate':
      return `after ${after}: hand over to ${describeAddress(rung.target)}`;
    case 'default':
      return `after ${after}: take the default ${JSON.stringify(rung.value)}`;
    case 'fail':
      return `after ${after}: fail the work`;
    default:
      return `after ${after}: ${rung.action}`;
  }
}

export function describeAddress(value) {
  if (!value) return '—';
  try {
    const address = typeof value === 'string' ? JSON.parse(value) : value;
    if (address && typeof address === 'object' && address.channel)
      return `${address.channel}:${address.target}${address.thread ? ` (thread ${address.thread})` : ''}`;
  } catch {
    // Not JSON: show it as it is.
  }
  return String(value);
}
