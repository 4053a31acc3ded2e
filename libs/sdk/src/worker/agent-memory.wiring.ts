import { Injectable, type OnModuleInit } from '@nestjs/common';
import { configureMemoryStore } from '@app/agent';
import { PersonMemoryRepository } from '@app/ledger';

/**
 * Gives the assistants of this process the ledger's memory table (agent.memory): the
 * agent sees core's PersonMemoryStore port only, never the ledger (DESIGN.md).
 */
@Injectable()
export class AgentMemoryWiring implements OnModuleInit {
  constructor(private readonly memory: PersonMemoryRepository) {}

  onModuleInit(): void {
    configureMemoryStore(this.memory);
  }
}
