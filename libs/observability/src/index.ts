export * from './metrics.port';
export * from './prom-metrics';
export * from './metrics.module';
export * from './metrics-listener.service';
export * from './process-health';
export * from './small-listener';
