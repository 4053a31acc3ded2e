/**
 * The Bot API's reading of `parse_mode: 'HTML'` text, for the loopback server: the
 * supported tags (core.telegram.org/bots/api#html-style), balanced, and the four named
 * entities plus numeric ones. Anything else is refused as Telegram refuses it:
 * "Bad Request: can't parse entities: …" (HTTP 400).
 */
const TAGS = new Set([
  'b',
  'strong',
  'i',
  'em',
  'u',
  'ins',
  's',
  'strike',
  'del',
  'span',
  'tg-spoiler',
  'a',
  'tg-emoji',
  'code',
  'pre',
  'blockquote',
]);
const ENTITIES: Record<string, string> = { lt: '<', gt: '>', amp: '&', quot: '"' };

export function parseTelegramHtml(html: string): { text: string } | { error: string } {
  const open: string[] = [];
  let text = '';
  let i = 0;
  while (i < html.length) {
    const c = html[i]!;
    if (c === '<') {
      const end = html.indexOf('>', i);
      if (end === -1) return { error: `Unclosed start tag at byte offset ${i}` };
      const m = /^<(\/?)([a-z-]+)(\s[^>]*)?>$/i.exec(html.slice(i, end + 1));
      if (!m)
        return { error: `Unsupported start tag "${html.slice(i + 1, end)}" at byte offset ${i}` };
      const name = m[2]!.toLowerCase();
      if (!TAGS.has(name)) return { error: `Unsupported start tag "${name}" at byte offset ${i}` };
      if (m[1]) {
        if (open.pop() !== name)
          return {
            error: `Unmatched end tag at byte offset ${i}, expected "</${open.at(-1) ?? ''}>"`,
          };
      } else open.push(name);
      i = end + 1;
    } else if (c === '&') {
      const m = /^&(#\d+|#x[0-9a-f]+|[a-z]+);/i.exec(html.slice(i));
      const name = m?.[1];
      if (!name || (!name.startsWith('#') && !Object.hasOwn(ENTITIES, name)))
        return { error: `Character entity expected at byte offset ${i}` };
      text += name.startsWith('#x')
        ? String.fromCodePoint(parseInt(name.slice(2), 16))
        : name.startsWith('#')
          ? String.fromCodePoint(Number(name.slice(1)))
          : ENTITIES[name]!;
      i += m[0].length;
    } else if (c === '>') {
      // Telegram tolerates a bare '>' in text.
      text += c;
      i += 1;
    } else {
      text += c;
      i += 1;
    }
  }
  if (open.length)
    return { error: `Can't find end tag corresponding to start tag "${open.at(-1)}"` };
  return { text };
}
