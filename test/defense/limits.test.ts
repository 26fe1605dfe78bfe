import { buildSchema, parse } from 'graphql';
import { assertCost } from '../../src/graphql/limits';
import { loadConfig } from '../../src/config';
import { gql, useTestServer } from '../helpers/server';
import { wsClient, wsRun } from '../helpers/ws';

const aliases = (n: number) => `{ ${Array.from({ length: n }, (_, i) => `a${i}: __typename`).join(' ')} }`;
const directives = (n: number) => `{ ${Array.from({ length: n }, (_, i) => `d${i}: __typename @include(if: true)`).join(' ')} }`;
const DEEP = 'mutation { login(input: { email: "a@example.com", password: "p", captcha: "c" }) { user { id } } }';
const DEEP_VIA_FRAGMENT =
  'fragment U on AuthPayload { user { id } } mutation { login(input: { email: "a@example.com", password: "p", captcha: "c" }) { ...U } }';
const SHALLOW = 'mutation { login(input: { email: "a@example.com", password: "p", captcha: "c" }) { accessToken } }';

type Transport = (query: string) => Promise<{ errors?: { message: string; extensions: Record<string, unknown> }[]; data?: unknown }>;

describe.each(['http', 'ws'])('query limits over %s', (transport) => {
  const t = useTestServer({ env: { MAX_QUERY_DEPTH: '1', MAX_ALIASES: '15' } });
  const run: Transport = async (query) => {
    if (transport === 'http') return (await gql(t.graphqlUrl, query)).body;
    const client = wsClient(t.wsUrl);
    try {
      const [r] = await wsRun<Record<string, any>>(client, query);
      return r;
    } catch (errors) {
      return { errors: errors as never };
    } finally {
      await client.dispose();
    }
  };
  const code = async (q: string) => (await run(q)).errors?.[0]?.extensions?.code;

  it('allows the depth limit and refuses one past it, even hidden in a fragment, before executing', async () => {
    expect(await code(SHALLOW)).toBe('CAPTCHA_INVALID'); // depth 1: executed (and refused by the captcha)
    expect(await code(DEEP)).toBe('QUERY_TOO_DEEP');
    expect(await code(DEEP_VIA_FRAGMENT)).toBe('QUERY_TOO_DEEP');
  });

  it('allows 15 aliases and refuses 16, and an alias flood of 101 __typename', async () => {
    expect((await run(aliases(15))).errors).toBeUndefined();
    expect(await code(aliases(16))).toBe('QUERY_TOO_COMPLEX');
    expect(await code(aliases(101))).toBe('QUERY_TOO_COMPLEX');
  });

  it('allows 10 directives and refuses 11 (directive overloading)', async () => {
    expect((await run(directives(10))).errors).toBeUndefined();
    expect(await code(directives(11))).toBe('QUERY_TOO_COMPLEX');
  });

  it('refuses a document of more than 2000 tokens at parse time', async () => {
    const many = `{ ${Array.from({ length: 2100 }, () => 'a').join(' ')} }`;
    expect(await code(many)).toBe('GRAPHQL_PARSE_FAILED');
  });

  it('refuses a document over 20 KB', async () => {
    const big = `{ __typename ${' '.repeat(21 * 1024)} }`;
    const r = await run(big);
    expect(r.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    expect(r.errors?.[0]?.message).toMatch(/20 KB/);
  });
});

describe('query cost', () => {
  const schema = buildSchema(`
    type Tag { name: String item: Item }
    type Item { id: ID name: String owner: Item tags(first: Int): [Tag] }
    type Query { items(first: Int): [Item] item: Item }
  `);
  const config = loadConfig({ APP_ENV: 'test', MAX_QUERY_COST: '1000' });
  const cost = (q: string, variables?: Record<string, unknown>) => assertCost(config, schema, parse(q), variables);

  // Issue 9 item 19 changed the model: scalar fields are free, an object field costs 1.
  it('costs objects: scalars free, a paginated field its first (or default page size) times its selection', () => {
    expect(cost('{ item { id name } }')).toBe(1);
    expect(cost('{ item { owner { id } } }')).toBe(2);
    expect(cost('{ items(first: 10) { id owner { id } } }')).toBe(1 + 10 * 1);
    expect(cost('{ items { owner { id } } }')).toBe(1 + 20 * 1);
    expect(cost('query Q($n: Int) { items(first: $n) { owner { id } } }', { n: 50 })).toBe(1 + 50);
    expect(cost('query Q($n: Int = 100) { items(first: $n) { owner { id } } }')).toBe(1 + 100); // the document's default
    expect(cost('{ items(first: 10) { tags(first: 10) { name } owner { tags(first: 5) { name } } } }')).toBe(1 + 10 * (1 + (1 + 1)));
  });

  it('allows the limit and refuses one past it with QUERY_TOO_COMPLEX and the cost', () => {
    // Issue 11: a page over 100 is BAD_USER_INPUT before any cost, so the limit is reached by nesting:
    // 1 + 27 * (1 + (1 + 35 * 1)) is exactly 1000; one more inner item costs 27 more.
    expect(cost('{ items(first: 27) { owner { id } tags(first: 35) { item { id } } } }')).toBe(1000);
    try {
      cost('{ items(first: 27) { owner { id } tags(first: 36) { item { id } } } }');
      throw new Error('not refused');
    } catch (err) {
      expect((err as { extensions: Record<string, unknown> }).extensions).toMatchObject({ code: 'QUERY_TOO_COMPLEX', cost: 1027, maxCost: 1000 });
    }
  });
});

describe('cost over the real transports', () => {
  const t = useTestServer({ env: { MAX_QUERY_COST: '10' } });
  const q = (n: number) => `{ ${Array.from({ length: n }, (_, i) => `m${i}: models { id }`).join(' ')} }`; // each alias costs 1 (an object)

  it('refuses an over-cost operation on HTTP with the computed cost, before execution', async () => {
    expect((await gql(t.graphqlUrl, q(10))).body.errors).toBeUndefined();
    const res = await gql(t.graphqlUrl, q(11));
    expect(res.status).toBe(400);
    expect(res.body.errors[0].extensions).toMatchObject({ code: 'QUERY_TOO_COMPLEX', cost: 11 });
  });

  it('and on WebSocket', async () => {
    const client = wsClient(t.wsUrl);
    await expect(wsRun(client, q(11))).rejects.toEqual([
      expect.objectContaining({ extensions: expect.objectContaining({ code: 'QUERY_TOO_COMPLEX', cost: 11 }) }),
    ]);
    await client.dispose();
  });
});
