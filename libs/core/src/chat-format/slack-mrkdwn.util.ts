import { type MarkdownTarget, renderMarkdown } from './markdown-tokens.util';

/** Slack's three control characters (docs.slack.dev, "Escaping text"). */
export function escapeSlackMrkdwn(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

const SLACK: MarkdownTarget = {
  escape: escapeSlackMrkdwn,
  strong: (inner) => `*${inner}*`,
  em: (inner) => `_${inner}_`,
  del: (inner) => `~${inner}~`,
  // mrkdwn has no escape for a backtick inside code: a code span that holds one stays plain.
  codespan: (code) =>
    code.includes('`') ? escapeSlackMrkdwn(code) : `\`${escapeSlackMrkdwn(code)}\``,
  // `|` and `>` end the link's parts; the URL keeps its own characters, escaped.
  link: (href, inner) =>
    `<${escapeSlackMrkdwn(href).replace(/\|/g, '%7C')}|${inner.replace(/\|/g, '¦')}>`,
  code: (code) => `\`\`\`\n${escapeSlackMrkdwn(code)}\n\`\`\``,
  heading: (inner) => `*${inner}*`,
  blockquote: (inner) =>
    inner
      .split('\n')
      .map((line) => `> ${line}`)
      .join('\n'),
};

/**
 * The model's Markdown as Slack mrkdwn (docs.slack.dev, "Formatting text for app
 * surfaces"): *bold*, _italic_, ~strike~, `code`, ``` blocks, <url|text> links.
 */
export function markdownToSlackMrkdwn(markdown: string): string {
  return renderMarkdown(markdown, SLACK);
}
