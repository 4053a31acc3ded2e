// Queues and leases: BullMQ job counts per queue, and the running works' leases
// (an expired one means a worker died or froze).

import { api } from '../lib/api.js';
import { empty, h, section, table, time, update, workLink } from '../lib/dom.js';

const QUEUE_COLUMNS = [
  ['waiting', 'Waiting'],
  ['active', 'Active'],
  ['delayed', 'Delayed'],
  ['prioritized', 'Prioritized'],
  ['waitingChildren', 'Waiting children'],
  ['completed', 'Completed'],
  ['failed', 'Failed'],
];

function queuesTable(q) {
  return table(
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
  );
}

function leasesTable(items) {
  return table(
    ['Work', 'Kind', 'Attempt', 'Held by', 'Expires', 'Last heartbeat', 'Status'],
    items.map((lease) =>
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
          lease.expired ? h('span', { class: 'badge state-failed', text: 'expired' }) : 'held',
        ),
      ),
    ),
    'Leases of running works',
  );
}

export function queuesView() {
  const queues = h('div', { id: 'queues' });
  const leases = h('div', { id: 'leases' });
  const expiredOnly = h('input', { id: 'expired-only', type: 'checkbox' });
  expiredOnly.addEventListener('change', () => void refresh());

  async function refresh() {
    const [q, l] = await Promise.all([
      api('/api/v1/queues'),
      api(`/api/v1/leases${expiredOnly.checked ? '?expired=true' : ''}`),
    ]);
    update(queues, JSON.stringify(q), () => queuesTable(q));
    update(leases, JSON.stringify(l), () =>
      l.items.length
        ? leasesTable(l.items)
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
