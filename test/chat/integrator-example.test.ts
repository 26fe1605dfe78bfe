import { execFile } from 'node:child_process';
import path from 'node:path';
import { registerUser } from '../helpers/auth';
import { ROOT } from '../helpers/paths';
import { useTestServer } from '../helpers/server';

describe('the README integrator example (examples/stream-reply.js)', () => {
  const t = useTestServer({ env: { ECHO_TOKEN_DELAY_MS: '5' } });

  it('streams a reply to stdout', async () => {
    const u = await registerUser(t.graphqlUrl);
    const out = await new Promise<string>((resolve, reject) =>
      execFile(
        process.execPath,
        [path.join(ROOT, 'examples', 'stream-reply.js'), 'from a node script'],
        { env: { PATH: process.env.PATH, PARLEY_URL: t.url, PARLEY_TOKEN: u.accessToken } },
        (err, stdout, stderr) => (err ? reject(new Error(stderr || err.message)) : resolve(stdout)),
      ),
    );
    expect(out).toBe('Echo: from a node script\n[COMPLETE]\n');
  });
});
