import { readdirSync, readFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { defineConfig, type DefaultTheme } from 'vitepress';

// The guides in reading order, grouped. A docs/*.md page not listed here still appears:
// it lands in "More guides" (titled by its first heading), so a new guide needs no edit
// here to be published — add it to a group below to place it.
const GROUPS: { text: string; pages: string[] }[] = [
  { text: 'Start', pages: ['getting-started', 'workflows'] },
  {
    text: 'Channels',
    pages: ['webhooks', 'conversations', 'chat', 'telegram', 'slack', 'agent', 'schedules'],
  },
  { text: 'Operating', pages: ['operating', 'dashboard', 'scaling', 'cli', 'api'] },
  { text: 'Reference', pages: ['guarantees', 'reference/configuration'] },
  { text: 'Project', pages: ['contributing', 'decisions', 'performance'] },
];

const docsDir = join(import.meta.dirname, '..');

function titleOf(page: string): string {
  const text = readFileSync(join(docsDir, `${page}.md`), 'utf8');
  return /^# (.+)$/m.exec(text)?.[1]?.replace(/`/g, '') ?? page;
}

function pagesIn(dir: string, prefix = ''): string[] {
  return readdirSync(join(docsDir, dir), { withFileTypes: true })
    .filter((e) => e.isFile() && e.name.endsWith('.md') && e.name !== 'index.md')
    .map((e) => `${prefix}${basename(e.name, '.md')}`);
}

function sidebar(): DefaultTheme.SidebarItem[] {
  const present = new Set([...pagesIn('.'), ...pagesIn('reference', 'reference/')]);
  const item = (page: string) => ({ text: titleOf(page), link: `/${page}` });
  const listed = new Set(GROUPS.flatMap((g) => g.pages));
  const groups = GROUPS.map((g) => ({
    text: g.text,
    items: g.pages.filter((p) => present.has(p)).map(item),
  }));
  const more = [...present].filter((p) => !listed.has(p)).sort();
  if (more.length) groups.push({ text: 'More guides', items: more.map(item) });
  return groups.filter((g) => g.items.length > 0);
}

export default defineConfig({
  title: 'workgate',
  description: 'A multi-channel agent gateway with one durable work ledger',
  cleanUrls: true,
  // Dead links fail the build (VitePress's default); anchors are checked after the build
  // by scripts/docs-check-anchors.mjs.
  ignoreDeadLinks: false,
  themeConfig: {
    sidebar: sidebar(),
    outline: 'deep',
    search: { provider: 'local' },
  },
});
