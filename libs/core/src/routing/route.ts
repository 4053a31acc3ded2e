import { type ChatCommand } from '../events/inbound-event';
import { isTerminal, type WorkState } from '../work/work-state';

export const BUSY_POLICIES = ['inbox', 'collect', 'interrupt', 'reject'] as const;
export type BusyPolicy = (typeof BUSY_POLICIES)[number];

/** What the router needs to know about an event (already verified and normalized). */
export interface RouteEvent {
  conversationKey: string | null;
  correlationKey: string | null;
  /** An explicit reference: a signed wait token in a button, a reply to a work's message. */
  reference: { workId: string; waitId?: string } | null;
  /** `/new` forces a new work. */
  command: ChatCommand | null;
}

export interface WaitCandidate {
  waitId: string;
  workId: string;
  status: 'open' | 'satisfied' | 'timed_out' | 'cancelled';
  /** Does the event satisfy what the wait expects (schema, responder)? Computed by the caller. */
  accepts: boolean;
  createdAt: number;
}

export interface WorkCandidate {
  workId: string;
  state: WorkState;
  createdAt: number;
  /** The work's open waits (and, for correlation, the latest wait on the key). */
  waits: WaitCandidate[];
}

export interface RouteCandidates {
  /** The work an explicit reference points at; null when it does not exist. */
  referenced: WorkCandidate | null;
  /** Works holding a wait (open or already answered) on the event's correlation key. */
  correlated: WorkCandidate[];
  /** Works on the conversation that have not finished. */
  conversation: WorkCandidate[];
  /**
   * When no live work holds a wait on the event's correlation key: the latest wait
   * that was on it (closed), so a late answer is told apart from an early one.
   */
  lapsed?: {
    waitId: string;
    workId: string;
    status: WaitCandidate['status'];
    workState: WorkState;
  } | null;
}

export interface RoutePolicy {
  /** Workflow kind to open when nothing is resumed; null: never open. */
  openKind: string | null;
  busyPolicy: BusyPolicy;
  collectWindowMs: number;
}

export type RouteOutcome =
  | { decision: 'resume'; workId: string; waitId: string; reason: string }
  /** workId null: no work yet; kept for the wait that will name its correlation key. */
  | { decision: 'inbox'; workId: string | null; reason: string }
  | { decision: 'collect'; workId: string; windowMs: number; reason: string }
  | { decision: 'interrupt'; workId: string; reason: string }
  | { decision: 'reject'; workId: string | null; waitId?: string; reason: string }
  | { decision: 'ask-which'; workIds: string[]; reason: string }
  | { decision: 'open'; kind: string; reason: string }
  | { decision: 'drop'; reason: string };

export type RouteDecisionName = RouteOutcome['decision'];

const byAge = <T extends { createdAt: number }>(a: T, b: T) => a.createdAt - b.createdAt;

function openOrDrop(policy: RoutePolicy, why: string): RouteOutcome {
  return policy.openKind
    ? { decision: 'open', kind: policy.openKind, reason: `${why}; opened a new ${policy.openKind}` }
    : { decision: 'drop', reason: `${why}; the route opens no workflow` };
}

function busy(work: WorkCandidate, policy: RoutePolicy, why: string): RouteOutcome {
  switch (policy.busyPolicy) {
    case 'inbox':
      return { decision: 'inbox', workId: work.workId, reason: `${why}; queued in its inbox` };
    case 'collect':
      return {
        decision: 'collect',
        workId: work.workId,
        windowMs: policy.collectWindowMs,
        reason: `${why}; collected into a burst`,
      };
    case 'interrupt':
      return {
        decision: 'interrupt',
        workId: work.workId,
        reason: `${why}; interrupting its current step`,
      };
    case 'reject':
      return { decision: 'reject', workId: work.workId, reason: `${why}; busy policy is reject` };
  }
}

/** Resolution inside one known work (explicit reference or correlation). */
function routeIntoWork(work: WorkCandidate, event: RouteEvent, why: string): RouteOutcome {
  const open = work.waits.filter((w) => w.status === 'open').sort(byAge);
  const wanted = event.reference?.waitId;
  if (wanted) {
    const wait = work.waits.find((w) => w.waitId === wanted);
    if (!wait || wait.status !== 'open') {
      // A second press of an already-answered button is a no-op, not a new work.
      return {
        decision: 'drop',
        reason: `${why}; wait ${wanted} is ${wait?.status ?? 'unknown'}, nothing to answer`,
      };
    }
    return wait.accepts
      ? {
          decision: 'resume',
          workId: work.workId,
          waitId: wait.waitId,
          reason: `${why}; answers wait ${wait.waitId}`,
        }
      : {
          decision: 'reject',
          workId: work.workId,
          waitId: wait.waitId,
          reason: `${why}; the answer does not match what wait ${wait.waitId} expects`,
        };
  }
  const accepting = open.find((w) => w.accepts);
  if (accepting) {
    return {
      decision: 'resume',
      workId: work.workId,
      waitId: accepting.waitId,
      reason: `${why}; satisfies its open wait`,
    };
  }
  return {
    decision: 'inbox',
    workId: work.workId,
    reason: `${why}; it is ${work.state}, not waiting for this, so it goes to its inbox`,
  };
}

