#!/usr/bin/env node
// `npm run web`: build the reference client (web/) into web/dist and serve it from the dev server
// at http://localhost:PORT/. Installs the client's dependencies only when they are missing or
// older than its lock file; reuses a Parley server already running on PORT (it looks for the
// build on every request, so the new build shows at once), otherwise starts one as `npm start` does.
// Plain Node, no dependency.
const { spawn, spawnSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const ROOT = path.resolve(__dirname, '..');
const WEB = path.join(ROOT, 'web');
const PORT = process.env.PORT || '4000';
const URL_OPEN = `http://localhost:${PORT}/`;
const NPM = process.platform === 'win32' ? 'npm.cmd' : 'npm';

/** Runs npm with `args` in the repository, output shown; stops here with its exit status if it fails. */
function npm(args) {
  const r = spawnSync(NPM, args, { cwd: ROOT, stdio: 'inherit' });
  if (r.status !== 0) {
    console.error(`npm ${args.join(' ')} failed`);
    process.exit(r.status || 1);
  }
}

/** True when web/node_modules is missing or older than web/package-lock.json (npm ci recreates the folder). */
function needsInstall() {
  const modules = path.join(WEB, 'node_modules');
  const lock = path.join(WEB, 'package-lock.json');
  if (!fs.existsSync(modules)) return true;
  return fs.existsSync(lock) && fs.statSync(modules).mtimeMs < fs.statSync(lock).mtimeMs;
}

/** True when a Parley server answers /healthz on PORT. */
async function serverRunning() {
  try {
    const res = await fetch(`http://localhost:${PORT}/healthz`, { signal: globalThis.AbortSignal.timeout(2000) });
    const body = await res.json();
    return res.ok && body.status === 'ok';
  } catch {
    return false;
  }
}

/** Starts the server like `npm start`, in the foreground; this process ends when it does. */
function startServer() {
  npm(['run', 'build']);
  console.log(`web client built; starting the server: open ${URL_OPEN} (Ctrl-C stops it)`);
  const child = spawn(process.execPath, [path.join('dist', 'src', 'main.js')], { cwd: ROOT, stdio: 'inherit' });
  // Ctrl-C reaches the whole foreground group, the server included: forwarding SIGINT would
  // deliver it twice (and a second one stops the server without its graceful shutdown).
  process.on('SIGINT', () => {});
  for (const signal of ['SIGTERM', 'SIGHUP']) process.on(signal, () => child.kill(signal));
  child.on('exit', (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
}

async function main() {
  if (!fs.existsSync(path.join(WEB, 'package.json'))) {
    console.error('web/package.json not found: the reference client is not in this checkout');
    process.exit(1);
  }
  if (needsInstall()) npm(['ci', '--prefix', 'web', '--no-audit', '--no-fund']);
  npm(['run', 'build', '--prefix', 'web']);
  if (process.env.APP_ENV === 'prod') console.warn('APP_ENV=prod: the server serves no pages; host web/dist elsewhere (README, "Web client")');
  if (await serverRunning()) {
    console.log(`web client built; open ${URL_OPEN}`);
    return;
  }
  startServer();
}

void main();
