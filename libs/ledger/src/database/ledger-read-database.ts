import { type LedgerDatabase } from './ledger-database';

/**
 * Where the operator's work lists, search and stats read: a replica's pool when
 * DATABASE_READ_URL is set, else the ledger's own. Only reads that may lag the primary
 * go here (a list refreshed a moment later shows the rest); a work's own page, its
 * result and every write stay on the primary, so an operator who just acted sees it.
 */
export class LedgerReadDatabase {
  constructor(
    readonly db: LedgerDatabase,
    /** Its own pool, closed with the ledger; false when it is the ledger's pool. */
    readonly separate: boolean,
  ) {}

  async close(): Promise<void> {
    if (this.separate) await this.db.close();
  }
}
