import fs from 'node:fs';
import path from 'node:path';
import { ROOT } from '../helpers/paths';

/** Every variable config.ts reads, found in its source (the only place process.env is read). */
function configVariables(): string[] {
  const src = fs.readFileSync(path.join(ROOT, 'src', 'config.ts'), 'utf8');
  const names = new Set<string>();
  for (const m of src.matchAll(/r\.(?:str|int|num|bool|list|oneOf|duration|bytes)(?:<[^>]+>)?\('([A-Z][A-Z0-9_]+)'/g)) names.add(m[1]);
  for (const m of src.matchAll(/\benv\.([A-Z][A-Z0-9_]+)/g)) names.add(m[1]);
  for (const m of src.matchAll(/\benv: '([A-Z][A-Z0-9_]+)'/g)) names.add(m[1]);
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
  it('is read nowhere but src/config.ts', () => {
    const offenders: string[] = [];
    const walk = (dir: string) => {
      for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
        const p = path.join(dir, entry.name);
        if (entry.isDirectory()) walk(p);
        else if (p.endsWith('.ts') && !p.endsWith(path.join('src', 'config.ts')) && fs.readFileSync(p, 'utf8').includes('process.env')) offenders.push(path.relative(ROOT, p));
      }
    };
    walk(path.join(ROOT, 'src'));
    expect(offenders).toEqual([]);
  });
});
