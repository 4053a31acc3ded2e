// The workgate dashboard: one ES module, no dependencies and no build step (see
// docs/decisions.md). It reads and steers works through the operator API (/api/v1) with
// the operator's own token, kept in sessionStorage: it lives as long as the tab and is
// never sent anywhere but this gateway. Everything from the API is put on the page as
// text (textContent), never as HTML, so data cannot inject script.

const TOKEN_KEY = 'workgate.token';
const POLL_MS = 2000;
const STATES = ['QUEUED', 'RUNNING', 'WAITING', 'PAUSED', 'COMPLETED', 'FAILED', 'CANCELLED'];
const TERMINAL = new Set(['COMPLETED', 'FAILED', 'CANCELLED']);
const QUEUE_COLUMNS = [
  ['waiting', 'Waiting'],
  ['active', 'Active'],
  ['delayed', 'Delayed'],
  ['prioritized', 'Prioritized'],
  ['waitingChildren', 'Waiting children'],
  ['completed', 'Completed'],
  ['failed', 'Failed'],
];

const $ = (id) => document.getElementById(id);

// ── DOM helpers ───────────────────────────────────────────────────────────────────────

/** Creates an element: props are attributes, except class, text, on<event> and dataset. */
function h(tag, props, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(props ?? {})) {
    if (value === undefined || value === null || value === false) continue;
    if (key === 'class') el.className = value;
    else if (key === 'text') el.textContent = String(value);
    else if (key === 'dataset') Object.assign(el.dataset, value);
    else if (key.startsWith('on')) el.addEventListener(key.slice(2), value);
    else el.setAttribute(key, value === true ? '' : String(value));
  }
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    el.append(child instanceof Node ? child : String(child));
  }
  return el;
}

/**
 * Replaces a container's content only when what it shows changed, and gives focus back
 * to the element that had it (by its data-focus-key), so a refresh every two seconds
 * never throws a keyboard user out of a table.
 */
function update(container, key, build) {
  if (container.dataset.renderKey === key) return;
  const focused = document.activeElement;
  const focusKey = container.contains(focused) ? focused?.dataset?.focusKey : undefined;
  container.replaceChildren(...[build()].flat());
  container.dataset.renderKey = key;
  if (focusKey) container.querySelector(`[data-focus-key="${CSS.escape(focusKey)}"]`)?.focus();
}

function stateBadge(state, id) {
  return h('span', { class: `badge state-${String(state).toLowerCase()}`, id, text: state });
}

function statusBadge(status) {
  return h('span', { class: `badge status-${String(status).toLowerCase()}`, text: status });
}

function workLink(id, text) {
  return h('a', { href: `#/works/${id}`, text: text ?? shortId(id), dataset: { focusKey: id } });
}

function shortId(id) {
  return id ? String(id).slice(0, 8) : '—';
}

function empty(text) {
  return h('p', { class: 'empty', text });
}

function section(title, id, ...children) {
  return h(
    'section',
    { class: 'panel', 'aria-labelledby': `${id}-title` },
    h('h2', { id: `${id}-title`, text: title }),
    h('div', { id }, ...children),
  );
}

function table(columns, rows, caption) {
  return h(
    'div',
    { class: 'table-wrap' },
    h(
      'table',
      {},
      caption ? h('caption', { class: 'visually-hidden', text: caption }) : null,
      h(
        'thead',
        {},
        h(
          'tr',
          {},
          columns.map((c) => h('th', { scope: 'col', text: c })),
        ),
      ),
      h('tbody', {}, rows),
    ),
  );
}

function dl(pairs) {
  return h(
    'dl',
    { class: 'fields' },
    pairs
      .filter(([, value]) => value !== undefined)
      .map(([term, value]) => [h('dt', { text: term }), h('dd', {}, value ?? '—')]),
  );
}

