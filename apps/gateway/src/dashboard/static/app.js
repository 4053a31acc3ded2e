// The workgate dashboard's entry module: the shell (session, live counts, polling) and
// the router that picks a view. Plain ES modules, no dependencies and no build step
// (see docs/decisions.md): lib/ holds what every view shares (API client, formatting,
// routing, DOM helpers), views/ one module per view. It reads and steers works through
// the operator API (/api/v1) with the operator's own token.

import { api, forgetToken, problemText, session, whenTokenRefused } from './lib/api.js';
import { $, banner, copyFullIds, empty, h } from './lib/dom.js';
import { STATES } from './lib/format.js';
import { currentSection, parseRoute } from './lib/router.js';
import { costView } from './views/cost.js';
import { loginView } from './views/login.js';
import { queuesView } from './views/queues.js';
import { startView } from './views/start.js';
import { workView } from './views/work.js';
import { worksView } from './views/works.js';

const POLL_MS = 2000;

/** The view on screen ({ title, element, refresh, unmount? }) and the poll loop. */
const shell = { view: null, poll: null };

function signOut(message) {
  forgetToken();
  stopPolling();
  void render(message);
}

function renderShell() {
  const signedIn = Boolean(session.token && session.user);
  $('nav').hidden = !signedIn;
  $('counts').hidden = !signedIn;
  $('session').hidden = !signedIn;
  if (!signedIn) return;
  $('who').textContent = `${session.user.name} · ${session.user.role}`;
  const section = currentSection();
  for (const link of $('nav').querySelectorAll('a')) {
    if (link.dataset.section === section) link.setAttribute('aria-current', 'page');
    else link.removeAttribute('aria-current');
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
  if (shell.poll) clearTimeout(shell.poll.timer);
  shell.poll = null;
}

/** One loop for the live counts and the current view: every POLL_MS, never overlapping. */
function startPolling() {
  stopPolling();
  const poll = { timer: undefined };
  shell.poll = poll;
  const tick = async () => {
    if (shell.poll !== poll) return;
    if (!document.hidden) {
      const results = await Promise.allSettled([refreshCounts(), shell.view?.refresh?.()]);
      const failed = results.find((r) => r.status === 'rejected');
      if (shell.poll !== poll) return;
      banner(failed ? `Cannot refresh: ${problemText(failed.reason)} Retrying…` : '');
    }
    poll.timer = setTimeout(tick, POLL_MS);
  };
  poll.timer = setTimeout(tick, POLL_MS);
}

function viewFor({ parts, params }) {
  if (parts[0] === 'works' && parts[1]) return workView(parts[1]);
  if (parts[0] === 'queues') return queuesView();
  if (parts[0] === 'cost') return costView();
  if (parts[0] === 'start') return startView();
  return worksView(params);
}

async function render(message) {
  shell.view?.unmount?.();
  shell.view = null;
  const main = $('main');
  if (!session.token) {
    renderShell();
    main.replaceChildren(
      loginView(message, async () => {
        await render();
        main.focus();
      }),
    );
    main.querySelector('input')?.focus();
    return;
  }
  if (!session.user) {
    try {
      session.user = await api('/dashboard/session');
    } catch (err) {
      if (!session.token) return; // signed out by the 401 handler, which rendered the form
      main.replaceChildren(empty(`Cannot reach the gateway: ${problemText(err)}`));
      setTimeout(() => void render(), POLL_MS);
      return;
    }
  }
  buildCounts();
  renderShell();
  const view = viewFor(parseRoute());
  shell.view = view;
  main.replaceChildren(view.element);
  document.title = `${view.title} · workgate`;
  if (!shell.poll) startPolling();
  const results = await Promise.allSettled([refreshCounts(), view.refresh()]);
  const failed = results.find((r) => r.status === 'rejected');
  banner(failed ? `Cannot load: ${problemText(failed.reason)}` : '');
}

whenTokenRefused(signOut);
document.addEventListener('copy', copyFullIds);
$('sign-out').addEventListener('click', () => signOut('Signed out.'));
window.addEventListener('hashchange', () => void render());
void render();
