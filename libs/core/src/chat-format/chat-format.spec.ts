import fc from 'fast-check';
import { chatParts } from './chat-parts.util';
import { markdownToSlackMrkdwn } from './slack-mrkdwn.util';
import { splitMarkdown } from './split-markdown.util';
import { markdownToTelegramHtml, telegramVisibleLength } from './telegram-html.util';

function fencesBalanced(text: string): boolean {
  let open: string | null = null;
  for (const line of text.split('\n')) {
    const m = /^ {0,3}(`{3,}|~{3,})(.*)$/.exec(line);
    if (!m) continue;
    if (!open) open = m[1]!;
    else if (m[1]![0] === open[0] && m[1]!.length >= open.length && !m[2]!.trim()) open = null;
  }
  return open === null;
}

describe(markdownToTelegramHtml.name, () => {
  it.each([
    ['plain text', 'Hello there', 'Hello there'],
    ['escapes <, > and &', 'a < b && c > d', 'a &lt; b &amp;&amp; c &gt; d'],
    ['keeps single line breaks', 'one\ntwo', 'one\ntwo'],
    ['bold', 'a **b** c', 'a <b>b</b> c'],
    ['italic and strike', '_i_ ~~s~~', '<i>i</i> <s>s</s>'],
    ['inline code is escaped', 'run `a<b>&`', 'run <code>a&lt;b&gt;&amp;</code>'],
    ['link', '[docs](https://x.y/?a=1&b=2)', '<a href="https://x.y/?a=1&amp;b=2">docs</a>'],
    ['unsafe link stays text', '[x](javascript:alert(1))', '[x](javascript:alert(1))'],
    ['heading → bold', '# Title\n\ntext', '<b>Title</b>\n\ntext'],
    ['list → bullets', '- one\n- two', '• one\n• two'],
    ['ordered list', '1. a\n2. b', '1. a\n2. b'],
    ['nested list', '- a\n  - b', '• a\n  • b'],
    ['quote', '> said', '<blockquote>said</blockquote>'],
    [
      'code block with language, verbatim',
      '```ts\nif (a < b && **c**) {}\n```',
      '<pre><code class="language-ts">if (a &lt; b &amp;&amp; **c**) {}</code></pre>',
    ],
    ['code block without language', '```\nx\n```', '<pre>x</pre>'],
    ['raw html is shown, not obeyed', 'a <b>b</b>', 'a &lt;b&gt;b&lt;/b&gt;'],
    ['blank lines kept', 'a\n\n\nb', 'a\n\n\nb'],
  ])('%s', (_name, input, expected) => {
    expect(markdownToTelegramHtml(input)).toBe(expected);
  });
});

describe(markdownToSlackMrkdwn.name, () => {
  it.each([
    ['plain text', 'Hello there', 'Hello there'],
    ['escapes control characters', 'a < b & <!channel>', 'a &lt; b &amp; &lt;!channel&gt;'],
    ['bold', 'a **b** c', 'a *b* c'],
    ['italic and strike', '*i* ~~s~~', '_i_ ~s~'],
    ['inline code', 'run `x<y`', 'run `x&lt;y`'],
    ['link', '[docs](https://x.y/a)', '<https://x.y/a|docs>'],
    ['heading → bold', '## Title', '*Title*'],
    ['list', '- one\n- two', '• one\n• two'],
    ['quote', '> said', '> said'],
    ['code block verbatim', '```py\nx = **1** < 2\n```', '```\nx = **1** &lt; 2\n```'],
  ])('%s', (_name, input, expected) => {
    expect(markdownToSlackMrkdwn(input)).toBe(expected);
  });
});

describe(splitMarkdown.name, () => {
  it('keeps a text that fits in one part', () => {
    expect(splitMarkdown('short', 10)).toEqual([{ source: 'short', text: 'short' }]);
  });

  it('cuts at a blank line before a line end, and at a line end before a space', () => {
    const parts = splitMarkdown('aaaa bbbb\ncccc\n\ndddd', 16);
    expect(parts.map((p) => p.source)).toEqual(['aaaa bbbb\ncccc\n\n', 'dddd']);
    expect(splitMarkdown('aaaa bbbb\ncccc dddd', 12).map((p) => p.source)).toEqual([
      'aaaa bbbb\n',
      'cccc dddd',
    ]);
  });

  it('closes a fence it cuts through and reopens it with its language', () => {
    const code = Array.from({ length: 10 }, (_, i) => `line ${i}`).join('\n');
    const parts = splitMarkdown(`intro\n\n\`\`\`ts\n${code}\n\`\`\`\n`, 40);
    expect(parts.length).toBeGreaterThan(2);
    for (const p of parts) expect(fencesBalanced(p.text)).toBe(true);
    expect(parts[2]!.text.startsWith('```ts\n')).toBe(true);
  });

  const chunk = fc.oneof(
    fc.string({ maxLength: 40 }),
    fc.constantFrom('\n', '\n\n', ' ', '**b**', '`c`', '```ts\n', '```\n', '~~~\n', '😀', '<&>'),
  );
  const markdown = fc.array(chunk, { maxLength: 80 }).map((xs) => xs.join(''));

  it('loses nothing, keeps every part within the limit, and balances fences (property)', () => {
    fc.assert(
      fc.property(markdown, fc.integer({ min: 40, max: 300 }), (text, limit) => {
        const parts = splitMarkdown(text, limit);
        expect(parts.map((p) => p.source).join('')).toBe(text);
        for (const p of parts) {
          expect(p.text.length).toBeLessThanOrEqual(limit);
          if (parts.length > 1) expect(fencesBalanced(p.text)).toBe(true);
        }
      }),
      { numRuns: 300 },
    );
  });
});

describe(chatParts.name, () => {
  it('splits a 9,000-character Telegram answer into parts that fit once rendered', () => {
    const para = `${'word '.repeat(150)}**bold** & <tag>\n\n`;
    const text = `${para.repeat(8)}\`\`\`js\n${'const x = 1 < 2;\n'.repeat(200)}\`\`\`\n\n${para.repeat(2)}`;
    expect(text.length).toBeGreaterThan(9000);
    const parts = chatParts('telegram', text);
    expect(parts.length).toBeGreaterThanOrEqual(3);
    expect(parts.map((p) => p.source).join('')).toBe(text);
    for (const p of parts) {
      expect(telegramVisibleLength(markdownToTelegramHtml(p.text))).toBeLessThanOrEqual(4096);
      expect(fencesBalanced(p.text)).toBe(true);
    }
    const slack = chatParts('slack', text);
    for (const p of slack) expect(markdownToSlackMrkdwn(p.text).length).toBeLessThanOrEqual(3500);
  });

  it('splits text that escaping makes longer into few parts, each within the limit', () => {
    const text = '&'.repeat(10_000);
    const parts = chatParts('slack', text);
    expect(parts.map((p) => p.source).join('')).toBe(text);
    // 50,000 characters once escaped: about 15 messages of 3,500, not one per character.
    expect(parts.length).toBeLessThanOrEqual(20);
    for (const p of parts) expect(markdownToSlackMrkdwn(p.text).length).toBeLessThanOrEqual(3500);
  });

  it('leaves channels without a limit whole', () => {
    expect(chatParts('http', 'x'.repeat(10_000))).toHaveLength(1);
  });
});
