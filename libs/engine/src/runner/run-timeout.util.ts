import { parseDurationMs } from '@app/core';

/**
 * `promise`, or a `run_timeout` error once the workflow's runTimeout has passed — which
 * also aborts the run's signal, so the steps under way hear of it and the run stops at
 * its next boundary.
 */
export async function withRunTimeout<T>(
  promise: Promise<T>,
  runTimeout: string | number | undefined,
  abort: AbortController,
): Promise<T> {
  if (runTimeout === undefined) return promise;
  const ms = parseDurationMs(runTimeout) ?? 0;
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      promise,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => {
          const error = Object.assign(new Error(`the run took longer than ${ms} ms`), {
            code: 'run_timeout',
          });
          abort.abort(error);
          reject(error);
        }, ms);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}
