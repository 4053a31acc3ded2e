import {
  type DynamicModule,
  Global,
  Inject,
  Module,
  type OnApplicationShutdown,
} from '@nestjs/common';
import { CHANNEL_CURSOR_STORE, CLOCK, type Clock, ID_GENERATOR } from '@app/core';
import { ChannelCursorRepository } from './channel-cursors/channel-cursor.repository';
import { LedgerDatabase } from './database/ledger-database';
import {
  ledgerDatabaseProvider,
  ledgerReadDatabaseProvider,
} from './database/ledger-database.provider';
import { LedgerReadDatabase } from './database/ledger-read-database';
import { AnswerValidator } from './ingest/answer-validator';
import { ChatCommands } from './ingest/chat-commands';
import { ChatRateLimit } from './ingest/chat-rate-limit';
import { ChatReplies } from './ingest/chat-replies';
import { WaitPromptEdits } from './waits/wait-prompt-edits';
import { ChatResponders } from './ingest/chat-responders';
import { ChatRouting } from './ingest/chat-routing';
import { CorrelatedResume } from './ingest/correlated-resume';
import { DecisionApplier } from './ingest/decision-applier';
import { InboxWriter } from './ingest/inbox-writer';
import { LockedIngest } from './ingest/locked-ingest';
import { LockedResume } from './ingest/locked-resume';
import { RouteCandidateReader } from './ingest/route-candidates';
import { UnkeyedIngest } from './ingest/unkeyed-ingest';
import { IngestService } from './ingest/ingest.service';
import { InboxRerouter } from './ingest/inbox-rerouter';
import { LeaseService } from './lease/lease.service';
import { OperatorConversationRepository } from './operator/operator-conversation.repository';
import { OperatorEventsRepository } from './operator/operator-events.repository';
import { OperatorOutboxRepository } from './operator/operator-outbox.repository';
import { OperatorWorksRepository } from './operator/operator-works.repository';
import { OutboxRepository } from './outbox/outbox.repository';
import { RetentionRepository } from './retention/retention.repository';
import { ScheduleRepository } from './schedules/schedule.repository';
import { StepRepository } from './steps/step.repository';
import { WaitRepository } from './waits/wait.repository';
import { CryptoIdGenerator } from './system/crypto-id-generator';
import { SystemClock } from './system/system-clock';
import { ApiTokenRepository } from './tokens/api-token.repository';
import { WorkRepository } from './work/work.repository';
import { ChatMemoryCommands } from './ingest/chat-memory-commands';
import { PersonMemoryRepository } from './memory/person-memory.repository';
import { WorkflowKindRepository } from './workflows/workflow-kind.repository';

/**
 * The ledger: the database, the repositories and the ingest service. Global, because
 * every other module reads or writes the ledger. Expects a WORK_DISPATCHER provider
 * from the queues (libs/engine) in the application.
 */
@Global()
@Module({
  providers: [
    ledgerDatabaseProvider,
    ledgerReadDatabaseProvider,
    { provide: CLOCK, useClass: SystemClock },
    { provide: ID_GENERATOR, useClass: CryptoIdGenerator },
    WorkRepository,
    AnswerValidator,
    ChatResponders,
    ChatReplies,
    ChatRateLimit,
    WaitPromptEdits,
    ChatCommands,
    ChatMemoryCommands,
    ChatRouting,
    RouteCandidateReader,
    InboxWriter,
    LockedResume,
    DecisionApplier,
    LockedIngest,
    UnkeyedIngest,
    CorrelatedResume,
    IngestService,
    InboxRerouter,
    LeaseService,
    StepRepository,
    WaitRepository,
    OutboxRepository,
    RetentionRepository,
    ScheduleRepository,
    OperatorWorksRepository,
    OperatorEventsRepository,
    OperatorOutboxRepository,
    OperatorConversationRepository,
    ApiTokenRepository,
    WorkflowKindRepository,
    PersonMemoryRepository,
    ChannelCursorRepository,
    { provide: CHANNEL_CURSOR_STORE, useExisting: ChannelCursorRepository },
  ],
  exports: [
    WaitPromptEdits,
    LedgerDatabase,
    LedgerReadDatabase,
    CLOCK,
    ID_GENERATOR,
    WorkRepository,
    AnswerValidator,
    IngestService,
    InboxRerouter,
    LeaseService,
    StepRepository,
    WaitRepository,
    OutboxRepository,
    RetentionRepository,
    ScheduleRepository,
    OperatorWorksRepository,
    OperatorEventsRepository,
    OperatorOutboxRepository,
    OperatorConversationRepository,
    ApiTokenRepository,
    WorkflowKindRepository,
    PersonMemoryRepository,
    ChannelCursorRepository,
    CHANNEL_CURSOR_STORE,
  ],
})
export class LedgerModule implements OnApplicationShutdown {
  /**
   * The ledger with another clock (the SDK's test kit skips time with one). A dynamic
   * module's providers are registered after the decorator's, so this CLOCK replaces the
   * system one for every module that imports the ledger.
   */
  static withClock(clock: Clock): DynamicModule {
    return { module: LedgerModule, providers: [{ provide: CLOCK, useValue: clock }] };
  }

  constructor(
    @Inject(LedgerDatabase) private readonly db: LedgerDatabase,
    @Inject(LedgerReadDatabase) private readonly read: LedgerReadDatabase,
  ) {}

  async onApplicationShutdown(): Promise<void> {
    await this.read.close();
    await this.db.close();
  }
}
