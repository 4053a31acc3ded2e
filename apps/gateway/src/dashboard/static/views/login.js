// Sign-in: an API token, checked against GET /dashboard/session before it is kept.

import { api, ApiError, problemText, signIn } from '../lib/api.js';
import { h } from '../lib/dom.js';

/** The sign-in form; `onSignedIn` runs once the gateway accepted the token. */
export function loginView(message, onSignedIn) {
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
  return h(
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
          signIn(token, await api('/dashboard/session', { token }));
          await onSignedIn();
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
}
