import { Inject, Injectable, type OnApplicationBootstrap } from '@nestjs/common';
import { z } from 'zod';
import { LOGGER, type Logger } from '@app/config';
import { type WorkflowKindRegistration, WorkflowKindRepository } from '@app/ledger';
import { WorkRunner } from '../runner/work-runner.service';
import { type AnyWorkflowDefinition } from './define-workflow';
import { WorkflowRegistry } from './workflow-registry';

/**
 * What the gateway may know of a workflow without loading its code: the kind, its
 * description and the JSON Schema of its input (zod 4's own converter, on the input
 * side: what a caller sends, before transforms and defaults). A schema zod cannot
 * express in JSON Schema (a refinement, a custom check) is widened to "anything" there:
 * the gateway then lets such a value through and the workflow's own zod check, which
 * runs before its first step, still refuses it.
 */
export function describeWorkflow(definition: AnyWorkflowDefinition): WorkflowKindRegistration {
  const schema = definition.options.input;
  let inputSchema: unknown = null;
  if (schema) {
    try {
      const { $schema: _dialect, ...rest } = z.toJSONSchema(schema, {
        target: 'draft-2020-12',
        io: 'input',
        unrepresentable: 'any',
      });
      inputSchema = rest;
    } catch {
      // e.g. a recursive lazy schema zod cannot convert: the gateway checks nothing.
      inputSchema = null;
    }
  }
  return {
    kind: definition.name,
    description: definition.options.description ?? null,
    inputSchema,
  };
}

/**
 * Registers this worker's kinds in the ledger at start, so the gateway can check
 * `POST /api/v1/works` against them. A failure is logged, not fatal: the worker still
 * runs works opened by webhooks, chats and schedules, only the API start of a kind the
 * ledger has not heard of is refused until the next start succeeds.
 */
@Injectable()
export class WorkflowCatalogPublisher implements OnApplicationBootstrap {
  constructor(
    private readonly registry: WorkflowRegistry,
    private readonly kinds: WorkflowKindRepository,
    private readonly runner: WorkRunner,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    const described = this.registry
      .names()
      .map((name) => describeWorkflow(this.registry.get(name)!));
    try {
      await this.kinds.register(described, this.runner.workerId);
    } catch (err) {
      this.logger.warn(
        { err: (err as Error).message },
        'could not register workflow kinds; API starts of new kinds are refused until it works',
      );
    }
  }
}
