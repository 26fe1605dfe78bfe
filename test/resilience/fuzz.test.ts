import { randomBytes } from 'node:crypto';
import fc from 'fast-check';
import type { GraphQLSchema } from 'graphql';
import { bearer, registerUser, type Registered } from '../helpers/auth';
import { createConversation, sendMessage } from '../helpers/chat';
import { EXPECTED_CODES, LEAKS, argumentValues, operationFor, publishedSchema, randomDocument } from '../helpers/fuzz';
import { startTestServer, type TestServer } from '../helpers/server';

/** Fixed so a failure replays; fast-check prints the seed and the shrunk counterexample. */
const SEED = 20261201;
const RUNS_PER_MUTATION = 12;
const RUNS_OF_DOCUMENTS = 800;
const RUNS_OF_BYTES = 300;

interface Sent {
  status: number;
  text: string;
}

async function post(t: TestServer, body: string, token?: string): Promise<Sent> {
  const res = await fetch(t.graphqlUrl, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(token ? bearer(token) : {}) },
    body,
  });
  return { status: res.status, text: await res.text() };
}

/** The property every response must have; throws what broke it (fast-check then shrinks the input). */
function checkResponse(sent: Sent, t: TestServer): void {
  if (sent.status >= 500) throw new Error(`status ${sent.status}: ${sent.text.slice(0, 300)}`);
  const leak = LEAKS.exec(sent.text);
  if (leak) throw new Error(`the response leaks "${leak[0]}": ${sent.text.slice(0, 300)}; last unexpected error logged: ${lastUnexpected(t)}`);
  let body: { errors?: { message?: unknown; extensions?: { code?: unknown } }[] };
  try {
    body = JSON.parse(sent.text) as typeof body;
  } catch {
    throw new Error(`not JSON (status ${sent.status}): ${sent.text.slice(0, 300)}`);
  }
  for (const e of body.errors ?? []) {
    const code = String(e.extensions?.code);
    if (!EXPECTED_CODES.has(code)) throw new Error(`error code ${code}: ${String(e.message)}; logged: ${lastUnexpected(t)}`);
  }
}

/** The real error behind the last INTERNAL_SERVER_ERROR, from the server's log (never sent to the client). */
function lastUnexpected(t: TestServer): string {
  const line = [...t.logs.lines].reverse().find((l) => l.message === 'unexpected error');
  return line ? JSON.stringify(line).slice(0, 600) : 'none';
}

async function readyz(t: TestServer): Promise<number> {
  return (await fetch(`${t.url}/readyz`)).status;
}

describe('fuzzing every mutation and random documents (prod mode)', () => {
  let t: TestServer;
  let schema: GraphQLSchema;
  let user: Registered;
  const ids: string[] = [];

  /** A signed-in user, registered again when a fuzzed mutation ended the session (logout, deleteMyAccount). */
  async function token(): Promise<string> {
    const me = await post(t, JSON.stringify({ query: '{ me { id } }' }), user.accessToken);
    if (!me.text.includes(user.userId)) user = await registerUser(t.graphqlUrl);
    return user.accessToken;
  }

  beforeAll(async () => {
    t = await startTestServer({
      env: { APP_ENV: 'prod', SECRET_KEY: randomBytes(48).toString('base64url'), CORS_ORIGINS: 'https://app.example.com', RATE_LIMIT_SCALE: '1000' },
    });
    schema = publishedSchema();
    user = await registerUser(t.graphqlUrl);
    // Ids of the caller's own things, so fuzzed inputs also reach past "not found".
    const conv = await createConversation(t.graphqlUrl, user.accessToken);
    const sent = (await sendMessage(t.graphqlUrl, user.accessToken, conv, 'seed')).body.data.sendMessage;
    ids.push(conv, sent.userMessage.id, sent.assistantMessage.id, user.userId);
  });
  afterAll(async () => {
    await t?.close();
  });

  it('answers every mutation with fuzzed variables with a coded error or data, never a 500, stack, path or SQL', async () => {
    const mutation = schema.getMutationType()!;
    for (const field of Object.values(mutation.getFields())) {
      const query = operationFor('mutation', mutation, field.name);
      const variables = argumentValues(field.args, ids);
      await fc.assert(
        fc.asyncProperty(variables, async (v) => checkResponse(await post(t, JSON.stringify({ query, variables: v }), await token()), t)),
        { seed: SEED, numRuns: RUNS_PER_MUTATION, endOnFailure: true },
      );
    }
    expect(await readyz(t)).toBe(200);
  });

  it('answers random documents built from the schema (aliases, fragments, variables, nesting) with coded errors', async () => {
    await fc.assert(
      fc.asyncProperty(randomDocument(schema, ids), fc.boolean(), async (doc, signedIn) =>
        checkResponse(await post(t, JSON.stringify(doc), signedIn ? await token() : undefined), t),
      ),
      { seed: SEED, numRuns: RUNS_OF_DOCUMENTS, endOnFailure: true },
    );
    expect(await readyz(t)).toBe(200);
  });

  it('answers random bytes, as a document and as the whole body, with a clean refusal', async () => {
    const asDocument = fc.oneof(fc.string({ unit: 'binary', maxLength: 200 }), fc.string({ maxLength: 200 })).map((q) => JSON.stringify({ query: q }));
    const asBody = fc.oneof(
      fc.uint8Array({ maxLength: 200 }).map((b) => Buffer.from(b).toString('latin1')),
      fc.jsonValue({ maxDepth: 3 }).map((v) => JSON.stringify(v)),
      fc.jsonValue({ maxDepth: 2 }).map((v) => JSON.stringify({ query: v, variables: v, operationName: v, extensions: v })),
    );
    await fc.assert(
      fc.asyncProperty(fc.oneof(asDocument, asBody), async (body) => {
        const sent = await post(t, body, user.accessToken);
        if (sent.status >= 500) throw new Error(`status ${sent.status}: ${sent.text.slice(0, 300)}`);
        const leak = LEAKS.exec(sent.text);
        if (leak) throw new Error(`the response leaks "${leak[0]}": ${sent.text.slice(0, 300)}`);
      }),
      { seed: SEED, numRuns: RUNS_OF_BYTES, endOnFailure: true },
    );
    expect(await readyz(t)).toBe(200);
  });
});
