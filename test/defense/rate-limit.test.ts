import { buildAppSchema } from '../../src/schema';
import { RATE_LIMITED_FIELDS } from '../../src/graphql/rate-limit';
import fs from 'node:fs';
import { REDIS_SERVER, describeWith } from '../helpers/prereq';
import { startTwoInstances } from '../helpers/redis';
import { gql, sql, useTestServer, type TestServer } from '../helpers/server';

const CAPTCHA = '{ captchaChallenge { provider } }';

describe('rate limits', () => {
  const t = useTestServer({ env: { RATE_LIMIT_SCALE: '1', RATE_LIMIT_CAPTCHA: '3/1', RATE_LIMIT_REGISTER: '2/3600' } });

  it('allow the limit, refuse one past it with RATE_LIMITED and retryAfterSeconds, and reset after the window', async () => {
    for (let i = 0; i < 3; i++) expect((await gql(t.graphqlUrl, CAPTCHA)).body.errors).toBeUndefined();
    const limited = await gql(t.graphqlUrl, CAPTCHA);
    expect(limited.body.errors[0].extensions.code).toBe('RATE_LIMITED');
    expect(limited.body.errors[0].extensions.retryAfterSeconds).toBeGreaterThanOrEqual(1);
    expect(limited.body.errors[0].extensions.retryAfterSeconds).toBeLessThanOrEqual(2);
    // The window is one second: ask again until it has passed (refusals do not extend it) instead of sleeping through it.
    const refusedAt = Date.now();
    let after = await gql(t.graphqlUrl, CAPTCHA);
    while (after.body.errors?.[0]?.extensions.code === 'RATE_LIMITED' && Date.now() - refusedAt < 3000) {
      await new Promise((r) => setTimeout(r, 100)); // a poll, not a wait for the window
      after = await gql(t.graphqlUrl, CAPTCHA);
    }
    expect(after.body.errors).toBeUndefined();
  });

  it('record the refusals of a window as one security.rate_limited audit event with their count, and a security log line', async () => {
    for (let i = 0; i < 4; i++) await gql(t.graphqlUrl, 'mutation { register(input: { email: "x@example.com", password: "p", captcha: "" }) { accessToken } }');
    await t.server.services.audit.flush(); // the window (an hour) would otherwise close later
    const rows = await sql(t, `select * from audit_event where action = 'security.rate_limited' and resource_id = 'Mutation.register'`);
    expect(rows).toHaveLength(1); // issue 9 item 5: one event per key and window, not one per refusal
    expect(rows[0].metadata.count).toBe(2);
    expect(rows[0].outcome).toBe('DENIED');
    await t.logs.waitFor((l) => l.event === 'security.rate_limited' && l.security === true);
  });

  it('appear in schema.graphql as @rateLimit on the field', async () => {
    const sdl = fs.readFileSync('schema.graphql', 'utf8');
    expect(sdl).toMatch(/login\([\s\S]*?\): AuthPayload! @rateLimit\(limit: 10, duration: 60\)/);
    expect(sdl).toMatch(/captchaChallenge: CaptchaChallenge! @rateLimit\(limit: 30, duration: 60\)/);
  });
});

describeWith([REDIS_SERVER], 'rate limits across instances', () => {
  let pair: Awaited<ReturnType<typeof startTwoInstances>>;
  let a: TestServer;
  let b: TestServer;
  beforeAll(async () => {
    pair = await startTwoInstances({ RATE_LIMIT_SCALE: '1', RATE_LIMIT_CAPTCHA: '4/60' });
    ({ a, b } = pair);
  });
  afterAll(async () => {
    await pair?.close();
  });

  it('share one limit through Redis', async () => {
    const codes: (string | undefined)[] = [];
    for (let i = 0; i < 6; i++) {
      const server = i % 2 === 0 ? a : b;
      codes.push((await gql(server.graphqlUrl, CAPTCHA)).body.errors?.[0]?.extensions?.code);
    }
    expect(codes).toEqual([undefined, undefined, undefined, undefined, 'RATE_LIMITED', 'RATE_LIMITED']);
  });
});

describe('the rate-limited fields', () => {
  it('are exactly the fields carrying @rateLimit in the schema, so every one gets its configured, scaled limit', async () => {
    const schema = await buildAppSchema();
    const withDirective: string[] = [];
    for (const root of [schema.getQueryType(), schema.getMutationType(), schema.getSubscriptionType()]) {
      for (const field of Object.values(root?.getFields() ?? {})) {
        if (field.astNode?.directives?.some((d) => d.name.value === 'rateLimit')) withDirective.push(`${root!.name}.${field.name}`);
      }
    }
    expect(withDirective.sort()).toEqual(Object.keys(RATE_LIMITED_FIELDS).sort());
  });
});
