import { type DynamicModule, Module } from '@nestjs/common';
import { DiscoveryModule } from '@nestjs/core';
import { EngineControl } from './control/engine-control.service';
import { JobRouter } from './jobs/job-router.service';
import { QueueProcessors } from './jobs/processors';
import { WorkerHealthListener } from './lifecycle/worker-health.listener';
import { WorkerShutdown } from './lifecycle/worker-shutdown.service';
import { OUTBOUND_SENDERS, type OutboundSender } from './outbox/outbound-sender.port';
import { OutboxService } from './outbox/outbox.service';
import { QueuesModule } from './queues/queues.module';
import { InboxRerouteService } from './reconciler/inbox-reroute.service';
import { LeaseSweeper } from './reconciler/lease-sweeper.service';
import { RECONCILE_CONTRIBUTORS, ReconcilerService } from './reconciler/reconciler.service';
import { RetentionService } from './reconciler/retention.service';
import { RunStore } from './runner/run-store';
import { TimerWheel } from './runner/timer-wheel.service';
import { WakeService } from './runner/wake.service';
import { WorkRunner } from './runner/work-runner.service';
import { ScheduleService } from './schedules/schedule.service';
import { type AnyWorkflowDefinition } from './workflow/define-workflow';
import { WorkflowCatalogPublisher } from './workflow/workflow-catalog';
import { WorkflowRegistry } from './workflow/workflow-registry';
import { WORKFLOW_DEFAULTS } from '@app/ledger';

export interface EngineWorkerOptions {
  workflows: AnyWorkflowDefinition[];
  /** Outbound channels (http webhooks, Telegram, Slack) by channel name. */
  senders?: OutboundSender[];
}

/**
 * The durable execution engine as the worker runs it: processors for the three
 * queues, the runner, timers, the outbox, schedules and the reconciler. Needs the
 * ledger and config modules.
 */
@Module({})
export class EngineModule {
  static forWorker(options: EngineWorkerOptions): DynamicModule {
    const registry = new WorkflowRegistry().register(...options.workflows);
    return {
      module: EngineModule,
      // Global: the ledger's ingest service takes each kind's retry policy from the registry.
      global: true,
      imports: [DiscoveryModule, QueuesModule.forRoot('worker')],
      providers: [
        { provide: WorkflowRegistry, useValue: registry },
        { provide: WORKFLOW_DEFAULTS, useExisting: WorkflowRegistry },
        { provide: OUTBOUND_SENDERS, useValue: options.senders ?? [] },
        RunStore,
        WorkRunner,
        WakeService,
        // Timers due within worker.timerLookahead fired in-process (the delayed job backs it up).
        TimerWheel,
        EngineControl,
        OutboxService,
        ScheduleService,
        InboxRerouteService,
        RetentionService,
        {
          provide: RECONCILE_CONTRIBUTORS,
          useFactory: (
            schedules: ScheduleService,
            inboxes: InboxRerouteService,
            retention: RetentionService,
          ) => [schedules, inboxes, retention],
          inject: [ScheduleService, InboxRerouteService, RetentionService],
        },
        LeaseSweeper,
        ReconcilerService,
        JobRouter,
        QueueProcessors,
        WorkflowCatalogPublisher,
        // SIGTERM: stop claiming, runs to a step boundary, release the rest (rolling restarts).
        WorkerShutdown,
        // /health/live and /health/ready on worker.healthPort (0 = off).
        WorkerHealthListener,
      ],
      exports: [
        WorkflowRegistry,
        WORKFLOW_DEFAULTS,
        EngineControl,
        WorkRunner,
        WakeService,
        TimerWheel,
        ReconcilerService,
        RunStore,
        OutboxService,
        ScheduleService,
        RetentionService,
        WorkerHealthListener,
      ],
    };
  }

  /** What the gateway needs: operator control over works, without running them. */
  static forGateway(): DynamicModule {
    return {
      module: EngineModule,
      imports: [QueuesModule.forRoot('producer')],
      providers: [EngineControl],
      exports: [EngineControl],
    };
  }
}
