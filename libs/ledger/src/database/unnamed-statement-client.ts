import { Client, type QueryConfig } from 'pg';

/**
 * A pg Client that sends every statement unnamed, even where the code names it for
 * reuse (`{ name: 'step-start-batch', text, values }`). A named statement is prepared
 * once per server connection and then only bound; behind a pooler in transaction mode
 * the next transaction runs on another server connection, where the name is unknown
 * (26000 "prepared statement … does not exist") or, worse, means another client's
 * statement. PgBouncer before 1.21 does not track names, so there they must go.
 * An unnamed statement is parsed, bound and executed in one round trip all the same.
 */
export class UnnamedStatementClient extends Client {
  // pg's query() has a dozen overloads; each takes the text or a config object first.
  override query(...args: unknown[]): never {
    const [first, ...rest] = args;
    // The casts only pick an overload for the compiler; pg sorts the arguments at run time.
    return super.query(withoutName(first) as QueryConfig, ...(rest as [unknown[]])) as never;
  }
}

/** The query config without its statement name (a copy); anything else as it is. */
export function withoutName(config: unknown): unknown {
  // A Submittable (pg-cursor, pg-query-stream) is an object with its own submit(), not
  // a config to copy; none here is named.
  if (typeof config !== 'object' || config === null || !('name' in config)) return config;
  if ('submit' in config) return config;
  const copy: Record<string, unknown> = { ...config };
  delete copy.name;
  return copy;
}
