// DOM helpers shared by every view. Everything from the API goes on the page as text
// (textContent, attributes), never as HTML, so data cannot inject script.

import { shortId } from './format.js';

export const $ = (id) => document.getElementById(id);

/** Creates an element: props are attributes, except class, text, on<event> and dataset. */
export function h(tag, props, ...children) {
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
export function update(container, key, build) {
  if (container.dataset.renderKey === key) return;
  const focused = document.activeElement;
  const focusKey = container.contains(focused) ? focused?.dataset?.focusKey : undefined;
  container.replaceChildren(...[build()].flat());
  container.dataset.renderKey = key;
  if (focusKey) container.querySelector(`[data-focus-key="${CSS.escape(focusKey)}"]`)?.focus();
}

export function stateBadge(state, id) {
  return h('span', { class: `badge state-${String(state).toLowerCase()}`, id, text: state });
}

export function statusBadge(status) {
  return h('span', { class: `badge status-${String(status).toLowerCase()}`, text: status });
}

/**
 * A link to a work, labelled with its short id (or `text`): the full id is its tooltip,
 * its target and what a copy of the label puts on the clipboard (see copyFullIds).
 */
export function workLink(id, text) {
  return h('a', {
    href: `#/works/${id}`,
    class: text ? undefined : 'short-id',
    title: id,
    text: text ?? shortId(id),
    dataset: text ? { focusKey: id } : { focusKey: id, fullId: id },
  });
}

/**
 * Copying a short id copies the full one: when the whole selection lies inside one
 * element that carries `data-full-id`, the clipboard gets that id instead of the few
 * characters shown. A selection across several rows is copied as shown.
 */
export function copyFullIds(event) {
  const selection = document.getSelection();
  if (!selection || selection.isCollapsed || !event.clipboardData) return;
  const holderOf = (node) =>
    (node instanceof Element ? node : node?.parentElement)?.closest('[data-full-id]');
  const holder = holderOf(selection.anchorNode);
  if (!holder || holder !== holderOf(selection.focusNode)) return;
  event.clipboardData.setData('text/plain', holder.dataset.fullId);
  event.preventDefault();
}

export function empty(text) {
  return h('p', { class: 'empty', text });
}

export function section(title, id, ...children) {
  return h(
    'section',
    { class: 'panel', 'aria-labelledby': `${id}-title` },
    h('h2', { id: `${id}-title`, text: title }),
    h('div', { id }, ...children),
  );
}

export function table(columns, rows, caption) {
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

export function dl(pairs) {
  return h(
    'dl',
    { class: 'fields' },
    pairs
      .filter(([, value]) => value !== undefined)
      .map(([term, value]) => [h('dt', { text: term }), h('dd', {}, value ?? '—')]),
  );
}

export function oneLine(value, max = 120) {
  if (value === null || value === undefined) return '';
  const text = typeof value === 'string' ? value : JSON.stringify(value);
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}

export function json(value, collapsedOver = 240) {
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

const timeFormat = new Intl.DateTimeFormat(undefined, {
  year: 'numeric',
  month: '2-digit',
  day: '2-digit',
  hour: '2-digit',
  minute: '2-digit',
  second: '2-digit',
  hour12: false,
});

/** A <time> in the reader's locale, the exact instant (ISO) as its tooltip. */
export function time(iso) {
  if (!iso) return h('span', { class: 'muted', text: '—' });
  const date = new Date(iso);
  return h(
    'time',
    { datetime: date.toISOString(), title: date.toISOString() },
    timeFormat.format(date),
  );
}

// ── the page's shell: status banner and toast ─────────────────────────────────────────

export function banner(text) {
  const el = $('banner');
  el.textContent = text ?? '';
  el.hidden = !text;
}

let toastTimer;
export function toast(text) {
  const el = $('toast');
  el.textContent = text;
  el.hidden = false;
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => (el.hidden = true), 5000);
}
