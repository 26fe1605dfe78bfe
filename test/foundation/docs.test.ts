import fs from 'node:fs';
import path from 'node:path';
import { ROOT } from '../helpers/paths';

/** The configuration module: src/config.ts and every file under src/config/ (the only place process.env is read). */
function configFiles(): string[] {
  const dir = path.join(ROOT, 'src', 'config');
  const nested = fs.readdirSync(dir, { recursive: true, encoding: 'utf8' }).filter((f) => f.endsWith('.ts'));
  return [path.join(ROOT, 'src', 'config.ts'), ...nested.map((f) => path.join(dir, f))];
}

/** Every variable the configuration module reads, found in its source: through a typed reader, `env.X`, or `env: 'X'`. */
function configVariables(): string[] {
  const names = new Set<string>();
  for (const file of configFiles()) {
    const src = fs.readFileSync(file, 'utf8');
    for (const m of src.matchAll(/\.(?:str|untrimmed|int|num|bool|list|oneOf|duration|bytes|rate|url|origins|dateTime)(?:<[^>]+>)?\(\s*'([A-Z][A-Z0-9_]+)'/g))
      names.add(m[1]);
    for (const m of src.matchAll(/\benv\.([A-Z][A-Z0-9_]+)/g)) names.add(m[1]);
    for (const m of src.matchAll(/\benv: '([A-Z][A-Z0-9_]+)'/g)) names.add(m[1]);
  }
  return [...names].sort();
}

describe('README', () => {
  const readme = fs.readFileSync(path.join(ROOT, 'README.md'), 'utf8');

  it('documents every environment variable the code reads, in its configuration table', () => {
    const vars = configVariables();
    expect(vars.length).toBeGreaterThan(20);
    const undocumented = vars.filter((v) => !readme.includes(`| \`${v}\` |`));
    expect(undocumented).toEqual([]);
  });

  it('gives the two set-up commands', () => {
    expect(readme).toContain('npm ci && npm start');
    expect(readme).toContain('npm test');
  });
});

describe('process.env', () => {
  it('is read nowhere but the configuration module (src/config.ts and src/config/)', () => {
    const allowed = new Set(configFiles());
    const offenders: string[] = [];
    const walk = (dir: string) => {
      for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
        const p = path.join(dir, entry.name);
        if (entry.isDirectory()) walk(p);
        else if (p.endsWith('.ts') && !allowed.has(p) && fs.readFileSync(p, 'utf8').includes('process.env')) offenders.push(path.relative(ROOT, p));
      }
    };
    walk(path.join(ROOT, 'src'));
    expect(offenders).toEqual([]);
  });
});
