// Model spend per UTC day over the last 30 days.

import { api } from '../lib/api.js';
import { empty, h, section, table, update } from '../lib/dom.js';
import { usd } from '../lib/format.js';

function daysTable(costPerDay) {
  const max = Math.max(0, ...costPerDay.map((d) => d.costUsd));
  return table(
    ['Day (UTC)', 'Cost', ''],
    costPerDay
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
  );
}

export function costView() {
  const days = h('div', { id: 'cost-days' });
  const total = h('p', { class: 'big-number', id: 'cost-total' });

  async function refresh() {
    const stats = await api('/api/v1/stats?days=30');
    total.textContent = usd(stats.costPerDay.reduce((acc, d) => acc + d.costUsd, 0));
    update(days, JSON.stringify(stats.costPerDay), () =>
      stats.costPerDay.length
        ? daysTable(stats.costPerDay)
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
