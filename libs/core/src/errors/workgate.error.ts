/**
 * Every expected failure carries a code; the gateway maps codes to HTTP statuses
 * (problem+json) in one exception filter, workers decide retry or stop by code.
 */
export enum ErrorCode {
  SignatureInvalid = 'signature_invalid',
  SignatureMissing = 'signature_missing',
  TimestampOutOfTolerance = 'timestamp_out_of_tolerance',
  MalformedBody = 'malformed_body',
  BodyTooLarge = 'body_too_large',
  UnsupportedMediaType = 'unsupported_media_type',
  UnknownSource = 'unknown_source',
  MissingIdempotencyKey = 'missing_idempotency_key',
  /** A delivery id seen before, with a different body (the sender reused the key). */
  IdempotencyKeyReused = 'idempotency_key_reused',
  LedgerUnavailable = 'ledger_unavailable',
  QueueUnavailable = 'queue_unavailable',
  NotFound = 'not_found',
  InvalidTransition = 'invalid_transition',
  StaleLease = 'stale_lease',
  DeterminismViolation = 'determinism_violation',
  ValidationFailed = 'validation_failed',
  Unauthorized = 'unauthorized',
  Forbidden = 'forbidden',
  Configuration = 'configuration',
}

export class WorkgateError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly details?: Record<string, unknown>,
  ) {
    super(message);
    this.name = 'WorkgateError';
  }
}
