import { execFile, spawn } from 'node:child_process';
import net from 'node:net';
import path from 'node:path';
import { registerUser } from '../helpers/auth';
import { ROOT } from '../helpers/paths';
import { useTestServer } from '../helpers/server';

const EXAMPLE = path.join(ROOT, 'examples', 'stream-reply.js');

/**
 * A TCP proxy in front of the server, as a flaky network or a load balancer restart would be:
 * `drop()` cuts every connection through it at once (new ones are let through again).
 */
async function startProxy(target: URL): Promise<{ url: string; drop(): number; close(): Promise<void> }> {
  const open = new Set<net.Socket>();
  const server = net.createServer((client) => {
    const upstream = net.connect(Number(target.port), target.hostname);
    for (const s of [client, upstream]) {
      open.add(s);
      s.on('close', () => open.delete(s));
      s.on('error', () => undefined); // the other side of a dropped connection
    }
    client.pipe(upstream).pipe(client);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    drop() {
      const n = open.size;
      for (const s of open) s.destroy();
      return n;
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of open) s.destroy();
        server.close(() => resolve());
      }),
  };
}

describe('the README integrator example (examples/stream-reply.js)', () => {
  const t = useTestServer({ env: { ECHO_TOKEN_DELAY_MS: '5' } });

  it('streams a reply to stdout', async () => {
    const u = await registerUser(t.graphqlUrl);
    const out = await new Promise<string>((resolve, reject) =>
      execFile(
        process.execPath,
        [EXAMPLE, 'from a node script'],
        { env: { PATH: process.env.PATH, PARLEY_URL: t.url, PARLEY_TOKEN: u.accessToken } },
        (err, stdout, stderr) => (err ? reject(new Error(stderr || err.message)) : resolve(stdout)),
      ),
    );
    expect(out).toBe('Echo: from a node script\n[COMPLETE]\n');
  });
});

describe('the example across a dropped socket', () => {
  // Slow enough that the drop below lands mid-reply: 40 words, 60 ms apart.
  const t = useTestServer({ env: { ECHO_TOKEN_DELAY_MS: '60' } });

  it('prints the full reply exactly once after graphql-ws reconnects and resubscribes', async () => {
    const u = await registerUser(t.graphqlUrl);
    const proxy = await startProxy(new URL(t.url));
    const words = Array.from({ length: 40 }, (_, i) => `word${i}`).join(' ');
    try {
      const child = spawn(process.execPath, [EXAMPLE, words], { env: { PATH: process.env.PATH, PARLEY_URL: proxy.url, PARLEY_TOKEN: u.accessToken } });
      let out = '';
      let err = '';
      let dropped = 0;
      child.stderr.on('data', (d: Buffer) => (err += d.toString()));
      child.stdout.on('data', (d: Buffer) => {
        out += d.toString();
        // Once the first words are on stdout, the socket under the example goes away.
        if (!dropped && out.length > 'Echo: word0 '.length) dropped = proxy.drop();
      });
      const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
      expect({ code, err }).toEqual({ code: 0, err: '' });
      expect(dropped).toBeGreaterThan(0);
      expect(out.startsWith('Echo: word0 ')).toBe(true);
      expect(out).toBe(`Echo: ${words}\n[COMPLETE]\n`);
      // The text came over two subscriptions: the server saw the example subscribe again after the drop.
      const subscribes = t.logs.lines.filter((l) => l.message === 'ws subscribe' && l.userId === u.userId);
      expect(subscribes.length).toBeGreaterThanOrEqual(2);
    } finally {
      await proxy.close();
    }
  }, 30_000);
});
