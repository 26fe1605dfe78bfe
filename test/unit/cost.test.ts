import { GraphQLError, buildSchema, parse } from 'graphql';
import { loadConfig } from '../../src/config';
import { DEFAULT_PAGE_SIZE, assertCost, queryCost } from '../../src/graphql/limits';

// A schema of the shapes the cost model tells apart: scalars, enums, objects, lists and paginated fields.
const schema = buildSchema(`
  enum Role { USER ADMIN }
  interface Node { id: ID! }
  type Usage { promptTokens: Int! completionTokens: Int! }
  type Message implements Node { id: ID! content: String! role: Role! usage: Usage }
  type MessageEdge { cursor: String! node: Message! }
  type PageInfo { hasNextPage: Boolean! endCursor: String }
  type MessageConnection { edges: [MessageEdge!]! pageInfo: PageInfo! }
  type Conversation implements Node { id: ID! title: String! messages(first: Int, after: String, last: Int, before: String): MessageConnection! }
  type Query { me: Conversation conversation(id: ID!): Conversation node(id: ID!): Node version: String! }
  type Mutation { rename(id: ID!, title: String!): Conversation }
`);

const cost = (query: string, variables?: Record<string, unknown>, operationName?: string) => queryCost(schema, parse(query), variables, operationName);

describe('query cost', () => {
  it('counts objects only: scalars and enums are free, each object field costs 1 plus its selection', () => {
    expect(cost('{ version }')).toBe(0);
    expect(cost('{ me { id title } }')).toBe(1);
    expect(cost('{ me { id } conversation(id: "1") { title } }')).toBe(2);
    expect(cost('mutation { rename(id: "1", title: "t") { id } }')).toBe(1);
    expect(cost('{ __typename me { __typename id } }')).toBe(1);
  });

  it('multiplies a paginated selection by `first`, literal, variable or the variable default', () => {
    const page = 'messages(first: $n) { edges { node { id usage { promptTokens } } } pageInfo { hasNextPage } }';
    // messages: 1 + n × (edges: 1 + node: 1 + usage: 1, pageInfo: 1) = 1 + 4n
    expect(cost(`query Q($n: Int) { me { ${page} } }`, { n: 10 })).toBe(1 + 1 + 4 * 10);
    expect(cost(`query Q($n: Int = 50) { me { ${page} } }`)).toBe(1 + 1 + 4 * 50);
    expect(cost(`query Q($n: Int = 50) { me { ${page} } }`, { n: 5 })).toBe(1 + 1 + 4 * 5);
    expect(cost('{ me { messages(first: 3) { edges { cursor } } } }')).toBe(1 + 1 + 3 * 1);
  });

  it('costs a paginated field without `first` (or with 0) at the default page size', () => {
    expect(cost('{ me { messages { edges { cursor } } } }')).toBe(2 + DEFAULT_PAGE_SIZE);
    expect(cost('{ me { messages(first: 0) { edges { cursor } } } }')).toBe(2 + DEFAULT_PAGE_SIZE);
  });

  // Issue 11: `last` pages like `first`; sizes out of range are bad input, refused before any cost.
  it('multiplies by `last` like `first`, and refuses both, over 100 or under 0 with BAD_USER_INPUT', () => {
    expect(cost('{ me { messages(last: 30) { edges { cursor } } } }')).toBe(2 + 30);
    expect(cost('query Q($n: Int) { me { messages(last: $n, before: "x") { edges { cursor } } } }', { n: 7 })).toBe(2 + 7);
    const refused = (query: string, variables?: Record<string, unknown>) => {
      try {
        cost(query, variables);
      } catch (err) {
        return (err as GraphQLError).extensions;
      }
      throw new Error('not refused');
    };
    expect(refused('{ me { messages(first: 2, last: 2) { edges { cursor } } } }')).toMatchObject({ code: 'BAD_USER_INPUT', field: 'last' });
    expect(refused('{ me { messages(last: 101) { edges { cursor } } } }')).toMatchObject({ code: 'BAD_USER_INPUT', field: 'last' });
    expect(refused('query Q($n: Int) { me { messages(first: $n) { edges { cursor } } } }', { n: 101 })).toMatchObject({
      code: 'BAD_USER_INPUT',
      field: 'first',
    });
    expect(refused('query Q($n: Int) { me { messages(first: $n) { edges { cursor } } } }', { n: -5 })).toMatchObject({
      code: 'BAD_USER_INPUT',
      field: 'first',
    });
  });

  it('leaves out fields that @skip or @include drop', () => {
    expect(cost('query Q($s: Boolean!) { me @skip(if: $s) { id } }', { s: true })).toBe(0);
    expect(cost('query Q($s: Boolean!) { me @skip(if: $s) { id } }', { s: false })).toBe(1);
    expect(cost('{ me @include(if: false) { id } conversation(id: "1") @include(if: true) { id } }')).toBe(1);
  });

  it('costs fragments and inline fragments like the fields they stand for', () => {
    const inline = '{ me { messages(first: 2) { edges { node { ...M } } } } } fragment M on Message { usage { promptTokens } }';
    expect(cost(inline)).toBe(1 + 1 + 2 * (1 + 1 + 1));
    expect(cost('{ node(id: "1") { ... on Conversation { messages(first: 2) { edges { cursor } } } } }')).toBe(1 + 1 + 2 * 1);
  });

  it('is linear in a fan-out of fragments, costing each fragment once', () => {
    let doc = 'fragment F0 on Message { usage { promptTokens } }\n';
    for (let i = 1; i <= 40; i++) doc += `fragment F${i} on Message { ...F${i - 1} ...F${i - 1} }\n`;
    const started = Date.now();
    const value = cost(`{ me { messages(first: 1) { edges { node { ...F40 } } } } }\n${doc}`);
    expect(value).toBe(2 + (1 + 1 + 2 ** 40));
    expect(Date.now() - started).toBeLessThan(1000);
  });

  it('costs the named operation, and nothing when the operation is ambiguous or missing', () => {
    const doc = 'query A { me { id } } query B { me { id } conversation(id: "1") { id } }';
    expect(cost(doc, {}, 'A')).toBe(1);
    expect(cost(doc, {}, 'B')).toBe(2);
    expect(cost(doc)).toBe(0);
    expect(cost(doc, {}, 'C')).toBe(0);
  });
});

