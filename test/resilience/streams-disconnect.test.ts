import type { Client } from 'graphql-ws';
import { bearer, registerUser, type Registered } from '../helpers/auth';
import { acknowledgedWs, authedWs, createConversation, sendMessage, type StreamEvent } from '../helpers/chat';
import { gql, useTestServer } from '../helpers/server';

// 500 replies stream at once over 20 sockets (10 users x 2 sockets x 25 subscriptions), while
// clients drop single subscriptions and whole sockets at random and resume with `fromOffset`.
// For this server the per-user cap of concurrent replies (default 3) is raised to 200, and the
// per-socket cap of operations to 50 (a resumed subscription's `subscribe` may be admitted
// before the server has finished the one it replaces): the point is the relay under churn.
const USERS = 10;
const SOCKETS_PER_USER = 2;
const STREAMS_PER_SOCKET = 25;
const WORDS = 40;
/** Chance, per received event, that the client drops that one subscription and resumes it. */
const UNSUBSCRIBE_CHANCE = 0.02;
/** How often a whole socket is torn down (terminate: no close handshake) and reopened. */
const SOCKET_DROP_EVERY_MS = 500;

const STREAM_QUERY =
  'subscription M($id: ID!, $from: Int) { messageStream(messageId: $id, fromOffset: $from) { messageId offset delta done status usage { promptTokens completionTokens } error } }';

/** A small seeded PRNG (mulberry32), so a failing run can be replayed with its seed. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** One reply as one client follows it: what it received so far, by offset. */
interface Follow {
  conversationId: string;
  messageId: string;
  expected: string;
  received: string;
  done: boolean;
  status?: string;
  /** Bumped on every (re)subscription: events of an abandoned subscription are ignored. */
  generation: number;
  dispose?: () => void;
}

interface Group {
  user: Registered;
  client: Client;
  /** Acknowledged by the server: only such a socket is dropped (ws refuses to abort a handshake cleanly). */
  open: boolean;
  follows: Follow[];
}

/** Points `g` at a new socket for its user; `open` turns true once the server acknowledges it. */
function connect(wsUrl: string, g: Group): void {
  const client = authedWs(wsUrl, g.user.accessToken);
  g.client = client;
  g.open = false;
  client.on('connected', () => {
    if (g.client === client) g.open = true;
  });
}

class Churn {
  readonly problems: string[] = [];
  resubscriptions = 0;
  socketDrops = 0;
  private finished = 0;
  private allDone!: () => void;
  readonly done: Promise<void>;

  constructor(
    private readonly wsUrl: string,
    private readonly rand: () => number,
    private readonly total: number,
  ) {
    this.done = new Promise((resolve) => (this.allDone = resolve));
  }

  /** Subscribes `f` on `g`'s socket from what it already has; every event must start exactly there. */
  follow(g: Group, f: Follow): void {
    const generation = ++f.generation;
    const current = () => generation === f.generation && !f.done;
    f.dispose = g.client.subscribe<{ messageStream: StreamEvent }>(
      { query: STREAM_QUERY, variables: { id: f.messageId, from: f.received.length } },
      {
        next: (r) => {
          if (!current()) return;
          if (r.errors) return this.problem(`${f.messageId}: ${JSON.stringify(r.errors)}`);
          const e = r.data!.messageStream;
          if (e.offset !== f.received.length) return this.problem(`${f.messageId}: event at ${e.offset}, had ${f.received.length} (lost or repeated)`);
          f.received += e.delta;
          if (e.done) return this.finish(f, e.status);
          if (this.rand() < UNSUBSCRIBE_CHANCE) this.resume(g, f);
        },
        // A dropped socket errors its subscriptions; `drop` resumes them on the new socket.
        error: (err) => {
          if (current()) this.problem(`${f.messageId}: ${String((err as Error).message ?? JSON.stringify(err))}`);
        },
        complete: () => {
          if (current()) this.problem(`${f.messageId}: completed without a final event at ${f.received.length}/${f.expected.length} gen ${generation}`);
        },
      },
    );
  }

  /**
   * The client leaves one subscription and comes back a moment later from where it was. Not
   * disposed inside `next`: ws delivers the frames of one TCP chunk synchronously, and a server
   * `complete` in the same chunk would make graphql-ws's client release the operation twice and
   * close the whole socket (1000) under its other subscriptions.
   */
  private resume(g: Group, f: Follow): void {
    f.generation += 1;
    const leave = f.dispose;
    this.resubscriptions += 1;
    setTimeout(
      () => {
        leave?.();
        this.follow(g, f);
      },
      Math.floor(this.rand() * 30),
    );
  }

  /** Tears a whole socket down as a lost network would, then reopens it and resumes every unfinished reply. */
  drop(g: Group): void {
    for (const f of g.follows) f.generation += 1;
    const lost = g.client;
    // The new socket first: a resume scheduled before the drop then lands on it, never on the dead one.
    connect(this.wsUrl, g);
    lost.terminate();
    this.socketDrops += 1;
    for (const f of g.follows) if (!f.done) this.follow(g, f);
  }

