import { Injectable } from '@nestjs/common';

/** One dependency's answer to a readiness probe. */
export interface ProbeResult {
  ok: boolean;
  latencyMs: number;
  error?: string;
}

/**
 * Whether this process still wants traffic and work. It stops wanting them at SIGTERM:
 * from then on readiness answers 503 (a load balancer or Kubernetes takes the process
 * out of rotation) while liveness stays 200 (the process is busy finishing, not stuck,
 * and a restart now would cut that short).
 */
@Injectable()
export class ProcessHealth {
  private drainingSince: Date | null = null;

  get draining(): boolean {
    return this.drainingSince !== null;
  }

  /** Idempotent: the first call's time is kept. */
  beginDraining(): void {
    this.drainingSince ??= new Date();
  }

  /** Readiness from the dependencies' probes: unready while draining or when one failed. */
  readiness<C extends Record<string, ProbeResult>>(
    checks: C,
  ): { ok: boolean; body: { status: 'ok' | 'unavailable' | 'draining'; checks: C } } {
    if (this.draining) return { ok: false, body: { status: 'draining', checks } };
    const ok = Object.values(checks).every((c) => c.ok);
    return { ok, body: { status: ok ? 'ok' : 'unavailable', checks } };
  }
}

/** Runs one dependency check with a time limit (a hung connection is a failed check). */
export async function probeDependency(
  fn: () => Promise<unknown>,
  timeoutMs: number,
): Promise<ProbeResult> {
  const started = performance.now();
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      fn(),
      new Promise((_, reject) => {
        timer = setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
      }),
    ]);
    return { ok: true, latencyMs: Math.round(performance.now() - started) };
  } catch (err) {
    return {
      ok: false,
      latencyMs: Math.round(performance.now() - started),
      error: (err as Error).message,
    };
  } finally {
    clearTimeout(timer);
  }
}
