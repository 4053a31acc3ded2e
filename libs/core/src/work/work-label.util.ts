/** How many words of a work's input name it when it has no title. */
const WORDS = 6;
const MAX = 48;

function cut(text: string, max: number): string {
  return text.length > max ? `${text.slice(0, max - 1).trimEnd()}…` : text;
}

/** The first words of an input: its `text` (a chat message) or `prompt`, else the JSON. */
export function inputWords(input: unknown): string {
  const fields = (input ?? {}) as { text?: unknown; prompt?: unknown };
  const source =
    typeof input === 'string'
      ? input
      : typeof fields.text === 'string'
        ? fields.text
        : typeof fields.prompt === 'string'
          ? fields.prompt
          : input === null || input === undefined
            ? ''
            : JSON.stringify(input);
  const words = source.split(/\s+/).filter(Boolean);
  const head = words.slice(0, WORDS).join(' ');
  return cut(words.length > WORDS ? `${head}…` : head, MAX);
}

/**
 * What a person reads to tell works apart (chat buttons, lists): the work's title, else
 * its kind and the first words of its input (`assistant: “what is the weather…”`).
 */
export function workLabel(work: { kind: string; title?: string | null; input?: unknown }): string {
  if (work.title) return cut(work.title, MAX);
  const words = inputWords(work.input);
  return words ? `${work.kind}: “${words}”` : work.kind;
}
