/** One message of a long answer: `source` is the exact slice; `text` what is sent. */
export interface TextPart {
  source: string;
  text: string;
}

const FENCE = /^ {0,3}(`{3,}|~{3,})(.*)$/;

/** The opening line of the fence that text before `end` leaves open, or null. */
function openFenceAt(text: string, end: number): string | null {
  let open: { marker: string; line: string } | null = null;
  let pos = 0;
  // Whole lines only: a line cut in two is still the line it was.
  while (pos < end) {
    const nl = text.indexOf('\n', pos);
    const lineEnd = nl === -1 ? text.length : nl;
    if (lineEnd > end) break;
    const m = FENCE.exec(text.slice(pos, lineEnd));
    if (m) {
      const marker = m[1]!;
      if (!open) open = { marker, line: text.slice(pos, lineEnd).trim() };
      else if (marker[0] === open.marker[0] && marker.length >= open.marker.length && !m[2]!.trim())
        open = null;
    }
    if (nl === -1) break;
    pos = nl + 1;
  }
  return open ? open.line : null;
}

function closerOf(openLine: string): string {
  return /^[`~]+/.exec(openLine)![0];
}

/** Where a part may end (exclusive), best first: a blank line, a line end, a space. */
function cutBefore(text: string, from: number, max: number): number {
  const window = text.slice(from, max);
  const para = window.lastIndexOf('\n\n');
  if (para > 0) return from + para + 2;
  const line = window.lastIndexOf('\n');
  if (line > 0) return from + line + 1;
  const space = Math.max(window.lastIndexOf(' '), window.lastIndexOf('\t'));
  if (space > 0) return from + space + 1;
  // No boundary at all: cut, but never between the halves of a surrogate pair.
  let cut = max;
  if (/[\uD800-\uDBFF]/.test(text.charAt(cut - 1)) && cut - 1 > from) cut -= 1;
  return cut;
}

/**
 * Splits text so that every part measures at most `limit` (`measure` gives the length
 * the channel counts, of the text as sent). Cuts at a blank line, else a line end, else
 * a space; a part that ends inside a code fence closes it, and the next reopens it
 * with the same info string, so each part renders on its own. Nothing is dropped: the
 * parts' `source` slices concatenate to the input.
 */
export function splitMarkdown(
  text: string,
  limit: number,
  measure: (part: string) => number = (s) => s.length,
): TextPart[] {
  if (measure(text) <= limit) return [{ source: text, text }];
  const parts: TextPart[] = [];
  let from = 0;
  while (from < text.length) {
    const reopen = openFenceAt(text, from);
    const wrap = (end: number): string => {
      const body = text.slice(from, end);
      const head = reopen ? `${reopen}\n` : '';
      const open = openFenceAt(text, end);
      const tail = open ? `${body.endsWith('\n') ? '' : '\n'}${closerOf(open)}` : '';
      return `${head}${body}${tail}`;
    };
    let max = Math.min(text.length, from + limit);
    let end = max === text.length && measure(wrap(max)) <= limit ? max : cutBefore(text, from, max);
    let measured = measure(wrap(end));
    while (measured > limit && end - from > 1) {
      // Shrink in proportion: escaping (`&` → `&amp;`) can make text five times longer
      // than its source, and stepping back by the excess alone would cut one character.
      const scaled = from + Math.floor(((end - from) * limit) / measured);
      max = Math.max(from + 1, Math.min(end - 1, scaled));
      end = cutBefore(text, from, max);
      measured = measure(wrap(end));
    }
    parts.push({ source: text.slice(from, end), text: wrap(end) });
    from = end;
  }
  return parts;
}
