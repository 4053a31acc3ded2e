/**
 * Every derived identifier in one place, so the ledger, the queues and outbound
 * calls agree on them.
 *
 * BullMQ 6 refuses custom job ids that contain ':' unless they have exactly three
 * ':'-separated parts, so every job id here has three parts (DESIGN.md's `wait:<id>`
 * and `out:<id>` gained a third: the escalation rung and the delivery attempt).
 */
export const jobIds = {
  work: (workId: string, runSeq: number) => `work:${workId}:${runSeq}`,
  wait: (waitId: string, rung: number) => `wait:${waitId}:${rung}`,
  retry: (workId: string, attempt: number) => `retry:${workId}:${attempt}`,
  outbox: (outboxId: string, attempt: number) => `out:${outboxId}:${attempt}`,
  schedule: (scheduleId: string, fireAtMs: number) => `sched:${scheduleId}:${fireAtMs}`,
  /** The unread inbox of a work that ended (per run: a retried work can end again). */
  reroute: (workId: string, runSeq: number) => `reroute:${workId}:${runSeq}`,
} as const;

/**
 * The idempotency key of a step, `<work>:<seq>:<step row id>`: stable while its Step row
 * lives — a crash or a failed attempt runs the same row again — so a side effect
 * repeated after a crash can be recognised by its target. A rerun from an earlier step,
 * or an interrupt, deletes the row and runs the step anew: that run is meant to act
 * again (send again, call again), so it gets a new row and with it a new key. (The key
 * was `<work>:<seq>` once; a rerun's ctx.send then found the old outbox row and sent
 * nothing.)
 */
export function stepIdempotencyKey(workId: string, seq: number, stepId: string): string {
  return `${workId}:${seq}:${stepId}`;
}

/**
 * The key of a message a wait sends (its prompt, or a reminder/escalation rung `n`):
 * per wait, so a step asked again — a new wait — asks again and climbs its ladder again.
 */
export function waitMessageKey(
  workId: string,
  seq: number,
  waitId: string,
  message: 'prompt' | `rung${number}`,
): string {
  return `${workId}:${seq}:${message}:${waitId}`;
}

/** Provider ids are unique per source (a bot, a workspace, a webhook source), not globally. */
export function scopedExternalId(source: string, providerId: string): string {
  return `${source}:${providerId}`;
}

/** A schedule fires once per (schedule, fire time), however many replicas see it due. */
export function scheduleFireId(scheduleId: string, fireAtMs: number): string {
  return `${scheduleId}@${new Date(fireAtMs).toISOString()}`;
}

/**
 * The conversation key of an address: `<channel>:<target>[:<thread>][/<party>]`. Channels build
 * inbound keys the same way, so a wait opened towards an address is found by the
 * replies that come back from it.
 */
export function conversationKeyOf(address: {
  channel: string;
  target: string;
  thread?: string;
  party?: string;
}): string {
  const base = address.thread
    ? `${address.channel}:${address.target}:${address.thread}`
    : `${address.channel}:${address.target}`;
  // A group chat holds one conversation per person: the person is part of the key but
  // not of the target (messages still go to the group).
  return address.party ? `${base}/${address.party}` : base;
}
