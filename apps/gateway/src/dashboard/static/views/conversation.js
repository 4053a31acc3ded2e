// A chat work's conversation as a transcript, beside its steps: what people said to it
// and what it sent back (GET /api/v1/works/:id/conversation), oldest first, each
// outbound message with its delivery status.

import { empty, h, oneLine, time } from '../lib/dom.js';

const HOW_IT_CAME = {
  opened: 'started the work',
  resumed: 'answered',
  inbox: 'in its inbox',
  collected: 'in its inbox',
  interrupted: 'interrupted it',
};

const SENT_AS = {
  message: 'sent',
  ask: 'asked',
  notice: 'gateway reply',
};

const DELIVERY = {
  sent: 'delivered',
  pending: 'sending…',
  failed: 'not delivered',
  cancelled: 'cancelled',
};

function inbound(m) {
  const how = m.read ? HOW_IT_CAME[m.decision] : 'in its inbox, not read yet';
  return h(
    'li',
    {
      class: `bubble inbound${m.read ? '' : ' unread'}`,
      dataset: { direction: 'inbound', decision: m.decision, id: m.id },
    },
    h(
      'div',
      { class: 'bubble-head' },
      h('span', { class: 'who', title: m.actorId ?? '', text: m.from ?? 'someone' }),
      time(m.at),
    ),
    h('p', { class: 'bubble-text', text: m.text ?? '(no text)' }),
    h('div', { class: 'bubble-foot muted', text: `${m.channel} · ${how ?? m.decision}` }),
  );
}

function deliveryNote(m) {
  const state = DELIVERY[m.status] ?? m.status;
  const attempts = m.attempts > 1 ? ` after ${m.attempts} attempts` : '';
  const text = m.status === 'failed' && m.lastError ? `${state}: ${m.lastError}` : state;
  return h('span', {
    class: `delivery delivery-${m.status}`,
    title: m.sentAt ? `delivered ${new Date(m.sentAt).toISOString()}` : `${state}${attempts}`,
    text: `${m.status === 'sent' ? '✓ ' : m.status === 'failed' ? '✗ ' : ''}${text}`,
  });
}

function outbound(m) {
  return h(
    'li',
    {
      class: `bubble outbound status-${m.status}`,
      dataset: { direction: 'outbound', kind: m.kind, status: m.status, id: m.id },
    },
    h(
      'div',
      { class: 'bubble-head' },
      h('span', { class: 'who', title: m.target, text: `workgate · ${SENT_AS[m.kind] ?? m.kind}` }),
      time(m.at),
    ),
    h('p', { class: 'bubble-text', text: m.text ?? '(no text)' }),
    m.choices.length
      ? h(
          'div',
          { class: 'bubble-choices', 'aria-label': 'Buttons' },
          m.choices.map((c) => h('span', { class: 'choice-chip', text: c })),
        )
      : null,
    h('div', { class: 'bubble-foot' }, deliveryNote(m)),
  );
}

/** An `answered` edit is not a new message: a line saying who answered the prompt. */
function answeredNote(m) {
  return h(
    'li',
    { class: 'chat-note', dataset: { direction: 'outbound', kind: m.kind, status: m.status } },
    time(m.at),
    ` ${m.answeredBy ?? 'someone'} answered: `,
    oneLine(m.answer, 80),
    m.status === 'failed' ? ' (the prompt could not be updated)' : '',
  );
}

export function renderConversation(conversation) {
  if (!conversation.items.length) return empty('No messages.');
  return [
    conversation.truncated
      ? h('p', { class: 'help', text: 'Older messages are not shown.' })
      : null,
    h(
      'ol',
      { class: 'chat', 'aria-label': 'Messages, oldest first' },
      conversation.items.map((m) => {
        if (m.direction === 'inbound') return inbound(m);
        return m.kind === 'answered' ? answeredNote(m) : outbound(m);
      }),
    ),
  ].filter(Boolean);
}
