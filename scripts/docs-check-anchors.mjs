// VitePress fails the build on links to missing pages but does not check #anchors.
// This walks the built site and fails when a link's #fragment names no id on its target
// page. Written here because the link checkers on npm crawl over HTTP (a server for the
// site) where a scan of the files is enough and takes a fraction of a second.
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative, resolve, dirname } from 'node:path';

const root = resolve(process.argv[2] ?? 'docs/.vitepress/dist');
const pages = new Map();
for (const entry of readdirSync(root, { recursive: true, withFileTypes: true })) {
  if (!entry.isFile() || !entry.name.endsWith('.html')) continue;
  const file = join(entry.parentPath, entry.name);
  pages.set(file, readFileSync(file, 'utf8'));
}
const ids = (html) => new Set([...html.matchAll(/\sid="([^"]+)"/g)].map((m) => m[1]));
const idCache = new Map();
const problems = [];
for (const [file, html] of pages) {
  // Only the page's own content: the theme's navigation links carry no fragments.
  for (const [, href] of html.matchAll(/<a [^>]*href="([^"]*#[^"]+)"/g)) {
    if (/^[a-z]+:/i.test(href)) continue;
    const [path, fragment] = href.split('#');
    let target = file;
    if (path) {
      const base = path.startsWith('/') ? join(root, path) : resolve(dirname(file), path);
      target = [base, `${base}.html`, join(base, 'index.html')].find((t) => pages.has(t));
      if (!target) continue; // a missing page is VitePress's own dead-link check
    }
    if (!idCache.has(target)) idCache.set(target, ids(pages.get(target)));
    if (!idCache.get(target).has(decodeURIComponent(fragment)))
      problems.push(`${relative(root, file)}: ${href} (no such anchor)`);
  }
}
if (problems.length) {
  console.error(`dead anchors:\n  ${[...new Set(problems)].join('\n  ')}`);
  process.exit(1);
}
console.log(`anchors checked: ${pages.size} pages`);
