import {
  DEFAULT_RETRY_POLICY,
  transition,
  WORK_COMMAND_TYPES,
  WORK_STATES,
  type WorkCommand,
  type WorkCommandType,
  type WorkEventType,
  type WorkSnapshot,
  type WorkState,
} from '../../libs/core/src';

/**
 * A work's timeline (WorkEvent rows) checked against the state machine itself. A row
 * keeps the event's type, not the snapshot it was decided on, so a full replay cannot
 * know the flags (pauseRequested, attempt, …) each step saw; instead every (state,
 * event) → state edge `transition()` can take is collected by running it over every
 * combination of those flags, and the timeline must be a path through that graph that
 * ends in the row's state. The edges come from transition(), never from a copy of it.
 */

const NOW = Date.UTC(2026, 0, 1);

function commandsFor(type: WorkCommandType, token: bigint): WorkCommand[] {
  switch (type) {
    case 'create':
      return [{ type, retryPolicy: DEFAULT_RETRY_POLICY }];
    case 'claim':
      return [{ type, owner: 'w', leaseMs: 1_000, now: NOW }];
    case 'heartbeat':
      return [{ type, token, leaseMs: 1_000, now: NOW }];
    case 'step_completed':
    case 'open_wait':
      return [{ type, token, seq: 1 }];
    case 'complete':
    case 'release':
      return [{ type, token }];
    case 'fail':
      return [true, false].map((retryable) => ({ type, token, retryable, now: NOW, random: 0.5 }));
    case 'lease_expired':
      return [{ type, token, now: NOW, random: 0.5 }];
    case 'wait_timed_out':
      return [
        { type, onTimeout: 'fail' },
        { type, onTimeout: 'resume' },
      ];
    case 'rerun_from_step':
      return [{ type, seq: 1 }];
    case 'wait_satisfied':
    case 'timer_fired':
    case 'pause':
    case 'resume':
    case 'cancel':
    case 'retry':
      return [{ type }];
  }
}

function* snapshots(): Generator<WorkSnapshot> {
  for (const state of WORK_STATES)
    for (const pausedFrom of [null, 'QUEUED', 'WAITING', 'RUNNING'] as Array<WorkState | null>)
      for (const pauseRequested of [false, true])
        for (const cancelRequested of [false, true])
          for (const attempt of [1, DEFAULT_RETRY_POLICY.maxAttempts])
            for (const runAfter of [null, NOW - 1, NOW + 60_000])
              for (const leaseExpiresAt of [null, NOW - 1, NOW + 60_000])
                yield {
                  state,
                  pausedFrom,
                  attempt,
                  retryPolicy: DEFAULT_RETRY_POLICY,
                  runSeq: 1,
                  leaseOwner: state === 'RUNNING' ? 'w' : null,
                  leaseToken: 5n,
                  leaseExpiresAt,
                  runAfter,
                  pauseRequested,
                  cancelRequested,
                  checkpointSeq: 2,
                  version: 3,
                };
}

/** `${from}|${event}` → the states transition() can reach (`∅` is "no work yet"). */
function buildEdges(): Map<string, Set<WorkState>> {
  const edges = new Map<string, Set<WorkState>>();
  const add = (from: string, event: WorkEventType, to: WorkState) => {
    const key = `${from}|${event}`;
    const set = edges.get(key) ?? new Set<WorkState>();
    set.add(to);
    edges.set(key, set);
  };
  for (const type of WORK_COMMAND_TYPES) {
    if (type === 'create') {
      for (const c of commandsFor(type, 5n)) {
        const r = transition(null, c);
        if (r.ok) add('∅', r.event, r.next.state);
      }
      continue;
    }
    for (const snap of snapshots())
      for (const c of commandsFor(type, snap.leaseToken)) {
        const r = transition(snap, c);
        if (r.ok) add(snap.state, r.event, r.next.state);
      }
  }
  return edges;
}

const EDGES = buildEdges();
/** The WorkEvent types a transition writes; other rows (notes, inbox moves) carry no state. */
const TRANSITION_EVENTS = new Set([...EDGES.keys()].map((k) => k.split('|')[1]!));

export interface TimelineProblem {
  seq: number | null;
  message: string;
}

/** Walks one work's timeline; returns the first problem, or null if it is a legal path. */
export function checkTimeline(
  events: Array<{ seq: number; type: string }>,
  finalState: WorkState,
): TimelineProblem | null {
  let states = new Set<string>(['∅']);
  for (const e of events) {
    if (!TRANSITION_EVENTS.has(e.type)) continue;
    const next = new Set<string>();
    for (const s of states) for (const t of EDGES.get(`${s}|${e.type}`) ?? []) next.add(t);
    if (next.size === 0)
      return {
        seq: e.seq,
        message: `${e.type} is not a transition the state machine takes from ${[...states].join('/')}`,
      };
    states = next;
  }
  if (!states.has(finalState))
    return {
      seq: null,
      message: `the timeline ends in ${[...states].join('/')} but the work is ${finalState}`,
    };
  return null;
}
