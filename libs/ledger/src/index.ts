export * from './channel-cursors/channel-cursor.repository';
export * from './database/database-errors';
export * from './database/ledger-database';
export * from './database/ledger-read-database';
export * from './database/pg-row';
export * from './database/statement-batcher';
export * from './ingest/answer-validator';
export * from './ingest/ingest.service';
export * from './ingest/inbox-rerouter';
export { returnReadEvents } from './ingest/inbox.sql';
export * from './lease/lease.service';
export * from './ledger.module';
export * from './migrations/migration-runner';
export * from './ports/work-dispatcher.port';
export * from './system/button-secret.provision';
export * from './system/crypto-id-generator';
export * from './system/system-clock';
export * from './work/as-created';
export * from './work/work-row';
export * from './work/work.repository';
export * from './outbox/outbox.repository';
export * from './retention/retention.repository';
export * from './steps/step.repository';
export {
  completeStepSet,
  stepCheckpointInput,
  stepCheckpointValues,
  stepCheckpointWrites,
  type StepCheckpoint,
} from './steps/step-completion.sql';
export * from './waits/wait.repository';
export * from './waits/wait-prompt-edits';
export * from './schedules/schedule.repository';
export * from './operator/keyset-cursor.util';
export * from './operator/operator.types';
export * from './operator/operator-works.repository';
export * from './operator/works-search.sql';
export * from './operator/operator-events.repository';
export * from './operator/operator-outbox.repository';
export * from './operator/operator-conversation.repository';
export * from './tokens/api-token.repository';
export * from './workflows/workflow-kind.repository';
export * from './memory/person-memory.repository';
export * from './attachments/attachment-store.factory';
export * from './attachments/local-directory-attachment.store';
export * from './attachments/postgres-attachment.store';
export * from './attachments/s3-attachment.store';
export * from './attachments/s3-attachment-store.error';
