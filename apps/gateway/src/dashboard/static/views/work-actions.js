// The actions on one work (pause, resume, cancel, retry, rerun, answer a wait), each
// behind a confirmation dialog that says what will happen, sent to POST
// /api/v1/works/:id/<action>.

import { api, problemText } from '../lib/api.js';
import { $, h, stateBadge, toast } from '../lib/dom.js';
import { choicesOf, describeExpects, shortId, TERMINAL } from '../lib/format.js';

export const ACTIONS = [
  {
    name: 'pause',
    label: 'Pause',
    when: (d) => ['QUEUED', 'RUNNING', 'WAITING'].includes(d.work.state),
    title: 'Pause this work?',
    explain:
      'A queued or waiting work pauses now; a running one at its next step boundary. Its timers do not fire while it is paused.',
    confirm: 'Pause work',
  },
  {
    name: 'resume',
    label: 'Resume',
    when: (d) => d.work.state === 'PAUSED',
    title: 'Resume this work?',
    explain: 'It goes back to the state it left; a timer that fell due meanwhile fires now.',
    confirm: 'Resume work',
  },
  {
    name: 'cancel',
    label: 'Cancel',
    danger: true,
    when: (d) => !TERMINAL.has(d.work.state),
    title: 'Cancel this work?',
    explain:
      'It stops for good (a running work at its next step boundary). An operator can retry it later.',
    confirm: 'Cancel work',
  },
  {
    name: 'retry',
    label: 'Retry',
    when: (d) => d.work.state === 'FAILED' || d.work.state === 'CANCELLED',
    title: 'Retry this work?',
    explain: 'It is queued again and keeps its completed steps.',
    confirm: 'Retry work',
  },
  {
    name: 'rerun',
    label: 'Rerun from step…',
    when: (d) => d.work.state !== 'RUNNING' && d.steps.length > 0,
    title: 'Rerun this work from a step?',
    explain:
      'Steps before the one you pick are kept; that step and every later one run again. Not while it is running.',
    confirm: 'Rerun',
  },
  {
    name: 'signal',
    label: 'Answer…',
    when: (d) => d.waits.some((w) => w.status === 'open'),
    title: 'Answer the open wait',
    explain: 'The payload is checked against what the wait expects before it is accepted.',
    confirm: 'Send answer',
  },
];

function reasonField() {
  const reason = h('input', { id: 'action-reason', type: 'text', maxlength: 1000 });
  return {
    nodes: [
      h('label', { for: 'action-reason', text: 'Reason (optional, goes into the timeline)' }),
      reason,
    ],
    value: () => (reason.value.trim() ? { reason: reason.value.trim() } : {}),
  };
}

/** Rerun: the step to start again from, listed with the steps it has. */
function rerunForm(detail) {
  const max = Math.max(...detail.steps.map((s) => s.seq));
  const input = h('input', {
    id: 'rerun-from',
    type: 'number',
    min: 1,
    max,
    value: 1,
    required: true,
  });
  const reason = reasonField();
  return {
    nodes: [
      h('label', { for: 'rerun-from', text: `From step (1–${max})` }),
      input,
      h(
        'ul',
        { class: 'plain muted' },
        detail.steps.map((s) => h('li', { text: `${s.seq}. ${s.name} (${s.status})` })),
      ),
      ...reason.nodes,
    ],
    firstField: input,
    collect: () => {
      const fromStep = Number(input.value);
      if (!Number.isInteger(fromStep) || fromStep < 1 || fromStep > max)
        throw new Error(`Pick a step between 1 and ${max}.`);
      return { fromStep, ...reason.value() };
    },
  };
}

