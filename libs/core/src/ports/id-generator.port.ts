/** Ids and randomness, behind a port so the core stays pure and tests can seed it. */
export interface IdGenerator {
  /** A UUIDv7 (time-ordered). */
  uuid(): string;
  /** A float in [0, 1). */
  random(): number;
}
export const ID_GENERATOR = Symbol('IdGenerator');
