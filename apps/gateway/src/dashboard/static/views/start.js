// "Start work": a kind the workers registered (GET /api/v1/workflows), its input as
// JSON and an optional idempotency key, sent to POST /api/v1/works. The gateway checks
// the input against the kind's JSON Schema; a refusal names the field and keeps the form.

import { api, isOperator, problemText } from '../lib/api.js';
import { h, section, toast } from '../lib/dom.js';
import { shortId } from '../lib/format.js';

export function startView() {
  const readOnly = !isOperator();
  let kinds = [];
  const kindSelect = h('select', { id: 'start-kind', name: 'kind', required: true });
  const schemaHint = h('pre', { id: 'start-schema', class: 'json muted' });
  const inputArea = h('textarea', {
    id: 'start-input',
    name: 'input',
    rows: 8,
    spellcheck: 'false',
  });
  inputArea.value = '{}';
  const keyInput = h('input', {
    id: 'start-key',
    name: 'idempotencyKey',
    type: 'text',
    placeholder: 'optional: the same key never starts a second work',
  });
  const error = h('p', { class: 'form-error', id: 'start-error', role: 'alert', hidden: true });
  const submit = h('button', {
    type: 'submit',
    class: 'primary',
    id: 'start-submit',
    text: 'Start',
    disabled: readOnly,
  });
  const showSchema = () => {
    const kind = kinds.find((k) => k.kind === kindSelect.value);
    schemaHint.textContent = kind?.inputSchema
      ? JSON.stringify(kind.inputSchema, null, 2)
      : 'Any JSON input.';
  };
  kindSelect.addEventListener('change', showSchema);

  async function start(event) {
    event.preventDefault();
    error.hidden = true;
    let input;
    try {
      input = JSON.parse(inputArea.value || '{}');
    } catch (err) {
      error.textContent = `The input is not JSON: ${err.message}`;
      error.hidden = false;
      return;
    }
    const key = keyInput.value.trim();
    submit.disabled = true;
    try {
      const started = await api('/api/v1/works', {
        method: 'POST',
        body: { kind: kindSelect.value, input, ...(key ? { idempotencyKey: key } : {}) },
      });
      toast(
        started.created
          ? `Started ${started.work.kind} ${shortId(started.work.id)}`
          : `Already started with this key: ${shortId(started.work.id)}`,
      );
      location.hash = `#/works/${started.work.id}`;
    } catch (err) {
      error.textContent = problemText(err);
      error.hidden = false;
    } finally {
      submit.disabled = readOnly;
    }
  }

  const form = h(
    'form',
    { class: 'start-form', 'aria-label': 'Start a work', novalidate: true, onsubmit: start },
    h('label', { for: 'start-kind', text: 'Workflow kind' }),
    kindSelect,
    h('label', { for: 'start-input', text: 'Input (JSON)' }),
    inputArea,
    h('details', {}, h('summary', { text: 'Input schema' }), schemaHint),
    h('label', { for: 'start-key', text: 'Idempotency key' }),
    keyInput,
    error,
    readOnly ? h('p', { class: 'muted', text: 'Viewers may not start works.' }) : null,
    h('div', { class: 'dialog-buttons' }, submit),
  );
  return {
    title: 'Start work',
    element: section('Start a work', 'start', form),
    async refresh() {
      if (kinds.length) return;
      kinds = (await api('/api/v1/workflows')).items;
      kindSelect.replaceChildren(
        ...kinds.map((k) =>
          h('option', {
            value: k.kind,
            text: k.description ? `${k.kind} — ${k.description}` : k.kind,
          }),
        ),
      );
      if (!kinds.length) error.textContent = 'No worker has registered a workflow yet.';
      error.hidden = kinds.length > 0;
      showSchema();
    },
  };
}
