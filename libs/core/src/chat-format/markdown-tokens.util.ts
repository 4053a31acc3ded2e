import { Lexer, type Token, type Tokens } from 'marked';

/**
 * The model's Markdown (CommonMark + GFM) as marked's tokens. marked 15 is the last
 * major with a CommonJS build (16+ is ESM only, and this repository compiles to
 * CommonJS); it has no dependencies and no install scripts.
 */
export function lexMarkdown(markdown: string): Token[] {
  return new Lexer({ gfm: true, breaks: false }).lex(markdown);
}

/** The blank lines after a block, so text that is not Markdown keeps its spacing. */
export function trailingNewlines(token: Token): string {
  return /\n+$/.exec(token.raw)?.[0] ?? '';
}

/** A renderer's view of the tokens: each channel says how one token reads. */
export interface MarkdownTarget {
  escape(text: string): string;
  strong(inner: string): string;
  em(inner: string): string;
  del(inner: string): string;
  codespan(code: string): string;
  link(href: string, inner: string): string;
  code(code: string, lang: string): string;
  heading(inner: string): string;
  blockquote(inner: string): string;
}

function inlineOf(tokens: Token[] | undefined, fallback: string, t: MarkdownTarget): string {
  return tokens ? renderInline(tokens, t) : t.escape(fallback);
}

export function renderInline(tokens: Token[], t: MarkdownTarget): string {
  let out = '';
  for (const token of tokens) {
    switch (token.type) {
      case 'strong':
        out += t.strong(inlineOf(token.tokens, token.text as string, t));
        break;
      case 'em':
        out += t.em(inlineOf(token.tokens, token.text as string, t));
        break;
      case 'del':
        out += t.del(inlineOf(token.tokens, token.text as string, t));
        break;
      case 'codespan':
        out += t.codespan(token.text as string);
        break;
      case 'link': {
        const link = token as Tokens.Link;
        out += safeHref(link.href)
          ? t.link(link.href, inlineOf(link.tokens, link.text, t))
          : t.escape(link.raw);
        break;
      }
      case 'image': {
        const image = token as Tokens.Image;
        out += safeHref(image.href) ? t.link(image.href, t.escape(image.text || image.href)) : '';
        break;
      }
      case 'br':
        out += '\n';
        break;
      case 'text':
        out += inlineOf(token.tokens, token.text as string, t);
        break;
      case 'escape':
        out += t.escape(token.text as string);
        break;
      default:
        // html and anything marked adds later: shown as typed, never interpreted.
        out += t.escape(token.raw);
    }
  }
  return out;
}

/** Only web and mail links: `javascript:` or `tg://` from a model's answer is shown as text. */
function safeHref(href: string): boolean {
  return /^(https?:\/\/|mailto:)/i.test(href);
}

function renderList(list: Tokens.List, t: MarkdownTarget, depth: number): string {
  const indent = '  '.repeat(depth);
  const start = typeof list.start === 'number' ? list.start : 1;
  return list.items
    .map((item, i) => {
      const bullet = list.ordered ? `${start + i}. ` : '• ';
      const check = item.task ? (item.checked ? '☑ ' : '☐ ') : '';
      const parts = item.tokens
        .filter((tok) => tok.type !== 'checkbox')
        .map((tok) =>
          tok.type === 'list'
            ? `\n${renderList(tok as Tokens.List, t, depth + 1)}`
            : renderBlock(tok, t, depth + 1).replace(/\n+$/, ''),
        );
      return `${indent}${bullet}${check}${parts.join('').replace(/^\s+/, '')}`;
    })
    .join('\n');
}

function renderBlock(token: Token, t: MarkdownTarget, depth: number): string {
  switch (token.type) {
    case 'space':
    case 'def':
      return '';
    case 'paragraph':
    case 'text':
      return inlineOf(token.tokens, token.text as string, t);
    case 'heading':
      return t.heading(inlineOf(token.tokens, token.text as string, t));
    case 'code': {
      const code = token as Tokens.Code;
      return t.code(code.text, (code.lang ?? '').split(/\s/)[0] ?? '');
    }
    case 'blockquote':
      return t.blockquote(renderBlocks((token as Tokens.Blockquote).tokens, t, depth).trimEnd());
    case 'list':
      return renderList(token as Tokens.List, t, depth);
    case 'hr':
      return '———';
    default:
      // tables and raw html: verbatim, escaped (no channel here draws a table).
      return t.escape(token.raw.replace(/\n+$/, ''));
  }
}

export function renderBlocks(tokens: Token[], t: MarkdownTarget, depth = 0): string {
  let out = '';
  for (const token of tokens) out += renderBlock(token, t, depth) + trailingNewlines(token);
  return out;
}

/** Markdown → a channel's markup; the result has no trailing newlines. */
export function renderMarkdown(markdown: string, t: MarkdownTarget): string {
  return renderBlocks(lexMarkdown(markdown), t).replace(/\n+$/, '');
}
