import { Module } from '@nestjs/common';
import { MetricsController } from './metrics.controller';
import { MetricsSources } from './metrics-sources.service';

/** GET /metrics of the gateway; PromMetrics itself comes from the global MetricsModule. */
@Module({
  controllers: [MetricsController],
  providers: [MetricsSources],
})
export class GatewayMetricsModule {}
