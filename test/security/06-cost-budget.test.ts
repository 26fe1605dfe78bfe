import type { Client } from 'graphql-ws';
import { bearer, registerUser, type Registered } from '../helpers/auth';
import { REDIS_SERVER, describeWith } from '../helpers/prereq';
import { startTwoInstances } from '../helpers/redis';
import { gql, useTestServer } from '../helpers/server';
import { wsClient } from '../helpers/ws';

/**
 * Issue 9, item 6: plain operations (no `@rateLimit` of their own) could be sent as fast as the
 * network allows. The attack: send them in a loop until the server says stop, anonymously and
 * signed in, on HTTP and WebSocket, and across two instances sharing Redis. Each response must
 * report the budget in `extensions.cost`, falling, and the loop must end in RATE_LIMITED
 * (`reason: COST_BUDGET`, `retryAfterSeconds`; 429 with Retry-After on HTTP).
 */

/** A plain query (no @rateLimit) whose cost is well above 1; anonymous callers are refused at execution, after the budget. */
const PAGE = '{ conversations(first: 10) { edges { node { id title } } } }';
/** Most requests a drain may take before the test gives up (the budgets below are drained in far fewer). */
const MAX_TRIES = 60;

interface Cost {
  requested: number;
  limit: number;
  remaining: number;
  resetSeconds: number;
}

/** Sends `PAGE` over HTTP until refused; returns every response's cost and the refusal. */
async function drainHttp(url: string, headers: Record<string, string> = {}) {
  const costs: Cost[] = [];
  for (let i = 0; i < MAX_TRIES; i++) {
    const res = await gql(url, PAGE, undefined, headers);
    costs.push(res.body.extensions?.cost);
    const refusal = res.body.errors?.find((e: any) => e.extensions?.code === 'RATE_LIMITED');
    if (refusal) return { costs, refusal, res };
  }
  throw new Error(`not refused after ${MAX_TRIES} requests; last cost ${JSON.stringify(costs.at(-1))}`);
}

/** Runs one operation over the socket: its `next` payloads, or the `error` message's errors. */
function runWs(client: Client, query: string): Promise<{ results: any[]; errors?: any[] }> {
  return new Promise((resolve) => {
    const results: any[] = [];
    client.subscribe(
      { query },
      {
        next: (r) => results.push(r),
        error: (errors) => resolve({ results, errors: errors as any[] }),
        complete: () => resolve({ results }),
      },
    );
  });
}

async function drainWs(client: Client) {
  const costs: Cost[] = [];
  for (let i = 0; i < MAX_TRIES; i++) {
    const { results, errors } = await runWs(client, PAGE);
    if (errors) return { costs, refusal: errors[0] };
    costs.push(results[0].extensions.cost);
  }
  throw new Error(`not refused after ${MAX_TRIES} operations`);
}

/** Every cost report well-formed, and `remaining` falling by what each operation requested. */
function expectFalling(costs: Cost[]) {
  expect(costs.length).toBeGreaterThan(0);
  for (const c of costs)
    expect(c).toEqual({ requested: expect.any(Number), limit: expect.any(Number), remaining: expect.any(Number), resetSeconds: expect.any(Number) });
  for (let i = 1; i < costs.length; i++) {
    expect(costs[i].requested).toBeGreaterThan(1);
    expect(costs[i].remaining).toBe(costs[i - 1].remaining - costs[i].requested);
  }
}

function expectRefusal(refusal: any) {
  expect(refusal.extensions).toMatchObject({ code: 'RATE_LIMITED', reason: 'COST_BUDGET' });
  expect(refusal.extensions.retryAfterSeconds).toBeGreaterThanOrEqual(1);
  expect(refusal.extensions.retryAfterSeconds).toBeLessThanOrEqual(600);
}

