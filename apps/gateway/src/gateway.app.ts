import 'reflect-metadata';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';
import { BodyPolicies } from '@app/channels/core';
import { WebhookService } from '@app/channels/webhook';
import { SlackIngressService } from '@app/channels/slack';
import { TelegramIngressService } from '@app/channels/telegram';
import { type AppConfig, type Logger, NestPinoLogger, redisTargetOf } from '@app/config';
import { provisionButtonSecret } from '@app/ledger';
import { checkRedisEvictionPolicy } from '@app/engine';
import { ApiModule } from './api/api.module';
import { buildOpenApiDocument, setupOpenApi } from './api/openapi';
import { registerDashboard } from './dashboard/dashboard';
import { GatewayModule } from './gateway.module';
import { registerBodyParser } from './http/body-parser';
import { clientErrorHandler, EdgeErrors, frameworkErrors } from './http/edge-errors';

/**
 * Builds the gateway (not listening yet): Fastify with our own body parser, every
 * channel's routes, the problem+json filter. main.ts and the tests both use it.
 */
export async function createGateway(
  configured: AppConfig,
  logger: Logger,
): Promise<NestFastifyApplication> {
  await checkRedisEvictionPolicy(
    redisTargetOf(configured),
    configured.env.WORKGATE_ALLOW_REDIS_EVICTION,
    logger,
  );
  // Before anything reads the config: the gateway verifies the buttons the worker signs.
  const config = await provisionButtonSecret(configured);
  const adapter = new FastifyAdapter({
    // Behind a load balancer the real client address is in X-Forwarded-For.
    trustProxy: true,
    // Larger bodies are refused while streaming by our parser; this is only a backstop.
    bodyLimit: 64 * 1024 * 1024,
    return503OnClosing: true,
    forceCloseConnections: 'idle',
    // Errors before routing answer problem+json too (see edge-errors.ts).
    clientErrorHandler,
    frameworkErrors,
  });
  const edgeErrors = new EdgeErrors();
  edgeErrors.collectRoutes(adapter.getInstance());
  const app = await NestFactory.create<NestFastifyApplication>(
    GatewayModule.forRoot({ config, logger }),
    adapter,
    {
      bodyParser: false,
      logger: new NestPinoLogger(logger.child({ component: 'nest' })),
      bufferLogs: false,
    },
  );
  const policies = new BodyPolicies();
  policies.register(app.get(WebhookService).bodyPolicy);
  policies.register(app.get(SlackIngressService).bodyPolicy);
  policies.register(app.get(TelegramIngressService).bodyPolicy);
  registerBodyParser(app.getHttpAdapter().getInstance(), policies, config.server.bodyLimit);
  edgeErrors.register(app.getHttpAdapter().getInstance());
  setupOpenApi(app, buildOpenApiDocument(app, [ApiModule]));
  await registerDashboard(app);
  return app;
}
