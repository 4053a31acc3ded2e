const UNITS: Record<string, number> = { b: 1, kb: 1024, mb: 1024 ** 2, gb: 1024 ** 3 };

/** Parses `512kb`, `1mb`, `1048576` into bytes; undefined for anything else. */
export function parseByteSize(input: string | number): number | undefined {
  // Body limits come from here: a size that is not a safe integer (a 400-digit string
  // reads as Infinity) would be no limit at all.
  if (typeof input === 'number')
    return Number.isSafeInteger(input) && input > 0 ? input : undefined;
  const m = /^\s*(\d+(?:\.\d+)?)\s*(b|kb|mb|gb)?\s*$/i.exec(input);
  if (!m) return undefined;
  const bytes = Math.floor(Number(m[1]) * UNITS[(m[2] ?? 'b').toLowerCase()]!);
  return Number.isSafeInteger(bytes) && bytes > 0 ? bytes : undefined;
}
