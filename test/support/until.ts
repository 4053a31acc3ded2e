/**
 * Waits for a condition with a deadline, never a bare sleep. On timeout the error says
 * what was expected and the last value seen.
 */
export async function until<T>(
  probe: () => T | Promise<T>,
  what: string,
  timeoutMs = 10_000,
  intervalMs = 25,
): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  let lastError: unknown;
  for (;;) {
    try {
      last = await probe();
      lastError = undefined;
      if (last) return last as NonNullable<T>;
    } catch (err) {
      lastError = err;
    }
    if (Date.now() > deadline) {
      const seen = lastError
        ? `error ${(lastError as Error).message}`
        : JSON.stringify(last, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v));
      throw new Error(`Timed out after ${timeoutMs} ms waiting for ${what}; last seen: ${seen}`);
    }
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}
