import { Injectable } from '@nestjs/common';
import { normalizeRetryPolicy, type RetryPolicy } from '@app/core';
import { type WorkflowDefaults } from '@app/ledger';
import { type AnyWorkflowDefinition, type WorkflowDefinition } from './define-workflow';

/** Every workflow kind this process can run, by name. */
@Injectable()
export class WorkflowRegistry implements WorkflowDefaults {
  private readonly definitions = new Map<string, WorkflowDefinition>();

  register(...definitions: AnyWorkflowDefinition[]): this {
    for (const definition of definitions) {
      if (this.definitions.has(definition.name)) {
        throw new Error(`workflow "${definition.name}" is registered twice`);
      }
      this.definitions.set(definition.name, definition as WorkflowDefinition);
    }
    return this;
  }

  get(name: string): WorkflowDefinition | undefined {
    return this.definitions.get(name);
  }

  has(name: string): boolean {
    return this.definitions.has(name);
  }

  names(): string[] {
    return [...this.definitions.keys()].sort();
  }

  retryPolicy(kind: string): RetryPolicy {
    return normalizeRetryPolicy(this.definitions.get(kind)?.options.retry);
  }

  /** Refuses to start when configuration names a workflow nobody registered. */
  assertKnown(kinds: Iterable<{ kind: string; where: string }>): void {
    const unknown = [...kinds].filter((k) => !this.definitions.has(k.kind));
    if (unknown.length) {
      throw new Error(
        `unknown workflow kind(s): ${unknown.map((u) => `"${u.kind}" (${u.where})`).join(', ')}; registered: ${this.names().join(', ') || 'none'}`,
      );
    }
  }
}
