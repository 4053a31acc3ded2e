import {
  Global,
  Inject,
  Injectable,
  Module,
  type DynamicModule,
  type OnModuleInit,
} from '@nestjs/common';
import { LOGGER, type Logger } from '@app/config';
import { WORK_DISPATCHER } from '@app/ledger';
import { BullmqDispatcher } from './bullmq-dispatcher';
import { RedisModule } from './redis.module';
import { ShardedQueues } from './sharded-queues';

/** Logs queue connection errors instead of letting an unhandled 'error' event crash the process. */
@Injectable()
class QueueErrorListener implements OnModuleInit {
  constructor(
    private readonly queues: ShardedQueues,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {}

  onModuleInit(): void {
    for (const queue of this.queues.everything()) {
      queue.on('error', (err) =>
        this.logger.warn({ queue: queue.name, err: err.message }, 'queue connection error'),
      );
    }
  }
}

/** BullMQ queues (producers, every shard) and the ledger's dispatcher on top of them. */
@Global()
@Module({})
export class QueuesModule {
  static forRoot(role: 'producer' | 'worker'): DynamicModule {
    const redis = RedisModule.forRoot(role);
    return {
      module: QueuesModule,
      imports: [redis],
      providers: [
        ShardedQueues,
        QueueErrorListener,
        BullmqDispatcher,
        { provide: WORK_DISPATCHER, useExisting: BullmqDispatcher },
      ],
      exports: [ShardedQueues, WORK_DISPATCHER, BullmqDispatcher, redis],
    };
  }
}
