/** A stored cursor value (a channel's read position) and when it last moved. */
export interface StoredCursor {
  value: string;
  updatedAt: Date;
}

/**
 * Holding a channel's cursor lease: the one holder, across replicas, that reads and
 * moves the cursors of what it leased (e.g. one bot's long-poll offset). The lease is a
 * fence: once it is lost, writeCursor fails, whatever its holder still believes.
 */
export interface CursorLease {
  /** True once the lease is gone (its store restarted, the network was cut, released). */
  readonly lost: boolean;
  /** Resolves when the lease is lost, so a long poll can be cut short. */
  readonly whenLost: Promise<void>;
  readCursor(key: string): Promise<StoredCursor | null>;
  writeCursor(key: string, value: string): Promise<void>;
  release(): Promise<void>;
}

/**
 * Where channels keep their cursors, behind the lease that makes one replica their
 * writer. Channels never touch the database themselves (DESIGN.md): the ledger
 * implements this port (ChannelCursorRepository) and the channel is handed it.
 */
export interface ChannelCursorStore {
  /**
   * The lease named `name` (e.g. `telegram-poller:<bot>`), or null while another holder
   * has it. Throws when the store cannot be reached.
   */
  tryAcquire(name: string): Promise<CursorLease | null>;
}
export const CHANNEL_CURSOR_STORE = Symbol('ChannelCursorStore');
