import { BullModule, InjectQueue } from '@nestjs/bullmq';
import {
  Global,
  Inject,
  Injectable,
  Module,
  type DynamicModule,
  type OnModuleInit,
} from '@nestjs/common';
import { Queue } from 'bullmq';
import { type Redis } from 'ioredis';
import { APP_CONFIG, type AppConfig, LOGGER, type Logger } from '@app/config';
import { WORK_DISPATCHER } from '@app/ledger';
import { BullmqDispatcher } from './bullmq-dispatcher';
import { QUEUE_NAMES } from './job-catalog';
import { REDIS, RedisModule } from './redis.module';

/** Logs queue connection errors instead of letting an unhandled 'error' event crash the process. */
@Injectable()
class QueueErrorListener implements OnModuleInit {
  constructor(
    @InjectQueue(QUEUE_NAMES.work) private readonly work: Queue,
    @InjectQueue(QUEUE_NAMES.wake) private readonly wake: Queue,
    @InjectQueue(QUEUE_NAMES.outbox) private readonly outbox: Queue,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {}

  onModuleInit(): void {
    for (const queue of [this.work, this.wake, this.outbox]) {
      queue.on('error', (err) =>
        this.logger.warn({ queue: queue.name, err: err.message }, 'queue connection error'),
      );
    }
  }
}

/** BullMQ queues (producers) and the ledger's dispatcher on top of them. */
@Global()
@Module({})
export class QueuesModule {
  static forRoot(role: 'producer' | 'worker'): DynamicModule {
    const redis = RedisModule.forRoot(role);
    return {
      module: QueuesModule,
      imports: [
        redis,
        BullModule.forRootAsync({
          imports: [redis],
          inject: [APP_CONFIG, REDIS],
          useFactory: (config: AppConfig, connection: Redis) => ({
            connection,
            prefix: config.env.WORKGATE_QUEUE_PREFIX,
          }),
        }),
        BullModule.registerQueue(
          { name: QUEUE_NAMES.work },
          { name: QUEUE_NAMES.wake },
          { name: QUEUE_NAMES.outbox },
        ),
      ],
      providers: [
        QueueErrorListener,
        BullmqDispatcher,
        { provide: WORK_DISPATCHER, useExisting: BullmqDispatcher },
      ],
      exports: [BullModule, WORK_DISPATCHER, BullmqDispatcher, redis],
    };
  }
}
