// The works list: filters (state, kind, text in the input), newest first, keyset pages.

import { api } from '../lib/api.js';
import { empty, h, stateBadge, table, time, update, workLink } from '../lib/dom.js';
import { STATES, usd } from '../lib/format.js';

export function worksView(params) {
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
      page.items.length ? worksTable(page.items) : empty('No works match these filters.'),
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

function worksTable(items) {
  return table(
    [
      'Work',
      'Kind',
      'Title',
      'State',
      'Channel',
      'Waiting for',
      'Attempt',
      'Cost',
      'Created',
      'Updated',
    ],
    items.map((w) =>
      h(
        'tr',
        { dataset: { workId: w.id } },
        h('td', { class: 'mono' }, workLink(w.id)),
        h('td', { text: w.kind }),
        h('td', { text: w.title ?? '' }),
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
  );
}