/** Signal: which open wait, and the answer as JSON (its choices are one click away). */
function signalForm(detail) {
  const open = detail.waits.filter((w) => w.status === 'open');
  const waitSelect = h(
    'select',
    { id: 'signal-wait' },
    open.map((w) =>
      h('option', {
        value: w.id,
        text: `${w.type} wait at step ${w.stepSeq} — ${describeExpects(w.expects)}`,
      }),
    ),
  );
  const payload = h('textarea', {
    id: 'signal-payload',
    rows: 4,
    spellcheck: 'false',
    placeholder: '"yes"',
    'aria-describedby': 'signal-help',
  });
  const choices = h('div', { class: 'choices', role: 'group', 'aria-label': 'Choices' });
  const showChoices = () => {
    const wait = open.find((w) => w.id === waitSelect.value);
    choices.replaceChildren(
      ...choicesOf(wait?.expects).map((choice) =>
        h('button', {
          type: 'button',
          class: 'choice',
          dataset: { choice: JSON.stringify(choice) },
          text: String(choice),
          onclick: () => {
            payload.value = JSON.stringify(choice);
            payload.focus();
          },
        }),
      ),
    );
  };
  waitSelect.addEventListener('change', showChoices);
  showChoices();
  payload.addEventListener('keydown', (event) => {
    if (event.key === 'Enter' && (event.ctrlKey || event.metaKey)) {
      event.preventDefault();
      $('confirm-form').requestSubmit();
    }
  });
  return {
    nodes: [
      h('label', { for: 'signal-wait', text: 'Wait' }),
      waitSelect,
      choices,
      h('label', { for: 'signal-payload', text: 'Answer (JSON)' }),
      payload,
      h(
        'p',
        { id: 'signal-help', class: 'help' },
        'A JSON value: "yes", 42, {"approved": true}. Ctrl+Enter sends.',
      ),
    ],
    firstField: choices.querySelector('button') ?? payload,
    collect: () => {
      if (!payload.value.trim()) throw new Error('Write the answer as JSON (for text, in quotes).');
      let value;
      try {
        value = JSON.parse(payload.value);
      } catch (err) {
        throw new Error(`That is not JSON: ${err.message}. Text needs quotes: "yes".`);
      }
      return { waitId: waitSelect.value, payload: value };
    },
  };
}

function formFor(action, detail) {
  if (action.name === 'rerun') return rerunForm(detail);
  if (action.name === 'signal') return signalForm(detail);
  const reason = reasonField();
  return {
    nodes: reason.nodes,
    collect: () => {
      const body = reason.value();
      return body.reason ? body : undefined;
    },
  };
}

/** Opens the confirmation dialog for `action`; on OK sends it and refreshes the page. */
export function openAction(action, workId, getDetail, refresh) {
  const detail = getDetail();
  if (!detail) return;
  const dialog = $('confirm');
  const error = $('confirm-error');
  const ok = $('confirm-ok');
  const form = $('confirm-form');
  $('confirm-title').textContent = action.title;
  ok.textContent = action.confirm;
  ok.className = action.danger ? 'danger' : 'primary';
  error.hidden = true;

  const fields = formFor(action, detail);
  $('confirm-body').replaceChildren(
    h('p', {}, action.explain),
    h(
      'p',
      { class: 'muted' },
      `${detail.work.kind} ${shortId(workId)} · now `,
      stateBadge(detail.work.state),
    ),
    ...fields.nodes,
  );

  const onSubmit = async (event) => {
    event.preventDefault();
    error.hidden = true;
    let payload;
    try {
      payload = fields.collect();
    } catch (err) {
      error.textContent = err.message;
      error.hidden = false;
      return;
    }
    ok.disabled = true;
    try {
      const result = await api(`/api/v1/works/${encodeURIComponent(workId)}/${action.name}`, {
        method: 'POST',
        body: payload,
      });
      dialog.close('done');
      toast(`${action.label.replace('…', '')}: done — the work is ${result.work.state}.`);
      await refresh().catch(() => undefined);
    } catch (err) {
      error.textContent = problemText(err);
      error.hidden = false;
    } finally {
      ok.disabled = false;
    }
  };
  const onCancel = () => dialog.close('cancel');
  form.addEventListener('submit', onSubmit);
  $('confirm-cancel').addEventListener('click', onCancel);
  const opener = document.activeElement;
  dialog.addEventListener(
    'close',
    () => {
      form.removeEventListener('submit', onSubmit);
      $('confirm-cancel').removeEventListener('click', onCancel);
      if (opener instanceof HTMLElement && opener.isConnected) opener.focus();
    },
    { once: true },
  );
  dialog.showModal();
  (fields.firstField ?? ok).focus();
}
