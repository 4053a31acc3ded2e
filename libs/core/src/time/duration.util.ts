const UNITS: Record<string, number> = {
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
  w: 604_800_000,
};

/**
 * Parses `250ms`, `30s`, `5m`, `2h`, `1d`, `1w`, compounds such as `1h30m`, or a
 * number of milliseconds; undefined for anything else (never a silent 0).
 */
export function parseDurationMs(input: string | number): number | undefined {
  if (typeof input === 'number')
    return Number.isFinite(input) && input >= 0 ? Math.round(input) : undefined;
  const text = input.trim().toLowerCase();
  if (/^\d+(\.\d+)?$/.test(text)) return finite(Math.round(Number(text)));
  const part = /(\d+(?:\.\d+)?)(ms|s|m|h|d|w)/gy;
  let total = 0;
  let consumed = 0;
  for (let m = part.exec(text); m; m = part.exec(text)) {
    total += Number(m[1]) * UNITS[m[2]!]!;
    consumed = part.lastIndex;
  }
  return consumed === text.length && consumed > 0 ? finite(Math.round(total)) : undefined;
}

/** Enough digits overflow Number to Infinity, which is no more a duration than garbage is. */
function finite(ms: number): number | undefined {
  return Number.isFinite(ms) ? ms : undefined;
}
