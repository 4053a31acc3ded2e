import { isPerItemFailure } from './database-errors';

/**
 * Group commit for one kind of statement: items submitted while earlier batches are in
 * flight go together in the next one, so under load concurrent callers share one
 * statement and one commit (one WAL flush), and a lone caller waits for nothing — no
 * timer, no added latency. Each caller's promise settles once its batch has committed.
 *
 * One item must not fail the others: when PostgreSQL refuses a batch for what may be
 * one item's fault (a value a column cannot hold, a constraint, a lock conflict:
 * isPerItemFailure), each item runs again alone and only the ones that fail alone get
 * an error. Any other failure (the database gone, an error after the statement may
 * have committed) fails every item with it. `execute` must therefore be all or nothing
 * (one statement, or one transaction).
 *
 * Hand-written: dataloader, the usual library, batches the calls made in one event-loop
 * tick, and concurrent runs — each woken by its own database reply — rarely share a tick.
 */
interface Entry<I, O> {
  item: I;
  resolve: (out: O) => void;
  reject: (err: unknown) => void;
}

export class StatementBatcher<I, O> {
  private readonly queue: Array<Entry<I, O>> = [];
  private inFlight = 0;

  constructor(
    /** Runs one batch as one statement; returns one result per item, in order. */
    private readonly execute: (items: I[]) => Promise<O[]>,
    private readonly options: { maxBatch: number; maxInFlight: number } = {
      maxBatch: 64,
      maxInFlight: 2,
    },
  ) {}

  submit(item: I): Promise<O> {
    return new Promise<O>((resolve, reject) => {
      this.queue.push({ item, resolve, reject });
      this.pump();
    });
  }

  /** One item of a refused batch, on its own (beside the batches, which go on meanwhile). */
  private runAlone(entry: Entry<I, O>): void {
    this.execute([entry.item]).then((outs) => entry.resolve(outs[0] as O), entry.reject);
  }

  private pump(): void {
    while (this.inFlight < this.options.maxInFlight && this.queue.length) {
      const batch = this.queue.splice(0, this.options.maxBatch);
      this.inFlight++;
      // The next batch starts before this one's callers hear back: they are about to
      // submit again, and the statement should already be on its way.
      const settled = () => {
        this.inFlight--;
        this.pump();
      };
      this.execute(batch.map((b) => b.item)).then(
        (outs) => {
          settled();
          batch.forEach((b, i) => b.resolve(outs[i] as O));
        },
        (err: unknown) => {
          settled();
          if (batch.length > 1 && isPerItemFailure(err)) for (const b of batch) this.runAlone(b);
          else batch.forEach((b) => b.reject(err));
        },
      );
    }
  }
}
