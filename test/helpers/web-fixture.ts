import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

/** A throwaway `WEB_DIR` standing in for the built client (`web/dist`), inside a temp folder of its own. */
export interface WebFixture {
  /** The folder to pass as WEB_DIR (`<root>/dist`). */
  dir: string;
  /** Its parent, for files a test places outside WEB_DIR. */
  root: string;
  /** Writes (or overwrites) `relative` under `dir`, creating folders. */
  write(relative: string, content: string): void;
  remove(): void;
}

/** Creates a fixture holding `files` (paths relative to WEB_DIR, e.g. `assets/app-abc123.js`). */
export function webFixture(files: Record<string, string> = {}): WebFixture {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'parley-web-'));
  const dir = path.join(root, 'dist');
  fs.mkdirSync(dir);
  const write = (relative: string, content: string) => {
    const file = path.join(dir, relative);
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, content);
  };
  for (const [relative, content] of Object.entries(files)) write(relative, content);
  return { dir, root, write, remove: () => fs.rmSync(root, { recursive: true, force: true }) };
}