  private finish(f: Follow, status: string): void {
    f.done = true;
    f.status = status;
    // Not disposed: the server completes the operation after its final event (see `resume`).
    if (++this.finished === this.total) this.allDone();
  }

  /** Records what went wrong and ends the wait: the test then fails with it rather than timing out. */
  private problem(text: string): void {
    if (this.problems.length < 20) this.problems.push(text);
    this.allDone();
  }
}

async function startReply(graphqlUrl: string, user: Registered, i: number): Promise<Follow> {
  const text = Array.from({ length: WORDS }, (_, w) => `u${user.userId.slice(0, 4)}m${i}w${w}`).join(' ');
  const conversationId = await createConversation(graphqlUrl, user.accessToken);
  const res = await sendMessage(graphqlUrl, user.accessToken, conversationId, text);
  if (res.body.errors) throw new Error(JSON.stringify(res.body.errors));
  const messageId = res.body.data.sendMessage.assistantMessage.id as string;
  return { conversationId, messageId, expected: `Echo: ${text}`, received: '', done: false, generation: 0 };
}

async function storedReply(graphqlUrl: string, token: string, f: Follow): Promise<{ content: string; status: string }> {
  const res = await gql(
    graphqlUrl,
    'query Q($id: ID!) { conversation(id: $id) { messages(last: 1) { edges { node { id content status } } } } }',
    { id: f.conversationId },
    bearer(token),
  );
  const node = res.body.data.conversation.messages.edges[0].node;
  expect(node.id).toBe(f.messageId);
  return node;
}

describe('500 concurrent streams with random disconnects and resumes', () => {
  const t = useTestServer({
    env: { CHAT_MAX_CONCURRENT_STREAMS: '200', WS_MAX_SUBSCRIPTIONS_PER_CONNECTION: '50', ECHO_TOKEN_DELAY_MS: '800', DB_POOL_MAX: '20' },
  });

  it('every client reassembles exactly the stored reply: no event lost or repeated', async () => {
    const seed = Number(process.env.CHURN_SEED ?? Date.now() % 1_000_000);
    const rand = prng(seed);
    const users = await Promise.all(Array.from({ length: USERS }, () => registerUser(t.graphqlUrl)));
    const churn = new Churn(t.wsUrl, rand, USERS * SOCKETS_PER_USER * STREAMS_PER_SOCKET);
    const groups: Group[] = [];
    // How many replies ran at once on the server, sampled as the chaos ticks.
    let peak = 0;
    const sampler = setInterval(() => (peak = Math.max(peak, t.server.services.runner.size)), 50);
    const dropper = setInterval(() => {
      const g = groups[Math.floor(rand() * groups.length)];
      if (g?.open) churn.drop(g);
    }, SOCKET_DROP_EVERY_MS);
    try {
      // Each user starts its replies and follows them as they come, a socket's worth at a time.
      await Promise.all(
        users.map(async (user) => {
          for (let s = 0; s < SOCKETS_PER_USER; s++) {
            const client = (await acknowledgedWs(t.wsUrl, user.accessToken)).client;
            const g: Group = { user, client, open: true, follows: [] };
            // One send at a time per user, as one client sends: sends race on the per-user lock otherwise,
            // and the waiting transactions hold pool connections the reply saves need.
            for (let i = 0; i < STREAMS_PER_SOCKET; i++) g.follows.push(await startReply(t.graphqlUrl, user, s * STREAMS_PER_SOCKET + i));
            groups.push(g);
            for (const f of g.follows) churn.follow(g, f);
          }
        }),
      );
      await churn.done;
    } finally {
      clearInterval(dropper);
      clearInterval(sampler);
    }
    console.log(
      `streams-disconnect: seed ${seed}, peak ${peak} concurrent replies, ${churn.resubscriptions} resubscriptions, ${churn.socketDrops} socket drops`,
    );

    expect({ seed, problems: churn.problems }).toEqual({ seed, problems: [] });
    expect(churn.resubscriptions).toBeGreaterThan(50);
    expect(churn.socketDrops).toBeGreaterThan(3);
    expect(peak).toBeGreaterThanOrEqual(USERS * SOCKETS_PER_USER * STREAMS_PER_SOCKET * 0.9);
    for (const g of groups) {
      for (const f of g.follows) {
        expect(f.status).toBe('COMPLETE');
        expect(f.received).toBe(f.expected);
        const stored = await storedReply(t.graphqlUrl, g.user.accessToken, f);
        expect(stored).toEqual({ id: f.messageId, content: f.received, status: 'COMPLETE' });
      }
    }
    for (const g of groups) void g.client.dispose();
  }, 480_000);
});