describe('item 6: every operation draws its cost from a budget', () => {
  // User budget 1,000 points per 10 minutes (one window for the whole file), anonymous 100 per IP; RATE_LIMIT_SCALE 1 (tests default to 100).
  const t = useTestServer({ env: { RATE_LIMIT_SCALE: '1', RATE_LIMIT_COST: '1000/600' } });
  let alice: Registered;
  let bob: Registered;
  beforeAll(async () => {
    // Registering draws from the anonymous budget too: done first, it leaves most of it.
    alice = await registerUser(t.graphqlUrl);
    bob = await registerUser(t.graphqlUrl);
  });

  it('anonymous HTTP: cost reported and falling, then 429 RATE_LIMITED COST_BUDGET with Retry-After; WebSocket shares the IP budget', async () => {
    const { costs, refusal, res } = await drainHttp(t.graphqlUrl);
    expectFalling(costs.slice(0, -1));
    expect(costs[0].limit).toBe(100);
    expectRefusal(refusal);
    expect(res.status).toBe(429);
    expect(Number(res.headers.get('retry-after'))).toBe(refusal.extensions.retryAfterSeconds);
    // The refused response still reports the budget, so a client can pace itself.
    expect(costs.at(-1)).toMatchObject({ limit: 100, remaining: expect.any(Number) });
    // Even a document that runs nothing reports the budget (drawing nothing).
    const parseError = await gql(t.graphqlUrl, '{ nope(');
    expect(parseError.body.extensions.cost).toMatchObject({ requested: 0, limit: 100 });

    const anonymousWs = wsClient(t.wsUrl);
    try {
      const { errors } = await runWs(anonymousWs, PAGE);
      expectRefusal(errors![0]);
    } finally {
      await anonymousWs.dispose();
    }
    await t.logs.waitFor((l) => l.event === 'security.rate_limited' && l.field === 'cost_budget' && l.userId === undefined);
  });

  it("signed in on WebSocket: next payloads carry a falling cost, then the operation is refused; the budget is the user's, not the IP's", async () => {
    const client = wsClient(t.wsUrl, { connectionParams: { authorization: `Bearer ${alice.accessToken}` } });
    try {
      const { costs, refusal } = await drainWs(client);
      expect(costs[0].limit).toBe(1000); // the anonymous IP budget is spent, this one is not
      expectFalling(costs);
      expectRefusal(refusal);
    } finally {
      await client.dispose();
    }
    await t.logs.waitFor((l) => l.event === 'security.rate_limited' && l.field === 'cost_budget' && l.userId === alice.userId);
  });

  it('signed in on HTTP: each user has a budget of their own', async () => {
    const { costs, refusal, res } = await drainHttp(t.graphqlUrl, bearer(bob.accessToken));
    expect(costs[0]).toMatchObject({ limit: 1000 }); // alice's drain took nothing from bob
    expectFalling(costs.slice(0, -1));
    expectRefusal(refusal);
    expect(res.status).toBe(429);
  });
});

describeWith([REDIS_SERVER], 'item 6: two instances sharing Redis share one budget', () => {
  let pair: Awaited<ReturnType<typeof startTwoInstances>> | undefined;
  afterAll(async () => {
    await pair?.close();
  });

  it('what one instance drew, the other sees; spent on one is spent on both', async () => {
    pair = await startTwoInstances({ RATE_LIMIT_SCALE: '1', RATE_LIMIT_COST: '1000/600' }); // anonymous: 100 per IP
    const urls = [pair.a.graphqlUrl, pair.b.graphqlUrl];
    const costs: Cost[] = [];
    let refusal: any;
    let refusedAt = -1;
    for (let i = 0; i < MAX_TRIES && !refusal; i++) {
      const res = await gql(urls[i % 2], PAGE);
      costs.push(res.body.extensions.cost);
      refusal = res.body.errors?.find((e: any) => e.extensions?.code === 'RATE_LIMITED');
      if (refusal) refusedAt = i;
    }
    expect(costs.length).toBeGreaterThan(2); // both instances answered before the end
    expectFalling(costs.slice(0, -1)); // one count, alternating instances
    expectRefusal(refusal);
    // The other instance refuses too: the budget is spent for the whole deployment.
    const other = await gql(urls[(refusedAt + 1) % 2], PAGE);
    expectRefusal(other.body.errors[0]);
    expect(other.status).toBe(429);
  });
});
