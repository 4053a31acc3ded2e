// The panels of one work's page, each built from GET /api/v1/works/:id: fields, waits,
// steps, timeline, inbox, model calls and cost, parent and children.

import {
  dl,
  empty,
  h,
  json,
  oneLine,
  stateBadge,
  statusBadge,
  table,
  time,
  workLink,
} from '../lib/dom.js';
import {
  describeAddress,
  describeExpects,
  describeRung,
  duration,
  relative,
  shortId,
  usd,
} from '../lib/format.js';

export function renderFields({ work }) {
  return dl([
    ['State', stateBadge(work.state)],
    ['Kind', work.kind],
    ['Came from', `${work.sourceType}${work.sourceId ? ` · ${work.sourceId}` : ''}`],
    ['Conversation', work.conversationKey ?? '—'],
    ['Waiting for', work.waitReason ?? '—'],
    ['Attempt', String(work.attempt)],
    ['Run after', work.runAfter ? time(work.runAfter) : '—'],
    ['Lease', work.leaseOwner ? [work.leaseOwner, ' until ', time(work.leaseExpiresAt)] : '—'],
    [
      'Pending',
      [work.pauseRequested && 'pause', work.cancelRequested && 'cancel']
        .filter(Boolean)
        .join(', ') || '—',
    ],
    ['Cost', usd(work.costUsd)],
    ['Created', time(work.createdAt)],
    ['Updated', time(work.updatedAt)],
    ['Finished', time(work.finishedAt)],
    ['Input', json(work.input)],
    ['Output', json(work.output)],
    ['Error', json(work.error)],
  ]);
}

function answeredBy(detail, wait) {
  // The timeline says who answered: the actor of the wait_satisfied entry for this wait.
  const entry = detail.timeline.find(
    (e) => e.type === 'wait_satisfied' && e.data?.waitId === wait.id,
  );
  return entry?.actor ?? null;
}

/** What happens when an open wait's timer fires, in words. */
function thenText(wait, nextRung) {
  if (wait.status !== 'open') return undefined;
  if (nextRung) return describeRung(nextRung);
  if (wait.type === 'timer') return 'the work resumes';
  if (wait.onTimeout === 'resume') return 'the work resumes with its default';
  return wait.timeoutAt ? 'the work fails' : undefined;
}

function wakesText(wait) {
  const open = wait.status === 'open';
  if (wait.timeoutAt) return [time(wait.timeoutAt), open ? ` (${relative(wait.timeoutAt)})` : ''];
  return open ? 'never (no timeout)' : undefined;
}

function waitCard(detail, wait) {
  const ladder = wait.escalation ?? [];
  const nextRung = wait.status === 'open' ? ladder[wait.escalationRung] : undefined;
  const by = answeredBy(detail, wait);
  return h(
    'li',
    { class: `card wait wait-${wait.status}`, dataset: { waitId: wait.id } },
    h(
      'div',
      { class: 'card-head' },
      h('strong', { text: `${wait.type} wait` }),
      statusBadge(wait.status),
      h('span', { class: 'muted', text: `step ${wait.stepSeq}` }),
    ),
    dl([
      ['Waits for', describeExpects(wait.expects)],
      ['Asked in', wait.resumeChannel ? describeAddress(wait.resumeChannel) : undefined],
      ['Conversation', wait.conversationKey ?? undefined],
      ['Correlation', wait.correlationKey ?? undefined],
      ['Opened', time(wait.createdAt)],
      [wait.status === 'open' ? 'Wakes' : 'Timer was', wakesText(wait)],
      ['Then', thenText(wait, nextRung)],
      [
        'Escalation',
        ladder.length
          ? h(
              'ol',
              { class: 'ladder' },
              ladder.map((rung, i) =>
                h(
                  'li',
                  { class: i < wait.escalationRung ? 'reached' : undefined },
                  describeRung(rung),
                  i < wait.escalationRung ? ' ✓' : '',
                ),
              ),
            )
          : undefined,
      ],
      [
        'Answer',
        wait.status === 'satisfied' && wait.type !== 'timer' ? json(wait.result) : undefined,
      ],
      ['Answered by', by ?? undefined],
      ['Event', wait.satisfiedByEventId ?? undefined],
      ['Resolved', wait.resolvedAt ? time(wait.resolvedAt) : undefined],
    ]),
  );
}

