import { type DynamicModule, Global, Module } from '@nestjs/common';
import { MetricsListener } from './metrics-listener.service';
import { METRICS } from './metrics.port';
import { PromMetrics } from './prom-metrics';
import { ProcessHealth } from './process-health';

/**
 * Prometheus metrics for one process: PromMetrics (and METRICS, the port the ledger and
 * engine report to) for every module, and the process's ProcessHealth (draining or not)
 * that the health endpoints and the shutdown read. Global so the ledger's and engine's
 * optional METRICS injections find it without importing this module.
 */
@Global()
@Module({})
export class MetricsModule {
  /** `listen`: serve /metrics on `worker.metricsPort` (the worker; the gateway has its own route). */
  static forRoot(options: { listen?: boolean } = {}): DynamicModule {
    return {
      module: MetricsModule,
      providers: [
        { provide: PromMetrics, useFactory: () => new PromMetrics() },
        { provide: METRICS, useExisting: PromMetrics },
        ProcessHealth,
        ...(options.listen ? [MetricsListener] : []),
      ],
      exports: [PromMetrics, METRICS, ProcessHealth],
    };
  }
}
