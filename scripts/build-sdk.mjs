// Builds the @workgate/sdk package into libs/sdk/build (then `npm pack` there):
// JavaScript by swc, whose .swcrc `paths` already turn `@app/*` into relative requires;
// declarations by tsc, whose output keeps the aliases, rewritten here to relative paths.
// Fails if any `@app/` specifier is left, or a dependency the code requires is not
// declared in libs/sdk/package.json.
import { execFileSync } from 'node:child_process';
import {
  cpSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';

const root = resolve(import.meta.dirname, '..');
const pkgDir = join(root, 'libs', 'sdk');
const out = join(pkgDir, 'build');
const dist = join(out, 'dist');
const bin = (name) => join(root, 'node_modules', '.bin', name);

rmSync(out, { recursive: true, force: true });
mkdirSync(dist, { recursive: true });
execFileSync(
  bin('swc'),
  [
    'libs',
    '-d',
    dist,
    '--extensions',
    '.ts',
    '--copy-files',
    '--quiet',
    '--ignore',
    'libs/sdk/build/**',
  ],
  { cwd: root, stdio: 'inherit' },
);
execFileSync(bin('tsc'), ['-p', join(pkgDir, 'tsconfig.build.json')], {
  cwd: root,
  stdio: 'inherit',
});

const aliases = JSON.parse(readFileSync(join(root, '.swcrc'), 'utf8')).jsc.paths;
/** `@app/sdk/worker` → the folder it names, inside dist. */
function target(specifier) {
  if (Object.hasOwn(aliases, specifier)) return join(dist, aliases[specifier][0]);
  const wildcard = Object.keys(aliases).find(
    (a) => a.endsWith('/*') && specifier.startsWith(a.slice(0, -1)),
  );
  if (!wildcard) return null;
  return join(dist, aliases[wildcard][0].replace('*', specifier.slice(wildcard.length - 1)));
}

function* files(dir) {
  for (const name of readdirSync(dir)) {
    const full = join(dir, name);
    if (statSync(full).isDirectory()) yield* files(full);
    else yield full;
  }
}

const required = new Set();
const leftovers = [];
for (const file of files(dist)) {
  if (file.endsWith('.d.ts')) {
    const text = readFileSync(file, 'utf8').replace(
      /(from\s+|import\()(['"])(@app\/[^'"]+)\2/g,
      (match, lead, quote, specifier) => {
        const to = target(specifier);
        if (!to) return match;
        let rel = relative(dirname(file), to);
        if (!rel.startsWith('.')) rel = `./${rel}`;
        return `${lead}${quote}${rel}${quote}`;
      },
    );
    writeFileSync(file, text);
  }
  if (!/\.(js|d\.ts)$/.test(file)) continue;
  const text = readFileSync(file, 'utf8');
  if (/['"]@app\//.test(text)) leftovers.push(relative(out, file));
  if (file.endsWith('.js'))
    for (const [, name] of text.matchAll(/require\("([^."][^"]*)"\)/g)) {
      if (name.startsWith('node:')) continue;
      required.add(
        name.startsWith('@') ? name.split('/').slice(0, 2).join('/') : name.split('/')[0],
      );
    }
}
if (leftovers.length) throw new Error(`@app/ specifiers left in: ${leftovers.join(', ')}`);

const manifest = JSON.parse(readFileSync(join(pkgDir, 'package.json'), 'utf8'));
const builtins = new Set((await import('node:module')).builtinModules);
const undeclared = [...required].filter(
  (name) => !builtins.has(name) && !Object.hasOwn(manifest.dependencies, name),
);
if (undeclared.length)
  throw new Error(`libs/sdk/package.json does not declare: ${undeclared.sort().join(', ')}`);

writeFileSync(join(out, 'package.json'), `${JSON.stringify(manifest, null, 2)}\n`);
cpSync(join(pkgDir, 'README.md'), join(out, 'README.md'));
cpSync(join(root, 'prisma', 'migrations'), join(out, 'prisma', 'migrations'), { recursive: true });
console.log(`@workgate/sdk built in ${relative(root, out)} (npm pack there)`);