export function renderWaits(detail) {
  if (!detail.waits.length) return empty('This work has not waited for anything.');
  return h(
    'ul',
    { class: 'cards' },
    detail.waits
      .slice()
      .reverse()
      .map((wait) => waitCard(detail, wait)),
  );
}

/** Steps store their result as `{ v: value }` (so null and undefined stay distinct); show the value. */
function stepValue(output) {
  return output && typeof output === 'object' && !Array.isArray(output) && 'v' in output
    ? output.v
    : output;
}

function stepDuration(s) {
  if (s.durationMs !== null) return duration(s.durationMs);
  return s.status === 'running' ? 'running' : '—';
}

export function renderSteps(steps) {
  if (!steps.length) return empty('No steps yet.');
  return table(
    ['#', 'Step', 'Type', 'Status', 'Attempt', 'Duration', 'Started', 'Output / error'],
    steps.map((s) =>
      h(
        'tr',
        { dataset: { seq: s.seq } },
        h('td', { class: 'num', text: s.seq }),
        h('td', { class: 'mono', text: s.name }),
        h('td', { text: s.type }),
        h('td', {}, statusBadge(s.status)),
        h('td', { class: 'num', text: s.attempt }),
        h('td', { class: 'num', text: stepDuration(s) }),
        h('td', {}, time(s.startedAt)),
        h(
          'td',
          {},
          s.error
            ? h('span', { class: 'error-text', text: oneLine(s.error?.message ?? s.error, 160) })
            : json(stepValue(s.output), 80),
        ),
      ),
    ),
    'Steps in order',
  );
}

export function renderTimeline(timeline) {
  if (!timeline.length) return empty('Nothing happened yet.');
  return h(
    'ol',
    { class: 'timeline', reversed: true },
    timeline
      .slice()
      .reverse()
      .map((e) =>
        h(
          'li',
          { dataset: { type: e.type } },
          time(e.at),
          h('span', { class: 'event-type', text: e.type.replaceAll('_', ' ') }),
          h('span', { class: 'actor', title: 'who did it', text: e.actor ?? 'system' }),
          e.data && Object.keys(e.data).length
            ? h('span', { class: 'event-data mono', text: oneLine(e.data, 160) })
            : null,
        ),
      ),
  );
}

export function renderInbox(inbox) {
  if (!inbox.length) return empty('No events waiting in the inbox.');
  return table(
    ['Received', 'Channel', 'From', 'Body', 'Decision'],
    inbox.map((e) =>
      h(
        'tr',
        {},
        h('td', {}, time(e.receivedAt)),
        h('td', { text: `${e.channel}/${e.source}` }),
        h('td', { text: oneLine(e.actor, 40) }),
        h('td', { class: 'mono', text: oneLine(e.body, 100) }),
        h('td', { title: e.reason, text: e.decision }),
      ),
    ),
    'Inbox events',
  );
}

export function renderCost(detail) {
  return [
    h('p', { class: 'big-number', text: usd(detail.costUsd) }),
    detail.modelCalls.length
      ? table(
          ['When', 'Model', 'Input', 'Output', 'Cached', 'Cost', 'Latency'],
          detail.modelCalls.map((m) =>
            h(
              'tr',
              {},
              h('td', {}, time(m.createdAt)),
              h('td', { text: `${m.provider}/${m.model}` }),
              h('td', { class: 'num', text: m.inputTokens }),
              h('td', { class: 'num', text: m.outputTokens }),
              h('td', { class: 'num', text: m.cachedTokens }),
              h('td', { class: 'num', text: usd(m.costUsd) }),
              h('td', { class: 'num', text: duration(m.latencyMs) }),
            ),
          ),
          'Model calls',
        )
      : empty('No model calls.'),
  ];
}

/** `kind 1a2b3c4d`, linked, with its state. */
function relatedWork(w) {
  return [workLink(w.id, `${w.kind} ${shortId(w.id)}`), ' ', stateBadge(w.state)];
}

export function renderRelated(detail) {
  if (!detail.parent && !detail.children.length) return empty('No parent, no children.');
  return dl([
    ['Parent', detail.parent ? relatedWork(detail.parent) : undefined],
    [
      'Children',
      detail.children.length
        ? h(
            'ul',
            { class: 'plain' },
            detail.children.map((c) => h('li', {}, relatedWork(c))),
          )
        : undefined,
    ],
  ]);
}
