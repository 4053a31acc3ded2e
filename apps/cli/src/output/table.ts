import Table from 'cli-table3';

/**
 * A borderless, left-aligned table: columns separated by two spaces, so the output
 * reads like `ps` or `kubectl get` and survives `grep`, `awk` and `cut`.
 */
export function renderTable(head: string[], rows: Array<Array<string | number>>): string {
  const table = new Table({
    head,
    chars: {
      top: '',
      'top-mid': '',
      'top-left': '',
      'top-right': '',
      bottom: '',
      'bottom-mid': '',
      'bottom-left': '',
      'bottom-right': '',
      left: '',
      'left-mid': '',
      mid: '',
      'mid-mid': '',
      right: '',
      'right-mid': '',
      middle: '  ',
    },
    style: { head: [], border: [], 'padding-left': 0, 'padding-right': 0 },
  });
  table.push(...rows.map((r) => r.map((c) => String(c))));
  // cli-table3 pads the last column too; trailing blanks only get in the way of scripts.
  return table
    .toString()
    .split('\n')
    .map((line) => line.trimEnd())
    .join('\n');
}

/**
 * A page of a list command: JSON as the API gave it (`--json`), else a table, or `empty`
 * when nothing matched, and on stderr the command that fetches the next page.
 */
export function printPage<T>(
  page: { items: T[]; nextCursor: string | null },
  opts: { json?: boolean },
  list: { empty: string; head: string[]; row: (item: T) => Array<string | number>; more: string },
): void {
  if (opts.json) return printJson(page);
  if (!page.items.length) return console.log(list.empty);
  console.log(renderTable(list.head, page.items.map(list.row)));
  if (page.nextCursor) console.error(`more: ${list.more} --cursor ${page.nextCursor}`);
}

/** Prints JSON for scripts: exactly the API's answer, pretty-printed. */
export function printJson(value: unknown): void {
  console.log(JSON.stringify(value, null, 2));
}

/** `2026-11-24 15:53:30Z` — sortable, unambiguous, short. */
export function when(iso: string | null | undefined): string {
  if (!iso) return '-';
  return iso.replace('T', ' ').replace(/\.\d+Z$/, 'Z');
}

export function dash(value: string | number | null | undefined): string {
  return value === null || value === undefined || value === '' ? '-' : String(value);
}

export function usd(value: number): string {
  return `$${value.toFixed(4)}`;
}

/** A JSON value on one line, cut to `max` characters. */
export function brief(value: unknown, max = 80): string {
  if (value === undefined || value === null) return '-';
  const text = typeof value === 'string' ? value : JSON.stringify(value);
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}
