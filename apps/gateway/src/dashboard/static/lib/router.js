// The page's routes live in the URL's hash: #/works?state=WAITING, #/works/<id>,
// #/queues, #/cost, #/start. Views are chosen in app.js; this reads the hash.

/** The hash as path segments and query parameters (`#/works` when empty). */
export function parseRoute(hash = location.hash) {
  const [path, query] = (hash.replace(/^#/, '') || '/works').split('?');
  const parts = path.split('/').filter(Boolean);
  return { parts, params: new URLSearchParams(query ?? '') };
}

/** The top-level section the hash is in, for the navigation's aria-current. */
export function currentSection(hash = location.hash) {
  return parseRoute(hash).parts[0] ?? 'works';
}
