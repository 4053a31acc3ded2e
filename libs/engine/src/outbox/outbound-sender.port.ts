export type { OutboundDelivery, OutboundSender, RateLimit } from '@app/core';
export { OutboundError } from '@app/core';

/** DI token: the worker's OutboundSender[] (one per channel). */
export const OUTBOUND_SENDERS = Symbol('OUTBOUND_SENDERS');
