import { gql, useTestServer } from '../helpers/server';
import { wsClient, wsRun } from '../helpers/ws';

/**
 * Issue 9 item 1: graphql-depth-limit re-walked every fragment spread, so a 1 KB document of
 * fragments that each spread the next one twice blocked the event loop for seconds (doubling per
 * level). Our limit check and cost walk each fragment once.
 */
function fanOut(levels: number, fan: number, leaf = '__typename'): string {
  const parts = ['query FanOut { ...F0 }'];
  for (let i = 0; i < levels; i++) parts.push(`fragment F${i} on Query { ${`...F${i + 1} `.repeat(fan)}}`);
  parts.push(`fragment F${levels} on Query { ${leaf} }`);
  return parts.join(' ');
}

type Outcome = { data?: unknown; errors?: { extensions?: { code?: string } }[] };

/**
 * Sends the attack and, while it is in flight, a /healthz probe. On the old code the 120-level
 * documents never finished validating (2^120 walks), so neither answer came and the test timed
 * out; the 24-level one held the probe for seconds. Now both answer.
 */
async function withProbe(url: string, attack: () => Promise<Outcome>): Promise<{ outcome: Outcome; probeStatus: number }> {
  const attacking = attack();
  await new Promise((r) => setImmediate(r)); // the attack's bytes go out first
  const [outcome, probe] = await Promise.all([attacking, fetch(`${url}/healthz`)]);
  return { outcome, probeStatus: probe.status };
}

const refusedOrAnswered = (o: Outcome) => {
  if (o.errors) expect(['QUERY_TOO_COMPLEX', 'QUERY_TOO_DEEP', 'GRAPHQL_VALIDATION_FAILED']).toContain(o.errors[0].extensions?.code);
  else expect(o.data).toEqual({ __typename: 'Query' });
};

describe('fragment fan-out (exponential validation)', () => {
  const t = useTestServer();
  const viaWs = async (query: string): Promise<Outcome> => {
    const client = wsClient(t.wsUrl);
    try {
      const [r] = await wsRun<Outcome>(client, query);
      return r;
    } catch (errors) {
      return { errors: errors as Outcome['errors'] };
    } finally {
      await client.dispose();
    }
  };

  // 24 levels, 2-way: about 1 KB, 2.7-3.6 s of validation on the old code; 40 levels would be years.
  const documents = [
    ['2-way, 24 levels (the review document)', fanOut(24, 2)],
    ['2-way, 120 levels', fanOut(120, 2)],
    ['3-way, 100 levels', fanOut(100, 3)],
    ['2-way, 60 levels ending in an object', fanOut(60, 2, 'models { id }')],
  ] as const;

  it.each(documents)(
    'HTTP: %s is refused or answered, and /healthz answers meanwhile',
    async (_name, query) => {
      const { outcome, probeStatus } = await withProbe(t.url, async () => (await gql(t.graphqlUrl, query)).body);
      refusedOrAnswered(outcome);
      expect(probeStatus).toBe(200);
    },
    20_000,
  );

  it.each(documents)(
    'WebSocket: %s is refused or answered, and /healthz answers meanwhile',
    async (_name, query) => {
      const { outcome, probeStatus } = await withProbe(t.url, () => viaWs(query));
      refusedOrAnswered(outcome);
      expect(probeStatus).toBe(200);
    },
    20_000,
  );

  it('an object leaf multiplies the cost per level: refused with QUERY_TOO_COMPLEX, not executed', async () => {
    const res = await gql(t.graphqlUrl, fanOut(60, 2, 'models { id }'));
    expect(res.status).toBe(400);
    expect(res.body.errors[0].extensions.code).toBe('QUERY_TOO_COMPLEX');
    expect(res.body.data).toBeUndefined();
  });

  // graphql-js's overlap rule compares every pair of same-named fields: 490 copies of
  // `models { id }` took 400-600 ms, 40 fragments of 9 copies each spread together 670 ms.
  const repeats = [
    ['490 copies of models { id }', `{ ${'models { id } '.repeat(490)}}`],
    [
      '40 fragments of 9 copies, spread together',
      `{ ${Array.from({ length: 40 }, (_, i) => `...R${i}`).join(' ')} } ${Array.from({ length: 40 }, (_, i) => `fragment R${i} on Query { ${'models { id } '.repeat(9)}}`).join(' ')}`,
    ],
  ] as const;

  it.each(repeats)('%s: one QUERY_TOO_COMPLEX on HTTP and WebSocket, /healthz answers meanwhile', async (_name, query) => {
    const http = await withProbe(t.url, async () => (await gql(t.graphqlUrl, query)).body);
    expect(http.outcome.errors).toHaveLength(1);
    expect(http.outcome.errors![0].extensions?.code).toBe('QUERY_TOO_COMPLEX');
    expect(http.probeStatus).toBe(200);
    const ws = await withProbe(t.url, () => viaWs(query));
    expect(ws.outcome.errors).toHaveLength(1);
    expect(ws.outcome.errors![0].extensions?.code).toBe('QUERY_TOO_COMPLEX');
  });

  it('fields an Apollo client repeats through fragments (id, __typename) still pass', async () => {
    const q = `query Repeat { ...A ...B ...C models { id } __typename }
      fragment A on Query { __typename models { id provider } }
      fragment B on Query { __typename models { id } }
      fragment C on Query { __typename models { id default } }`;
    const res = await gql(t.graphqlUrl, q);
    expect(res.body.errors).toBeUndefined();
    expect(res.body.data.models.length).toBeGreaterThan(0);
  });
});
