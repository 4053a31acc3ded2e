import { Inject, Injectable } from '@nestjs/common';
import { CLOCK, type Clock, ID_GENERATOR, type IdGenerator } from '@app/core';
import { LOGGER, type Logger } from '@app/config';
import {
  AnswerValidator,
  LeaseService,
  LedgerDatabase,
  OutboxRepository,
  StepRepository,
  WaitRepository,
  WORK_DISPATCHER,
  type WorkDispatcher,
  WorkRepository,
} from '@app/ledger';
import { CheckpointSystem } from './checkpoint.system';
import { FencedTransactions } from './fenced-transaction';
import { InboxReader } from './inbox.reader';
import { RecordedStepSystem } from './recorded-step.system';
import { RunClaimSystem } from './run-claim.system';
import { RunEndSystem } from './run-end.system';
import { type RunResources } from './run-resources';
import { RunningStepSystem } from './running-step.system';
import { WaitSystem } from './wait.system';

/**
 * Every ledger write a run makes, as systems that share one RunResources (the model is
 * trigger.dev's run engine): each write is fenced on the run's lease token — a zombie
 * worker's late writes throw LeaseLostError instead of landing — and enqueues its jobs
 * only after its commit. The hot path (step starts and checkpoints) shares statements
 * between runs; everything else is one locked transaction (FencedTransactions).
 */
@Injectable()
export class RunStore {
  /** Claiming a work for a run and loading its record. */
  readonly claims: RunClaimSystem;
  /** The run's pending checkpoints, written in order before any other write. */
  readonly checkpoints: CheckpointSystem;
  /** A step's row while its body runs: start, heartbeat, failure. */
  readonly steps: RunningStepSystem;
  /** Steps written whole with their checkpoint: values, due sleeps, model calls, sends. */
  readonly recorded: RecordedStepSystem;
  /** Suspending on a wait: timers, events, asks, child works. */
  readonly waits: WaitSystem;
  /** The work's inbox as the run reads it. */
  readonly inbox: InboxReader;
  /** Completion, failure, release and the interrupt restart. */
  readonly ends: RunEndSystem;

  constructor(
    db: LedgerDatabase,
    works: WorkRepository,
    steps: StepRepository,
    waits: WaitRepository,
    outbox: OutboxRepository,
    validator: AnswerValidator,
    @Inject(ID_GENERATOR) ids: IdGenerator,
    @Inject(CLOCK) clock: Clock,
    @Inject(WORK_DISPATCHER) dispatcher: WorkDispatcher,
    @Inject(LOGGER) logger: Logger,
    leases: LeaseService,
  ) {
    const resources: RunResources = {
      db,
      works,
      steps,
      waits,
      outbox,
      validator,
      ids,
      clock,
      dispatcher,
      logger,
      leases,
    };
    const transactions = new FencedTransactions(resources);
    this.checkpoints = new CheckpointSystem(resources, transactions);
    this.claims = new RunClaimSystem(resources, this.checkpoints, transactions);
    this.steps = new RunningStepSystem(resources, this.checkpoints);
    this.recorded = new RecordedStepSystem(resources, this.checkpoints, transactions);
    this.inbox = new InboxReader(resources);
    this.waits = new WaitSystem(resources, this.checkpoints, transactions, this.inbox);
    this.ends = new RunEndSystem(resources, this.checkpoints, transactions);
  }
}
