import fs from 'node:fs';
import path from 'node:path';
import { ROOT } from '../helpers/paths';

/**
 * The import picture of src/ read as ARCHITECTURE.md's stack: top to bottom, a unit imports units
 * on its own level or below; the two features on one level (admin, privacy) never import each
 * other; and no import cycle runs between top-level folders or files (inside the kit included).
 */
const LEVELS: string[][] = [
  ['main.ts', 'emit-schema.ts', 'migrate-cli.ts', 'backup-cli.ts', 'rotate-keys-cli.ts'],
  ['server.ts', 'schema.ts', 'jobs.ts'],
  ['services.ts', 'entities.ts'],
  ['admin', 'privacy'],
  ['chat'],
  ['auth'],
  ['audit'],
  ['graphql', 'http', 'db', 'crypto', 'pubsub', 'logging', 'observability', 'redis.ts', 'dev-secret.ts', 'bounded-cache.ts'],
  ['config.ts', 'config'],
];
/** Features that share a level and so may not import each other (what they share moves down). */
const APART = ['admin', 'privacy'];
const SRC = path.join(ROOT, 'src');

/** The top-level folder or file of src/ a path belongs to. */
function unitOf(file: string): string {
  const first = path.relative(SRC, file).split(path.sep)[0];
  return first.endsWith('.ts') || fs.existsSync(path.join(SRC, first)) ? first : `${first}.ts`;
}

function levelOf(unit: string): number {
  const level = LEVELS.findIndex((units) => units.includes(unit));
  if (level < 0) throw new Error(`src/${unit} is on no level of the layer picture: add it to LEVELS and ARCHITECTURE.md`);
  return level;
}

function sourceFiles(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) return entry.name === 'migrations' ? [] : sourceFiles(full);
    return entry.name.endsWith('.ts') ? [full] : [];
  });
}

/** Every relative import (static, type-only, re-export, dynamic, module augmentation) between two units of src/. */
function crossUnitImports(): { from: string; to: string; file: string; spec: string }[] {
  const pattern = /(?:\bfrom\s+|\bimport\s*\(\s*|\bimport\s+|\bdeclare\s+module\s+)'(\.{1,2}\/[^']+)'/g;
  return sourceFiles(SRC).flatMap((file) => {
    const text = fs.readFileSync(file, 'utf8');
    return [...text.matchAll(pattern)]
      .map((m) => ({ file: path.relative(ROOT, file), spec: m[1], from: unitOf(file), to: unitOf(path.resolve(path.dirname(file), m[1])) }))
      .filter((i) => i.from !== i.to && !i.to.startsWith('..'));
  });
}

/** Import edges in one of the strongly connected components of more than one unit. */
function cycles(edges: Map<string, Set<string>>): string[][] {
  const reach = (start: string): Set<string> => {
    const seen = new Set<string>();
    const todo = [start];
    while (todo.length) for (const next of edges.get(todo.pop()!) ?? []) if (!seen.has(next) && (seen.add(next), true)) todo.push(next);
    return seen;
  };
  const found = new Map<string, string[]>();
  for (const unit of edges.keys()) {
    const cycle = [...reach(unit)].filter((other) => reach(other).has(unit)).sort();
    if (cycle.length > 1) found.set(cycle.join(','), cycle);
  }
  return [...found.values()];
}

describe('the import picture of src/ is the ARCHITECTURE.md stack', () => {
  const imports = crossUnitImports();

  it('reads imports at all', () => {
    expect(imports.length).toBeGreaterThan(50);
  });

  it('has no import running up a level or sideways between features', () => {
    const wrong = imports
      .filter((i) => {
        const from = levelOf(i.from);
        const to = levelOf(i.to);
        return to < from || (APART.includes(i.from) && APART.includes(i.to));
      })
      .map((i) => `${i.file} imports ${i.spec} (${i.from} -> ${i.to})`);
    expect(wrong).toEqual([]);
  });

  it('has no cycle between top-level folders', () => {
    const edges = new Map<string, Set<string>>();
    for (const i of imports) edges.set(i.from, (edges.get(i.from) ?? new Set()).add(i.to));
    expect(cycles(edges)).toEqual([]);
  });
});