function json(value, collapsedOver = 240) {
  if (value === null || value === undefined) return h('span', { class: 'muted', text: '—' });
  const text = JSON.stringify(value, null, 2);
  if (text.length <= collapsedOver) return h('pre', { class: 'json', text });
  return h(
    'details',
    { class: 'json-details' },
    h('summary', { text: oneLine(value, 80) }),
    h('pre', { class: 'json', text }),
  );
}

function oneLine(value, max = 120) {
  if (value === null || value === undefined) return '';
  const text = typeof value === 'string' ? value : JSON.stringify(value);
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}

// ── formatting ────────────────────────────────────────────────────────────────────────

const timeFormat = new Intl.DateTimeFormat(undefined, {
  year: 'numeric',
  month: '2-digit',
  day: '2-digit',
  hour: '2-digit',
  minute: '2-digit',
  second: '2-digit',
  hour12: false,
});

function time(iso) {
  if (!iso) return h('span', { class: 'muted', text: '—' });
  const date = new Date(iso);
  return h(
    'time',
    { datetime: date.toISOString(), title: date.toISOString() },
    timeFormat.format(date),
  );
}

function relative(iso) {
  const ms = new Date(iso).getTime() - Date.now();
  const text = duration(Math.abs(ms));
  return ms >= 0 ? `in ${text}` : `${text} ago`;
}

function duration(ms) {
  if (ms === null || ms === undefined) return '—';
  if (ms < 1000) return `${Math.round(ms)} ms`;
  const s = ms / 1000;
  if (s < 60) return `${s.toFixed(s < 10 ? 1 : 0)} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m ${Math.round(s % 60)}s`;
  const hours = Math.floor(m / 60);
  if (hours < 48) return `${hours}h ${m % 60}m`;
  return `${Math.floor(hours / 24)}d ${hours % 24}h`;
}

function usd(value) {
  const n = Number(value ?? 0);
  if (n === 0) return '$0';
  return n < 0.01 ? `$${n.toFixed(4)}` : `$${n.toFixed(2)}`;
}

/** What a wait expects, in words: its JSON Schema summarised. */
function describeExpects(expects) {
  if (!expects || typeof expects !== 'object') return 'anything';
  if (Array.isArray(expects.enum))
    return `one of: ${expects.enum.map((v) => JSON.stringify(v)).join(', ')}`;
  if ('const' in expects) return `exactly ${JSON.stringify(expects.const)}`;
  if (expects.type === 'object' && expects.properties)
    return `an object with ${Object.keys(expects.properties).join(', ')}`;
  if (expects.type) return `a ${expects.type}`;
  return oneLine(expects, 100);
}

/** Buttons an operator can press to fill in an answer: the schema's choices. */
function choicesOf(expects) {
  if (!expects || typeof expects !== 'object') return [];
  if (Array.isArray(expects.enum)) return expects.enum;
  if ('const' in expects) return [expects.const];
  if (expects.type === 'boolean') return [true, false];
  return [];
}

function describeRung(rung) {
  if (!rung) return '';
  const after = duration(rung.afterMs);
  switch (rung.action) {
    case 'remind':
      return `after ${after}: remind`;
    case 'escalate':
      return `after ${after}: hand over to ${describeAddress(rung.target)}`;
    case 'default':
      return `after ${after}: take the default ${JSON.stringify(rung.value)}`;
    case 'fail':
      return `after ${after}: fail the work`;
    default:
      return `after ${after}: ${rung.action}`;
  }
}

function describeAddress(value) {
  if (!value) return '—';
  try {
    const address = typeof value === 'string' ? JSON.parse(value) : value;
    if (address && typeof address === 'object' && address.channel)
      return `${address.channel}:${address.target}${address.thread ? ` (thread ${address.thread})` : ''}`;
  } catch {
    // Not JSON: show it as it is.
  }
  return String(value);
}

// ── API ───────────────────────────────────────────────────────────────────────────────

class ApiError extends Error {
  constructor(status, problem) {
    super(problem?.detail ?? (status ? `HTTP ${status}` : 'The gateway is unreachable.'));
    this.status = status;
    this.problem = problem;
  }
}

