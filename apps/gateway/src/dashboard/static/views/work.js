// One work's page: its fields and waits, its steps with the conversation beside them
// (chat works), the timeline, inbox, model calls and cost, parent and children, and
// the actions an operator may take on it. Refreshed by the shell's poll.

import { api, ApiError, isOperator } from '../lib/api.js';
import { empty, h, section, stateBadge, update } from '../lib/dom.js';
import { shortId } from '../lib/format.js';
import { renderConversation } from './conversation.js';
import { ACTIONS, openAction } from './work-actions.js';
import {
  renderCost,
  renderFields,
  renderInbox,
  renderRelated,
  renderSteps,
  renderTimeline,
  renderWaits,
} from './work-panels.js';

export function workView(id) {
  let detail = null;
  const heading = h('h1', { id: 'work-title', text: 'Work' });
  const stateHolder = h('span', { id: 'work-state-holder' });
  const toolbar = h('div', { class: 'toolbar', role: 'group', 'aria-label': 'Actions' });
  const readOnly = !isOperator();
  const buttons = new Map(
    ACTIONS.map((action) => [
      action.name,
      h('button', {
        type: 'button',
        class: action.danger ? 'danger' : undefined,
        dataset: { action: action.name },
        text: action.label,
        disabled: true,
        onclick: () => openAction(action, id, () => detail, refresh),
      }),
    ]),
  );
  toolbar.append(...buttons.values());
  if (readOnly) toolbar.append(h('span', { class: 'muted', text: 'Viewer token: read only.' }));

  const fields = h('div', { id: 'work-fields' });
  const waits = h('div', { id: 'work-waits' });
  const steps = h('div', { id: 'work-steps' });
  const chat = h('div', { id: 'work-conversation' });
  const chatSection = section('Conversation', 'conversation-section', chat);
  chatSection.hidden = true;
  const stepsAndChat = h(
    'div',
    { class: 'steps-and-chat' },
    section('Steps', 'steps-section', steps),
    chatSection,
  );
  const timeline = h('div', { id: 'work-timeline' });
  const inbox = h('div', { id: 'work-inbox' });
  const cost = h('div', { id: 'work-cost' });
  const related = h('div', { id: 'work-related' });

  async function refresh() {
    const path = `/api/v1/works/${encodeURIComponent(id)}`;
    let conversation;
    try {
      [detail, conversation] = await Promise.all([api(path), api(`${path}/conversation`)]);
    } catch (err) {
      if (err instanceof ApiError && (err.status === 404 || err.status === 400)) {
        heading.textContent = 'No such work';
        update(fields, 'missing', () => empty(`There is no work ${id}.`));
        return;
      }
      throw err;
    }
    const { work } = detail;
    heading.textContent = work.kind;
    document.title = `${work.kind} ${shortId(work.id)} · workgate`;
    update(stateHolder, work.state, () => stateBadge(work.state, 'work-state'));
    for (const action of ACTIONS)
      buttons.get(action.name).disabled = readOnly || !action.when(detail);
    update(fields, JSON.stringify(work), () => renderFields(detail));
    update(
      waits,
      JSON.stringify([detail.waits, detail.timeline.length, Math.floor(Date.now() / 10000)]),
      () => renderWaits(detail),
    );
    update(steps, JSON.stringify(detail.steps), () => renderSteps(detail.steps));
    showConversation(conversation);
    update(timeline, JSON.stringify(detail.timeline), () => renderTimeline(detail.timeline));
    update(inbox, JSON.stringify(detail.inbox), () => renderInbox(detail.inbox));
    update(cost, JSON.stringify([detail.costUsd, detail.modelCalls]), () => renderCost(detail));
    update(related, JSON.stringify([detail.parent, detail.children]), () => renderRelated(detail));
  }

  /** Only a work that chatted gets the panel; a new message scrolls the transcript down. */
  function showConversation(conversation) {
    const chatted = conversation.items.length > 0;
    chatSection.hidden = !chatted;
    stepsAndChat.classList.toggle('with-chat', chatted);
    const before = chat.dataset.renderKey;
    update(chat, JSON.stringify(conversation), () => renderConversation(conversation));
    if (chat.dataset.renderKey !== before) {
      const list = chat.querySelector('.chat');
      if (list) list.scrollTop = list.scrollHeight;
    }
  }

  return {
    title: 'Work',
    element: h(
      'div',
      {},
      h('p', { class: 'crumbs' }, h('a', { href: '#/works', text: '← All works' })),
      h(
        'div',
        { class: 'work-head' },
        heading,
        stateHolder,
        h('span', { class: 'mono muted', id: 'work-id', title: 'work id', text: id }),
      ),
      toolbar,
      h(
        'div',
        { class: 'grid' },
        section('Work', 'fields-section', fields),
        section('Waits', 'waits-section', waits),
      ),
      stepsAndChat,
      section('Timeline', 'timeline-section', timeline),
      h(
        'div',
        { class: 'grid' },
        section('Inbox', 'inbox-section', inbox),
        section('Model calls and cost', 'cost-section', cost),
      ),
      section('Parent and children', 'related-section', related),
    ),
    refresh,
  };
}
