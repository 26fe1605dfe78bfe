import type { Client } from 'graphql-ws';
import { registerUser, type Registered } from '../helpers/auth';
import { authedWs, createConversation } from '../helpers/chat';
import { useTestServer, type TestServer } from '../helpers/server';

// Issue 11 review: every chatEvents subscription resolves each of its owner's changes with the
// selection it asked for (here the conversation and a page of its messages). Nothing bounded
// how many one account held: 50 sockets × 25 subscriptions from one IP turned every message the
// account sent into over a thousand database reads. Now a user holds at most 20 at once.

const CHAT_EVENTS = 'subscription { chatEvents { type conversationId conversation { id messages(first: 100) { edges { node { id content } } } } } }';
const PER_USER = 20;

interface Follower {
  events: number;
  /** Resolves with the errors the subscription ended with (a refusal), if it ends so. */
  refused: Promise<{ message: string; extensions?: Record<string, unknown> }[]>;
  stop: () => void;
}

function follow(client: Client): Follower {
  const f = { events: 0 } as Follower;
  f.refused = new Promise((resolve) => {
    f.stop = client.subscribe<{ chatEvents: unknown }>(
      { query: CHAT_EVENTS },
      {
        next: (r) => {
          if (r.errors) resolve(r.errors.map((e) => ({ message: e.message, extensions: e.extensions })));
          else f.events += 1;
        },
        error: (err) => resolve(Array.isArray(err) ? err : [{ message: String(err) }]),
        complete: () => undefined,
      },
    );
  });
  return f;
}

/** Creates conversations until every follower has seen one event: they are all registered on the server. */
async function allLive(t: TestServer, u: Registered, followers: Follower[]): Promise<void> {
  for (let i = 0; i < 50 && followers.some((f) => f.events === 0); i++) {
    await createConversation(t.graphqlUrl, u.accessToken, { title: 'probe' });
    await new Promise((resolve) => setImmediate(resolve));
  }
  expect(followers.every((f) => f.events > 0)).toBe(true);
}

/** A round trip on `client`: every message it sent before (a `complete`) was handled first. */
async function roundTrip(client: Client): Promise<void> {
  const it = client.iterate<{ me: { id: string } }>({ query: '{ me { id } }' });
  for await (const r of it) expect(r.data?.me.id).toBeDefined();
}

describe('21: chatEvents subscriptions per user are bounded', () => {
  const t = useTestServer();

  it('the 21st subscription of one user is RATE_LIMITED, across sockets; another user is not affected; closing one frees a place', async () => {
    const u = await registerUser(t.graphqlUrl);
    const sockets = [authedWs(t.wsUrl, u.accessToken), authedWs(t.wsUrl, u.accessToken), authedWs(t.wsUrl, u.accessToken)];
    try {
      const held = Array.from({ length: PER_USER }, (_, i) => follow(sockets[i % 2]));
      await allLive(t, u, held);

      // The attack: more subscriptions for the same user on a third socket.
      const extra = follow(sockets[2]);
      expect(await liveOrRefused(t, u, extra)).toBe('refused'); // it was live: nothing bounded them
      const errors = await extra.refused;
      expect(errors[0].extensions).toMatchObject({ code: 'RATE_LIMITED', reason: 'CONCURRENT_STREAMS', retryAfterSeconds: 1 });

      // Another user's subscriptions are their own.
      const v = await registerUser(t.graphqlUrl);
      const other = authedWs(t.wsUrl, v.accessToken);
      try {
        const theirs = follow(other);
        await allLive(t, v, [theirs]);
      } finally {
        await other.dispose();
      }

      // One unsubscribed: its place is free again.
      held[0].stop();
      await roundTrip(sockets[0]);
      const again = follow(sockets[0]);
      await allLive(t, u, [again]);
    } finally {
      for (const s of sockets) await s.dispose();
    }
  });

  it('a closed socket gives back every place it held', async () => {
    const u = await registerUser(t.graphqlUrl);
    const first = authedWs(t.wsUrl, u.accessToken);
    const held = Array.from({ length: PER_USER }, () => follow(first));
    await allLive(t, u, held);
    await first.dispose();

    // The server forgets the closed socket's subscriptions as it sees the close: retried until it has.
    const second = authedWs(t.wsUrl, u.accessToken);
    try {
      let f = follow(second);
      for (let attempt = 0; attempt < 50 && (await liveOrRefused(t, u, f)) === 'refused'; attempt++) f = follow(second);
      const rest = Array.from({ length: PER_USER - 1 }, () => follow(second));
      await allLive(t, u, [f, ...rest]);
    } finally {
      await second.dispose();
    }
  });
});

/** Whether `f` was refused or is delivering events. */
async function liveOrRefused(t: TestServer, u: Registered, f: Follower): Promise<'live' | 'refused'> {
  let refused = false;
  void f.refused.then(() => (refused = true));
  for (let i = 0; i < 50 && !refused && f.events === 0; i++) {
    await createConversation(t.graphqlUrl, u.accessToken, { title: 'probe' });
    await new Promise((resolve) => setImmediate(resolve));
  }
  return refused ? 'refused' : 'live';
}