/**
 * Resume or open (DESIGN.md, "Routing: resume or open"). Pure: the ledger loads the
 * candidates under the conversation lock, calls this, and applies the outcome in the
 * same transaction.
 */
export function route(
  event: RouteEvent,
  candidates: RouteCandidates,
  policy: RoutePolicy,
): RouteOutcome {
  if (event.command === 'new') return openOrDrop(policy, '/new asked for a new work');

  // 1. Explicit reference.
  if (event.reference) {
    const work = candidates.referenced;
    if (!work || isTerminal(work.state)) {
      return openOrDrop(
        policy,
        `the referenced work ${event.reference.workId} is ${work ? work.state : 'unknown'}`,
      );
    }
    return routeIntoWork(work, event, `explicit reference to work ${work.workId}`);
  }

  const correlated = routeByCorrelation(event, candidates);
  if (correlated) return correlated;

  const onConversation = routeByConversation(candidates, policy);
  if (onConversation) return onConversation;

  // 5. Nothing to resume. A late answer — the wait that named this key timed out or
  // was cancelled — is not kept for a later wait: that wait would take an answer meant
  // for an earlier question on the same key (a late approval for an old deploy).
  const lapsed = candidates.lapsed;
  if (event.correlationKey && lapsed && lapsed.status !== 'open' && lapsed.status !== 'satisfied') {
    const why =
      `wait ${lapsed.waitId} on correlation key ${event.correlationKey} ` +
      `${lapsed.status === 'timed_out' ? 'timed out' : 'was cancelled'} (work ${lapsed.workId} is ${lapsed.workState})`;
    return policy.openKind
      ? openOrDrop(policy, why)
      : {
          decision: 'drop',
          reason: `${why}; too late to answer it, and not kept for a later wait`,
        };
  }
  if (event.correlationKey && !policy.openKind) {
    return {
      decision: 'inbox',
      workId: null,
      reason: `no work waits on correlation key ${event.correlationKey} yet; kept until a wait names it`,
    };
  }
  return openOrDrop(policy, 'nothing on this conversation to resume');
}

/** Step 1b: the work a correlation key names, if any is live. */
function routeByCorrelation(
  event: RouteEvent,
  candidates: RouteCandidates,
): RouteOutcome | undefined {
  // 1b. Correlation key (a webhook's correlation header or JSON pointer).
  if (!event.correlationKey) return undefined;
  const live = candidates.correlated.filter((w) => !isTerminal(w.state)).sort(byAge);
  // Several works waiting on one key: the oldest wait is answered first; the key is
  // explicit, so this is a queue, not a guess. Ordered by the wait, not by the work:
  // an older work may have opened its wait later.
  const oldestAccepting = (w: WorkCandidate) =>
    Math.min(...w.waits.filter((x) => x.status === 'open' && x.accepts).map((x) => x.createdAt));
  const waiting = live
    .filter((w) => w.waits.some((x) => x.status === 'open' && x.accepts))
    .sort((a, b) => oldestAccepting(a) - oldestAccepting(b));
  const target = waiting[0] ?? live[0];
  if (target) {
    const why =
      `correlation key ${event.correlationKey} names work ${target.workId}` +
      (live.length > 1 ? ` (oldest of ${live.length})` : '');
    return routeIntoWork(target, event, why);
  }
  return undefined;
}

/** Steps 2–4: an open wait or a live work on the conversation, if there is one. */
function routeByConversation(
  candidates: RouteCandidates,
  policy: RoutePolicy,
): RouteOutcome | undefined {
  // 2. Open waits on the conversation that this event satisfies.
  const conversation = candidates.conversation.filter((w) => !isTerminal(w.state)).sort(byAge);
  const accepting = conversation.flatMap((w) =>
    w.waits.filter((x) => x.status === 'open' && x.accepts),
  );
  if (accepting.length === 1) {
    const wait = accepting[0]!;
    return {
      decision: 'resume',
      workId: wait.workId,
      waitId: wait.waitId,
      reason: `satisfies the open ${wait.waitId} on the conversation`,
    };
  }
  if (accepting.length > 1) {
    // 4. Several candidates and nothing explicit: ask, never guess.
    return {
      decision: 'ask-which',
      workIds: [...new Set(accepting.map((w) => w.workId))],
      reason: `${accepting.length} open waits on the conversation could take this`,
    };
  }

  // 3. Live work on the conversation.
  if (conversation.length === 1) {
    const work = conversation[0]!;
    const openWaits = work.waits.filter((x) => x.status === 'open');
    if (work.state === 'WAITING' && openWaits.length > 0) {
      return {
        decision: 'reject',
        workId: work.workId,
        waitId: openWaits[0]!.waitId,
        reason: `work ${work.workId} is waiting for an answer this does not match; re-prompting`,
      };
    }
    return busy(work, policy, `work ${work.workId} is ${work.state} on this conversation`);
  }
  if (conversation.length > 1) {
    if (policy.busyPolicy === 'reject') {
      return {
        decision: 'reject',
        workId: null,
        reason: `${conversation.length} works are live on this conversation; busy policy is reject`,
      };
    }
    return {
      decision: 'ask-which',
      workIds: conversation.map((w) => w.workId),
      reason: `${conversation.length} works are live on this conversation`,
    };
  }
  return undefined;
}