describe('cost limit', () => {
  const config = loadConfig({ APP_ENV: 'test', SECRET_KEY: 'a'.repeat(64), MAX_QUERY_COST: '10' });
  const page = (n: number) => parse(`{ me { messages(first: ${n}) { edges { cursor } } } }`);

  it('returns the cost at or under MAX_QUERY_COST', () => {
    expect(assertCost(config, schema, page(8), undefined)).toBe(10);
  });

  it('refuses a costlier operation with QUERY_TOO_COMPLEX, the cost, the limit and HTTP 400', () => {
    let thrown: unknown;
    try {
      assertCost(config, schema, page(9), undefined);
    } catch (err) {
      thrown = err;
    }
    expect(thrown).toBeInstanceOf(GraphQLError);
    const error = thrown as GraphQLError;
    expect(error.message).toBe('Query is too complex: cost 11 is over the limit of 10');
    expect(error.extensions).toEqual({ code: 'QUERY_TOO_COMPLEX', cost: 11, maxCost: 10, http: { status: 400 } });
  });

  it('caps the cost it reports at the largest safe integer', () => {
    let doc = 'fragment F0 on Message { usage { promptTokens } }\n';
    for (let i = 1; i <= 70; i++) doc += `fragment F${i} on Message { ...F${i - 1} ...F${i - 1} }\n`;
    expect(() => assertCost(config, schema, parse(`{ me { messages(first: 1) { edges { node { ...F70 } } } } }\n${doc}`), {})).toThrow(
      expect.objectContaining({ extensions: expect.objectContaining({ cost: Number.MAX_SAFE_INTEGER }) }),
    );
  });
});