const app = {
  token: sessionStorage.getItem(TOKEN_KEY),
  session: null,
  view: null,
  poll: null,
};

async function api(path, { method = 'GET', body, token = app.token } = {}) {
  let res;
  try {
    res = await fetch(path, {
      method,
      headers: {
        accept: 'application/json',
        authorization: `Bearer ${token}`,
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch {
    throw new ApiError(0, undefined);
  }
  const text = await res.text();
  let payload;
  try {
    payload = text ? JSON.parse(text) : undefined;
  } catch {
    payload = { detail: text.slice(0, 200) };
  }
  if (res.status === 401 && token === app.token && app.token) {
    signOut('The gateway refused the token (unknown or revoked). Sign in again.');
  }
  if (!res.ok) throw new ApiError(res.status, payload);
  return payload;
}

function problemText(err) {
  if (!(err instanceof ApiError)) return String(err?.message ?? err);
  const problem = err.problem ?? {};
  const parts = [problem.detail ?? err.message];
  if (problem.currentState) parts.push(`(current state: ${problem.currentState})`);
  if (Array.isArray(problem.errors))
    parts.push(problem.errors.map((e) => `${e.path ? `${e.path}: ` : ''}${e.message}`).join('; '));
  return parts.join(' ');
}

// ── shell: session, live counts, polling, routing ───────────────────────────────────

function banner(text) {
  const el = $('banner');
  el.textContent = text ?? '';
  el.hidden = !text;
}

let toastTimer;
function toast(text) {
  const el = $('toast');
  el.textContent = text;
  el.hidden = false;
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => (el.hidden = true), 5000);
}

function signOut(message) {
  sessionStorage.removeItem(TOKEN_KEY);
  app.token = null;
  app.session = null;
  stopPolling();
  render(message);
}

function renderShell() {
  const signedIn = Boolean(app.token && app.session);
  $('nav').hidden = !signedIn;
  $('counts').hidden = !signedIn;
  $('session').hidden = !signedIn;
  if (signedIn) {
    $('who').textContent = `${app.session.name} · ${app.session.role}`;
    const section = location.hash.split(/[/?]/)[1] || 'works';
    for (const link of $('nav').querySelectorAll('a')) {
      if (link.dataset.section === section) link.setAttribute('aria-current', 'page');
      else link.removeAttribute('aria-current');
    }
  }
}

function buildCounts() {
  const counts = $('counts');
  if (counts.childElementCount) return;
  counts.append(
    ...STATES.map((state) =>
      h(
        'a',
        {
          class: `count state-${state.toLowerCase()}`,
          href: `#/works?state=${state}`,
          dataset: { state },
          title: `Works that are ${state}`,
        },
        h('span', { class: 'count-n', text: '·' }),
        h('span', { class: 'count-label', text: state }),
      ),
    ),
  );
}

async function refreshCounts() {
  const stats = await api('/api/v1/stats?days=1');
  for (const el of $('counts').querySelectorAll('[data-state]')) {
    el.querySelector('.count-n').textContent = String(stats.byState[el.dataset.state] ?? 0);
  }
}

function stopPolling() {
  if (app.poll) clearTimeout(app.poll.timer);
  app.poll = null;
}

/** One loop for the live counts and the current view: every POLL_MS, never overlapping. */
function startPolling() {
  stopPolling();
  const poll = { timer: undefined };
  app.poll = poll;
  const tick = async () => {
    if (app.poll !== poll) return;
    if (!document.hidden) {
      const results = await Promise.allSettled([refreshCounts(), app.view?.refresh?.()]);
      const failed = results.find((r) => r.status === 'rejected');
      if (app.poll !== poll) return;
      banner(failed ? `Cannot refresh: ${problemText(failed.reason)} Retrying…` : '');
    }
    poll.timer = setTimeout(tick, POLL_MS);
  };
  poll.timer = setTimeout(tick, POLL_MS);
}

function parseRoute() {
  const hash = location.hash.replace(/^#/, '') || '/works';
  const [path, query] = hash.split('?');
  const parts = path.split('/').filter(Boolean);
  return { parts, params: new URLSearchParams(query ?? '') };
}

async function render(message) {
  app.view?.unmount?.();
  app.view = null;
  const main = $('main');
  if (!app.token) {
    renderShell();
    main.replaceChildren(loginView(message));
    main.querySelector('input')?.focus();
    return;
  }
  if (!app.session) {
    try {
      app.session = await api('/dashboard/session');
    } catch (err) {
      if (!app.token) return; // signed out by the 401 handler, which rendered the form
      main.replaceChildren(empty(`Cannot reach the gateway: ${problemText(err)}`));
      setTimeout(() => render(), POLL_MS);
      return;
    }
  }
  buildCounts();
  renderShell();
  const { parts, params } = parseRoute();
  let view;
  if (parts[0] === 'works' && parts[1]) view = workView(parts[1]);
  else if (parts[0] === 'queues') view = queuesView();
  else if (parts[0] === 'cost') view = costView();
  else if (parts[0] === 'start') view = startView();
  else view = worksView(params);
  app.view = view;
  main.replaceChildren(view.element);
  document.title = `${view.title} · workgate`;
  if (!app.poll) startPolling();
  await Promise.allSettled([refreshCounts(), view.refresh()]).then((results) => {
    const failed = results.find((r) => r.status === 'rejected');
    banner(failed ? `Cannot load: ${problemText(failed.reason)}` : '');
  });
}

function loginView(message) {
  const input = h('input', {
    id: 'token',
    name: 'token',
    type: 'password',
    autocomplete: 'off',
    spellcheck: 'false',
    required: true,
    placeholder: 'wg_…',
    'aria-describedby': 'token-help',
  });
  const error = h('p', { class: 'form-error', role: 'alert', hidden: !message, text: message });
  const form = h(
    'form',
    {
      class: 'card login',
      onsubmit: async (event) => {
        event.preventDefault();
        const token = input.value.trim();
        if (!token) {
          error.textContent = 'Paste an API token first.';
          error.hidden = false;
          return;
        }
        try {
          const session = await api('/dashboard/session', { token });
          sessionStorage.setItem(TOKEN_KEY, token);
          app.token = token;
          app.session = session;
          await render();
          $('main').focus();
        } catch (err) {
          error.textContent =
            err instanceof ApiError && err.status === 401
              ? 'That token is unknown or revoked.'
              : problemText(err);
          error.hidden = false;
          input.select();
        }
      },
    },
    h('h1', { text: 'Sign in' }),
    h('label', { for: 'token', text: 'API token' }),
    input,
    h(
      'p',
      { id: 'token-help', class: 'help' },
      'Create one with ',
      h('code', { text: 'workgate tokens create --name you --role operator' }),
      ' (viewers can look, operators can also act). It is kept in this tab only (sessionStorage) and sent only to this gateway.',
    ),
    error,
    h('button', { type: 'submit', class: 'primary', text: 'Sign in' }),
  );
  return form;
}

// ── works list ───────────────────────────────────────────────────────────────────────

function worksView(params) {
  const filters = {
    state: params.get('state') ?? '',
    kind: params.get('kind') ?? '',
    q: params.get('q') ?? '',
  };
  // Keyset paging: the cursors of the pages before this one, newest first.
  const pages = [null];
  let nextCursor = null;

  const stateSelect = h(
    'select',
    { id: 'filter-state', name: 'state' },
    h('option', { value: '', text: 'Any state' }),
    STATES.map((s) => h('option', { value: s, text: s, selected: s === filters.state })),
  );
  const kindInput = h('input', {
    id: 'filter-kind',
    name: 'kind',
    type: 'text',
    value: filters.kind,
    placeholder: 'workflow kind',
  });
  const searchInput = h('input', {
    id: 'search',
    name: 'q',
    type: 'search',
    value: filters.q,
    placeholder: 'Text in the input — press / to search',
    'aria-keyshortcuts': '/',
  });
  const form = h(
    'form',
    {
      class: 'filters',
      role: 'search',
      'aria-label': 'Filter works',
      onsubmit: (event) => {
        event.preventDefault();
        const query = new URLSearchParams();
        if (stateSelect.value) query.set('state', stateSelect.value);
        if (kindInput.value.trim()) query.set('kind', kindInput.value.trim());
        if (searchInput.value.trim()) query.set('q', searchInput.value.trim());
        const hash = `#/works${query.size ? `?${query}` : ''}`;
        if (location.hash === hash) void refresh();
        else location.hash = hash;
      },
    },
    h('label', { for: 'filter-state', text: 'State' }),
    stateSelect,
    h('label', { for: 'filter-kind', text: 'Kind' }),
    kindInput,
    h('label', { for: 'search', text: 'Search' }),
    searchInput,
    h('button', { type: 'submit', text: 'Filter' }),
  );
  const results = h('div', { id: 'works-results', 'aria-live': 'off' });
  const pageInfo = h('span', { class: 'muted' });
  const prev = h('button', {
    type: 'button',
    text: '← Newer',
    disabled: true,
    onclick: () => {
      if (pages.length > 1) pages.pop();
      void refresh();
    },
  });
  const next = h('button', {
    type: 'button',
    text: 'Older →',
    disabled: true,
    onclick: () => {
      if (nextCursor) pages.push(nextCursor);
      void refresh();
    },
  });

  async function refresh() {
    const query = new URLSearchParams({ limit: '25' });
    if (filters.state) query.set('state', filters.state);
    if (filters.kind) query.set('kind', filters.kind);
    if (filters.q) query.set('q', filters.q);
    const cursor = pages[pages.length - 1];
    if (cursor) query.set('cursor', cursor);
    const page = await api(`/api/v1/works?${query}`);
    nextCursor = page.nextCursor;
    prev.disabled = pages.length <= 1;
    next.disabled = !nextCursor;
    pageInfo.textContent = `Page ${pages.length}`;
    update(results, JSON.stringify(page.items), () =>
      page.items.length
        ? table(
            [
              'Work',
              'Kind',
              'State',
              'Channel',
              'Waiting for',
              'Attempt',
              'Cost',
              'Created',
              'Updated',
            ],
            page.items.map((w) =>
              h(
                'tr',
                { dataset: { workId: w.id } },
                h('td', { class: 'mono' }, workLink(w.id)),
                h('td', { text: w.kind }),
                h('td', {}, stateBadge(w.state)),
                h('td', { text: w.channel }),
                h('td', { text: w.waitReason ?? '' }),
                h('td', { class: 'num', text: w.attempt }),
                h('td', { class: 'num', text: usd(w.costUsd) }),
                h('td', {}, time(w.createdAt)),
                h('td', {}, time(w.updatedAt)),
              ),
            ),
            'Works, newest first',
          )
        : empty('No works match these filters.'),
    );
  }

  const onKey = (event) => {
    // `/` jumps to the search box, unless the user is typing somewhere.
    if (event.key !== '/' || event.ctrlKey || event.metaKey || event.altKey) return;
    const target = event.target;
    if (
      target instanceof HTMLElement &&
      target.closest('input, textarea, select, [contenteditable]')
    )
      return;
    event.preventDefault();
    searchInput.focus();
    searchInput.select();
  };
  document.addEventListener('keydown', onKey);

  return {
    title: 'Works',
    element: h(
      'div',
      {},
      h('h1', { text: 'Works' }),
      form,
      results,
      h('div', { class: 'pager' }, prev, pageInfo, next),
    ),
    refresh,
    unmount: () => document.removeEventListener('keydown', onKey),
  };
}

// ── one work ─────────────────────────────────────────────────────────────────────────

const ACTIONS = [
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

function workView(id) {
  let detail = null;
  const heading = h('h1', { id: 'work-title', text: 'Work' });
  const stateHolder = h('span', { id: 'work-state-holder' });
  const toolbar = h('div', { class: 'toolbar', role: 'group', 'aria-label': 'Actions' });
  const readOnly = app.session?.role !== 'operator';
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
  const timeline = h('div', { id: 'work-timeline' });
  const inbox = h('div', { id: 'work-inbox' });
  const cost = h('div', { id: 'work-cost' });
  const related = h('div', { id: 'work-related' });

  async function refresh() {
    try {
      detail = await api(`/api/v1/works/${encodeURIComponent(id)}`);
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
    update(timeline, JSON.stringify(detail.timeline), () => renderTimeline(detail.timeline));
    update(inbox, JSON.stringify(detail.inbox), () => renderInbox(detail.inbox));
    update(cost, JSON.stringify([detail.costUsd, detail.modelCalls]), () => renderCost(detail));
    update(related, JSON.stringify([detail.parent, detail.children]), () => renderRelated(detail));
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
        h('span', { class: 'mono muted', id: 'work-id', text: id }),
      ),
      toolbar,
      h(
        'div',
        { class: 'grid' },
        section('Work', 'fields-section', fields),
        section('Waits', 'waits-section', waits),
      ),
      section('Steps', 'steps-section', steps),
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

function renderFields({ work }) {
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

function renderWaits(detail) {
  if (!detail.waits.length) return empty('This work has not waited for anything.');
  return h(
    'ul',
    { class: 'cards' },
    detail.waits
      .slice()
      .reverse()
      .map((wait) => {
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
            [
              wait.status === 'open' ? 'Wakes' : 'Timer was',
              wait.timeoutAt
                ? [
                    time(wait.timeoutAt),
                    wait.status === 'open' ? ` (${relative(wait.timeoutAt)})` : '',
                  ]
                : wait.status === 'open'
                  ? 'never (no timeout)'
                  : undefined,
            ],
            [
              'Then',
              wait.status === 'open'
                ? nextRung
                  ? describeRung(nextRung)
                  : wait.type === 'timer'
                    ? 'the work resumes'
                    : wait.onTimeout === 'resume'
                      ? 'the work resumes with its default'
                      : wait.timeoutAt
                        ? 'the work fails'
                        : undefined
                : undefined,
            ],
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
      }),
  );
}

/** Steps store their result as `{ v: value }` (so null and undefined stay distinct); show the value. */
function stepValue(output) {
  return output && typeof output === 'object' && !Array.isArray(output) && 'v' in output
    ? output.v
    : output;
}

function renderSteps(steps) {
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
        h('td', {
          class: 'num',
          text:
            s.durationMs === null
              ? s.status === 'running'
                ? 'running'
                : '—'
              : duration(s.durationMs),
        }),
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

function renderTimeline(timeline) {
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

function renderInbox(inbox) {
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

function renderCost(detail) {
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

function renderRelated(detail) {
  if (!detail.parent && !detail.children.length) return empty('No parent, no children.');
  return dl([
    [
      'Parent',
      detail.parent
        ? [
            workLink(detail.parent.id, `${detail.parent.kind} ${shortId(detail.parent.id)}`),
            ' ',
            stateBadge(detail.parent.state),
          ]
        : undefined,
    ],
    [
      'Children',
      detail.children.length
        ? h(
            'ul',
            { class: 'plain' },
            detail.children.map((c) =>
              h('li', {}, workLink(c.id, `${c.kind} ${shortId(c.id)}`), ' ', stateBadge(c.state)),
            ),
          )
        : undefined,
    ],
  ]);
}

// ── actions with confirmation ───────────────────────────────────────────────────────

function openAction(action, workId, getDetail, refresh) {
  const detail = getDetail();
  if (!detail) return;
  const dialog = $('confirm');
  const body = $('confirm-body');
  const error = $('confirm-error');
  const ok = $('confirm-ok');
  $('confirm-title').textContent = action.title;
  ok.textContent = action.confirm;
  ok.className = action.danger ? 'danger' : 'primary';
  error.hidden = true;

  const intro = h('p', {}, action.explain);
  const what = h(
    'p',
    { class: 'muted' },
    `${detail.work.kind} ${shortId(workId)} · now `,
    stateBadge(detail.work.state),
  );
  let collect;
  let firstField;

  if (action.name === 'rerun') {
    const max = Math.max(...detail.steps.map((s) => s.seq));
    const input = h('input', {
      id: 'rerun-from',
      type: 'number',
      min: 1,
      max,
      value: 1,
      required: true,
    });
    const reason = h('input', { id: 'action-reason', type: 'text', maxlength: 1000 });
    firstField = input;
    body.replaceChildren(
      intro,
      what,
      h('label', { for: 'rerun-from', text: `From step (1–${max})` }),
      input,
      h(
        'ul',
        { class: 'plain muted' },
        detail.steps.map((s) => h('li', { text: `${s.seq}. ${s.name} (${s.status})` })),
      ),
      h('label', { for: 'action-reason', text: 'Reason (optional, goes into the timeline)' }),
      reason,
    );
    collect = () => {
      const fromStep = Number(input.value);
      if (!Number.isInteger(fromStep) || fromStep < 1 || fromStep > max)
        throw new Error(`Pick a step between 1 and ${max}.`);
      return { fromStep, ...(reason.value.trim() ? { reason: reason.value.trim() } : {}) };
    };
  } else if (action.name === 'signal') {
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
    firstField = choices.querySelector('button') ?? payload;
    body.replaceChildren(
      intro,
      what,
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
    );
    payload.addEventListener('keydown', (event) => {
      if (event.key === 'Enter' && (event.ctrlKey || event.metaKey)) {
        event.preventDefault();
        $('confirm-form').requestSubmit();
      }
    });
    collect = () => {
      if (!payload.value.trim()) throw new Error('Write the answer as JSON (for text, in quotes).');
      let value;
      try {
        value = JSON.parse(payload.value);
      } catch (err) {
        throw new Error(`That is not JSON: ${err.message}. Text needs quotes: "yes".`);
      }
      return { waitId: waitSelect.value, payload: value };
    };
  } else {
    const reason = h('input', { id: 'action-reason', type: 'text', maxlength: 1000 });
    body.replaceChildren(
      intro,
      what,
      h('label', { for: 'action-reason', text: 'Reason (optional, goes into the timeline)' }),
      reason,
    );
    collect = () => (reason.value.trim() ? { reason: reason.value.trim() } : undefined);
  }

  const form = $('confirm-form');
  const onSubmit = async (event) => {
    event.preventDefault();
    error.hidden = true;
    let payload;
    try {
      payload = collect();
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
  (firstField ?? ok).focus();
}

// ── queues and leases ───────────────────────────────────────────────────────────────

function queuesView() {
  const queues = h('div', { id: 'queues' });
  const leases = h('div', { id: 'leases' });
  const expiredOnly = h('input', { id: 'expired-only', type: 'checkbox' });
  expiredOnly.addEventListener('change', () => void refresh());

  async function refresh() {
    const [q, l] = await Promise.all([
      api('/api/v1/queues'),
      api(`/api/v1/leases${expiredOnly.checked ? '?expired=true' : ''}`),
    ]);
    update(queues, JSON.stringify(q), () =>
      table(
        ['Queue', ...QUEUE_COLUMNS.map(([, label]) => label), 'Paused'],
        q.queues.map((queue) =>
          h(
            'tr',
            { dataset: { queue: queue.name } },
            h('th', { scope: 'row', text: queue.name }),
            QUEUE_COLUMNS.map(([key]) =>
              h('td', {
                class: `num${key === 'failed' && queue[key] ? ' bad' : ''}`,
                text: queue[key] ?? 0,
              }),
            ),
            h('td', { text: queue.paused ? 'paused' : 'no' }),
          ),
        ),
        'Jobs per queue and state',
      ),
    );
    update(leases, JSON.stringify(l), () =>
      l.items.length
        ? table(
            ['Work', 'Kind', 'Attempt', 'Held by', 'Expires', 'Last heartbeat', 'Status'],
            l.items.map((lease) =>
              h(
                'tr',
                { class: lease.expired ? 'expired' : undefined },
                h('td', { class: 'mono' }, workLink(lease.workId)),
                h('td', { text: lease.kind }),
                h('td', { class: 'num', text: lease.attempt }),
                h('td', { class: 'mono', text: lease.leaseOwner ?? '—' }),
                h('td', {}, time(lease.leaseExpiresAt)),
                h('td', {}, time(lease.lastHeartbeatAt)),
                h(
                  'td',
                  {},
                  lease.expired
                    ? h('span', { class: 'badge state-failed', text: 'expired' })
                    : 'held',
                ),
              ),
            ),
            'Leases of running works',
          )
        : empty(expiredOnly.checked ? 'No expired leases.' : 'No work is running.'),
    );
  }

  return {
    title: 'Queues and leases',
    element: h(
      'div',
      {},
      h('h1', { text: 'Queues and leases' }),
      section('Queues', 'queues-section', queues),
      h(
        'section',
        { class: 'panel', 'aria-labelledby': 'leases-title' },
        h('h2', { id: 'leases-title', text: 'Leases' }),
        h(
          'p',
          { class: 'help' },
          'Running works and who holds them. An expired lease means a worker died or froze; the reconciler takes the work back on its next pass.',
        ),
        h(
          'div',
          { class: 'inline' },
          expiredOnly,
          h('label', { for: 'expired-only', text: 'Expired only' }),
        ),
        leases,
      ),
    ),
    refresh,
  };
}

// ── cost ─────────────────────────────────────────────────────────────────────────────

/**
 * "Start work": a kind the workers registered (GET /api/v1/workflows), its input as
 * JSON and an optional idempotency key, sent to POST /api/v1/works. The gateway checks
 * the input against the kind's JSON Schema; a refusal names the field and keeps the form.
 */
function startView() {
  const readOnly = app.session?.role !== 'operator';
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
  const form = h(
    'form',
    {
      class: 'start-form',
      'aria-label': 'Start a work',
      novalidate: true,
      onsubmit: async (event) => {
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
      },
    },
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

function costView() {
  const days = h('div', { id: 'cost-days' });
  const total = h('p', { class: 'big-number', id: 'cost-total' });

  async function refresh() {
    const stats = await api('/api/v1/stats?days=30');
    const sum = stats.costPerDay.reduce((acc, d) => acc + d.costUsd, 0);
    total.textContent = usd(sum);
    const max = Math.max(0, ...stats.costPerDay.map((d) => d.costUsd));
    update(days, JSON.stringify(stats.costPerDay), () =>
      stats.costPerDay.length
        ? table(
            ['Day (UTC)', 'Cost', ''],
            stats.costPerDay
              .slice()
              .reverse()
              .map((d) =>
                h(
                  'tr',
                  {},
                  h('td', { class: 'mono', text: d.day }),
                  h('td', { class: 'num', text: usd(d.costUsd) }),
                  h(
                    'td',
                    { class: 'bar-cell', 'aria-hidden': 'true' },
                    h('meter', { min: 0, max: max || 1, value: d.costUsd, title: usd(d.costUsd) }),
                  ),
                ),
              ),
            'Model spend per day',
          )
        : empty('No model spend in the last 30 days.'),
    );
  }

  return {
    title: 'Cost',
    element: h(
      'div',
      {},
      h('h1', { text: 'Cost' }),
      section(
        'Model spend, last 30 days',
        'cost-days-section',
        total,
        days,
        h(
          'p',
          { class: 'help' },
          'Each work’s own cost is in the works list and on its page (model calls).',
        ),
      ),
    ),
    refresh,
  };
}

// ── start ────────────────────────────────────────────────────────────────────────────

$('sign-out').addEventListener('click', () => signOut('Signed out.'));
window.addEventListener('hashchange', () => void render());
void render();
