import { Inject, Injectable, Optional } from '@nestjs/common';
import {
  ID_GENERATOR,
  type IdGenerator,
  type InboundEventInput,
  type IngestResult,
} from '@app/core';
import { LOGGER, type Logger } from '@app/config';
import { METRICS, type MetricsPort, NOOP_METRICS } from '@app/observability';
import { LedgerDatabase } from '../database/ledger-database';
import { translateDatabaseError } from '../database/database-errors';
import { type Dispatch, WORK_DISPATCHER, type WorkDispatcher } from '../ports/work-dispatcher.port';
import { dispatchAfterCommit } from './after-commit';
import { CorrelatedResume } from './correlated-resume';
import { assertStorableEvent } from './ingest-event.util';
import { LockedIngest } from './locked-ingest';
import { claimRawBody } from './raw-body-claim';
import { UnkeyedIngest } from './unkeyed-ingest';

export { conversationLocks } from './ingest-event.util';
export { type WorkflowDefaults, WORKFLOW_DEFAULTS } from './ingest.types';

/**
 * Turns a verified, normalized event into a ledger fact. The general path is ONE
 * transaction (LockedIngest): serialize on the conversation (advisory lock) → dedupe
 * on (channel, externalId) → load the candidates → route() → apply the decision →
 * record it on the event. Only after COMMIT are jobs enqueued, and only then may the
 * channel answer 2xx. Two common cases skip the transaction, each written in one
 * statement with the same outcome: an event that names no existing work
 * (UnkeyedIngest), and a reply that resumes an open wait by its correlation key
 * (CorrelatedResume).
 */
@Injectable()
export class IngestService {
  constructor(
    private readonly db: LedgerDatabase,
    private readonly unkeyed: UnkeyedIngest,
    private readonly correlated: CorrelatedResume,
    private readonly locked: LockedIngest,
    @Inject(ID_GENERATOR) private readonly ids: IdGenerator,
    @Inject(WORK_DISPATCHER) private readonly dispatcher: WorkDispatcher,
    @Inject(LOGGER) private readonly logger: Logger,
    @Optional() @Inject(METRICS) private readonly metrics: MetricsPort = NOOP_METRICS,
  ) {}

  /**
   * `rawBody`: the exact bytes a signed delivery arrived as. They are kept, and a
   * delivery id seen before with other bytes is refused (see claimRawBody).
   */
  async ingest(
    event: InboundEventInput,
    opts: { rawBody?: Uint8Array } = {},
  ): Promise<IngestResult> {
    assertStorableEvent(event);
    let dispatches: Dispatch[] = [];
    let result: IngestResult;
    try {
      if (opts.rawBody)
        await claimRawBody(this.db.pool, event, opts.rawBody, () => this.ids.uuid());
      const resumed = await this.correlated.tryResume(event);
      if (resumed) ({ result, dispatches } = resumed);
      else {
        const unkeyed = await this.unkeyed.tryIngest(event);
        if (unkeyed) result = unkeyed;
        else ({ result, dispatches } = await this.locked.ingest(event));
      }
    } catch (err) {
      translateDatabaseError(err);
    }
    if (result.duplicate) {
      this.metrics.eventDuplicate(event.channel);
      this.logger.debug(
        { eventId: result.eventId, externalId: event.externalId },
        'duplicate delivery',
      );
      return result;
    }
    this.logger.info(
      {
        eventId: result.eventId,
        workId: result.workId,
        channel: event.channel,
        source: event.source,
        decision: result.decision,
      },
      `event ${result.decision}: ${result.reason}`,
    );
    // Counted once committed: every channel (webhooks, chat, schedules, the API) ingests here.
    this.metrics.eventIngested(event.channel, result.decision);
    await dispatchAfterCommit(this.dispatcher, this.logger, dispatches, {
      eventId: result.eventId,
      workId: result.workId,
    });
    return result;
  }
}
