import { type MarkdownTarget, renderMarkdown } from './markdown-tokens.util';

/** Bot API "HTML style": only `&lt;`, `&gt;`, `&amp;` and `&quot;` are recognised. */
export function escapeTelegramHtml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

const TELEGRAM: MarkdownTarget = {
  escape: escapeTelegramHtml,
  strong: (inner) => `<b>${inner}</b>`,
  em: (inner) => `<i>${inner}</i>`,
  del: (inner) => `<s>${inner}</s>`,
  codespan: (code) => `<code>${escapeTelegramHtml(code)}</code>`,
  link: (href, inner) =>
    `<a href="${escapeTelegramHtml(href).replace(/"/g, '&quot;')}">${inner}</a>`,
  code: (code, lang) =>
    /^[\w+#.-]+$/.test(lang)
      ? `<pre><code class="language-${lang}">${escapeTelegramHtml(code)}</code></pre>`
      : `<pre>${escapeTelegramHtml(code)}</pre>`,
  heading: (inner) => `<b>${inner}</b>`,
  blockquote: (inner) => `<blockquote>${inner}</blockquote>`,
};

/**
 * The model's Markdown as Telegram `parse_mode: 'HTML'` text
 * (core.telegram.org/bots/api#html-style): b, i, s, code, pre, a, blockquote only.
 * Headings become bold lines and list items "• " lines: Telegram has neither.
 */
export function markdownToTelegramHtml(markdown: string): string {
  return renderMarkdown(markdown, TELEGRAM);
}

/** What Telegram counts against its 4096 limit: the text after entities are parsed. */
export function telegramVisibleLength(html: string): number {
  return html.replace(/<[^>]*>/g, '').replace(/&(lt|gt|amp|quot);/g, '_').length;
}
