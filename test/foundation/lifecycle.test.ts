import fs from 'node:fs';
import path from 'node:path';
import pg from 'pg';
import WebSocket from 'ws';
import { DEV_ENCRYPTION_KEY_FILE, DEV_SECRET_FILE } from '../../src/dev-secret';
import { createConversation } from '../helpers/chat';
import { gql } from '../helpers/server';
import { bearer, me, registerUser } from '../helpers/auth';
import { TEST_DATA } from '../helpers/paths';
import { useServerProcesses, type ServerProcess } from '../helpers/process';

// Whole server processes (and their embedded PostgreSQL) per case: slow on a loaded 2-core machine.
jest.setTimeout(180_000);

async function readyz(url: string): Promise<number> {
  return (await fetch(`${url}/readyz`)).status;
}

/** Connects to the embedded cluster of a running child, with the credentials it keeps in DATA_DIR. */
async function embeddedClient(dataDir: string, proc: ServerProcess): Promise<pg.Client> {
  const started = await proc.waitFor((l) => l.message === 'embedded PostgreSQL started');
  const creds = JSON.parse(fs.readFileSync(path.join(dataDir, 'embedded-pg.json'), 'utf8'));
  const client = new pg.Client({ host: '127.0.0.1', port: started.port, user: creds.user, password: creds.password, database: 'parley' });
  await client.connect();
  return client;
}

describe('process lifecycle on the embedded PostgreSQL', () => {
  const { start, dirs } = useServerProcesses();

  it('boots from an empty DATA_DIR, and a restart on it keeps the data', async () => {
    const dataDir = path.join(TEST_DATA, 'lifecycle-boot');
    dirs.push(dataDir);
    expect(fs.existsSync(dataDir)).toBe(false);

    // No DATA_ENCRYPTION_KEYS either: the development key-encryption key is made once and kept in DATA_DIR.
    const first = start({ DATA_DIR: dataDir, DATA_ENCRYPTION_KEYS: '' });
    const ready = await first.waitFor((l) => l.message === 'ready');
    expect(ready.embeddedDatabase).toBe(true);
    expect(await readyz(ready.url)).toBe(200);
    expect(first.lines.some((l) => l.message === 'migrations applied')).toBe(true);
    const db = await embeddedClient(dataDir, first);
    await db.query(`insert into app_meta (key, value, created_at) values ('restart_probe', 'kept', now())`);
    await db.end();
    // No SECRET_KEY: the generated development key is kept in DATA_DIR, so sessions survive a restart.
    const user = await registerUser(`${ready.url}/graphql`);
    expect(fs.statSync(path.join(dataDir, DEV_SECRET_FILE)).mode & 0o777).toBe(0o600);
    expect(fs.statSync(path.join(dataDir, DEV_ENCRYPTION_KEY_FILE)).mode & 0o777).toBe(0o600);
    expect(first.lines.find((l) => String(l.message).startsWith('DATA_ENCRYPTION_KEYS is not set'))).toBeDefined();
    const conv = await createConversation(`${ready.url}/graphql`, user.accessToken, { title: 'sealed under the development key' });
    first.child.kill('SIGTERM');
    expect((await first.exited).code).toBe(0);

    const second = start({ DATA_DIR: dataDir, DATA_ENCRYPTION_KEYS: '' });
    const again = await second.waitFor((l) => l.message === 'ready');
    expect(again.installationId).toBe(ready.installationId);
    expect(second.lines.some((l) => l.message === 'migrations applied')).toBe(false);
    expect(second.lines.some((l) => l.message === 'embedded PostgreSQL initialised')).toBe(false);
    const db2 = await embeddedClient(dataDir, second);
    const { rows } = await db2.query(`select value from app_meta where key = 'restart_probe'`);
    await db2.end();
    expect(rows).toEqual([{ value: 'kept' }]);
    expect((await me(`${again.url}/graphql`, user.accessToken)).body.data?.me.id).toBe(user.userId);
    const title = await gql(`${again.url}/graphql`, 'query C($id: ID!) { conversation(id: $id) { title } }', { id: conv }, bearer(user.accessToken));
    expect(title.body.data.conversation.title).toBe('sealed under the development key');
    second.child.kill('SIGTERM');
    expect((await second.exited).code).toBe(0);
  });

  it('exits 0 within 10 s on SIGTERM with an open WebSocket, closing it with 1001', async () => {
    const dataDir = path.join(TEST_DATA, 'lifecycle-sigterm');
    dirs.push(dataDir);
    const proc = start({ DATA_DIR: dataDir });
    const ready = await proc.waitFor((l) => l.message === 'ready');
    const socket = new WebSocket(`${ready.url.replace('http', 'ws')}/graphql`, 'graphql-transport-ws');
    await new Promise<void>((resolve, reject) => {
      socket.once('open', () => socket.send(JSON.stringify({ type: 'connection_init' })));
      socket.once('message', (m) => (JSON.parse(String(m)).type === 'connection_ack' ? resolve() : reject(new Error(String(m)))));
      socket.once('error', reject);
    });
    const closed = new Promise<number>((resolve) => socket.once('close', (code) => resolve(code)));

    const sentAt = Date.now();
    proc.child.kill('SIGTERM');
    const { code } = await proc.exited;
    const tookMs = Date.now() - sentAt;
    expect(code).toBe(0);
    expect(tookMs).toBeLessThan(10_000);
    expect(await closed).toBe(1001);
    expect(proc.lines.some((l) => l.message === 'embedded PostgreSQL stopped')).toBe(true);
  });
});
