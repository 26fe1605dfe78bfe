import net from 'node:net';
import { bearer, registerUser } from '../helpers/auth';
import { authedWs } from '../helpers/chat';
import { gql, useTestServer } from '../helpers/server';

// Issue 11 review: `POST /v1/chat/completions` with `stream: true` waited for the socket to drain
// with no bound. A client that stops reading (but keeps its connection open) held the handler,
// its event subscription and the socket forever, while its reply went on generating: nothing
// times a response out. Now a stream that takes nothing for CHAT_STREAM_STALL_SECONDS is cut off
// and its reply cancelled, as a client that hangs up is.

const REPLY_WORDS = 16_000;
// Every chunk repeats the model's name: with a long one the reply is ~7 MB of SSE chunks, about
// twice what loopback socket buffers took in before the server saw backpressure (~3.4 MB).
const MODEL = `echo-${'x'.repeat(190)}`;

interface Finished {
  type: string;
  message: { id: string; role: string; status: string } | null;
}

describe('22: a /v1 stream whose client stops reading is cut off', () => {
  const t = useTestServer({ env: { ECHO_TOKEN_DELAY_MS: '1', AI_MODELS: MODEL, AI_MAX_OUTPUT_TOKENS: '16000', CHAT_STREAM_STALL_SECONDS: '1' } });

  it('the reply is cancelled and the connection closed, instead of both being held', async () => {
    const user = await registerUser(t.graphqlUrl);
    const created = await gql(t.graphqlUrl, 'mutation { createApiKey(name: "stalls") { secret } }', undefined, bearer(user.accessToken));
    const key: string = created.body.data.createApiKey.secret;

    // The owner's other device watches for the reply to finish.
    const watcher = authedWs(t.wsUrl, user.accessToken);
    const finished = new Promise<Finished>((resolve, reject) => {
      watcher.subscribe<{ chatEvents: Finished }>(
        { query: 'subscription { chatEvents { type message { id role status } } }' },
        {
          next: (r) => {
            if (r.data?.chatEvents.type === 'MESSAGE_FINISHED') resolve(r.data.chatEvents);
          },
          error: reject,
          complete: () => undefined,
        },
      );
    });
    // chatEvents has no acknowledgement: a round trip on the socket after it was sent.
    for await (const r of watcher.iterate<{ me: { id: string } }>({ query: '{ me { id } }' })) expect(r.data?.me.id).toBe(user.userId);

    // The attack: a raw client asks for a long stream, reads the first bytes, then stops reading.
    const port = Number(new URL(t.url).port);
    const socket = net.connect(port, '127.0.0.1');
    const body = JSON.stringify({ model: MODEL, stream: true, messages: [{ role: 'user', content: Array(REPLY_WORDS).fill('a').join(' ') }] });
    socket.write(
      `POST /v1/chat/completions HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer ${key}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
    );
    const head = await new Promise<string>((resolve) => socket.once('data', (d: Buffer) => resolve(d.toString('latin1'))));
    socket.pause();
    expect(head).toMatch(/^HTTP\/1\.1 200/);
    const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));

    try {
      const event = await finished;
      expect(event.message).toMatchObject({ role: 'ASSISTANT', status: 'CANCELLED' }); // was COMPLETE, the socket still held
    } finally {
      socket.resume(); // reads what was buffered, then sees the server's close
      await closed;
      await watcher.dispose();
    }
  });
});
