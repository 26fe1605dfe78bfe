import { createHash, randomBytes } from 'node:crypto';
import { bearer, login, registerUser, STRONG_PASSWORD, uniqueEmail, type Registered } from '../helpers/auth';
import { acknowledgedWs, assemble, authedWs, createConversation, sendMessage, streamReply } from '../helpers/chat';
import { gql, sql, useTestServer } from '../helpers/server';
import { upload } from '../helpers/uploads';

const ADMIN = { email: uniqueEmail('keyadmin'), password: STRONG_PASSWORD };
const KEY_FIELDS = 'id name prefix createdAt lastUsedAt expiresAt';

describe('API keys', () => {
  const t = useTestServer({ env: { BOOTSTRAP_ADMIN_EMAIL: ADMIN.email, BOOTSTRAP_ADMIN_PASSWORD: ADMIN.password, ECHO_TOKEN_DELAY_MS: '5' } });

  async function createKey(token: string, name = 'integration', expiresAt?: string) {
    return gql(
      t.graphqlUrl,
      `mutation K($n: String!, $e: DateTime) { createApiKey(name: $n, expiresAt: $e) { secret apiKey { ${KEY_FIELDS} } } }`,
      { n: name, e: expiresAt },
      bearer(token),
    );
  }

  async function newKey(user: Registered, name = 'integration'): Promise<{ id: string; secret: string }> {
    const res = await createKey(user.accessToken, name);
    if (res.body.errors) throw new Error(JSON.stringify(res.body.errors));
    return { id: res.body.data.createApiKey.apiKey.id, secret: res.body.data.createApiKey.secret };
  }

  async function auditRows(action: string, where = ''): Promise<any[]> {
    await t.server.services.audit.flush();
    return sql(t, `select actor_id, resource_id, outcome, metadata from audit_event where action = ? ${where} order by seq`, [action]);
  }

  it('creates a key whose secret is shown once and stored only as its SHA-256, with a display prefix', async () => {
    const user = await registerUser(t.graphqlUrl);
    const res = await createKey(user.accessToken, 'CI bot');
    expect(res.body.errors).toBeUndefined();
    const { secret, apiKey } = res.body.data.createApiKey;
    expect(secret).toMatch(/^pk_[A-Za-z0-9_-]{43,}$/);
    expect(apiKey).toMatchObject({ name: 'CI bot', lastUsedAt: null });
    expect(secret.startsWith(apiKey.prefix)).toBe(true);
    expect(apiKey.prefix.length).toBeLessThan(16);
    // Default expiry: about a year away.
    expect(new Date(apiKey.expiresAt).getTime()).toBeGreaterThan(Date.now() + 360 * 86_400_000);

    const rows = await sql(t, 'select * from api_key where id = ?', [apiKey.id]);
    expect(rows).toHaveLength(1);
    expect(JSON.stringify(rows[0])).not.toContain(secret);
    expect(JSON.stringify(rows[0])).not.toContain(secret.slice(3));
    expect(rows[0].hash).toBe(createHash('sha256').update(secret).digest('hex'));

    const listed = await gql(t.graphqlUrl, `{ myApiKeys { ${KEY_FIELDS} } }`, undefined, bearer(user.accessToken));
    expect(listed.body.data.myApiKeys).toEqual([apiKey]);
    expect(JSON.stringify(listed.body)).not.toContain(secret);

    const created = await auditRows('auth.api_key.create', `and resource_id = '${apiKey.id}'`);
    expect(created).toHaveLength(1);
    expect(created[0]).toMatchObject({ actor_id: user.userId, outcome: 'SUCCESS' });
    expect(JSON.stringify(created[0])).not.toContain(secret);
  });

  it('acts as its owner for chat over HTTP and WebSocket, and for uploads', async () => {
    const user = await registerUser(t.graphqlUrl);
    const key = await newKey(user);
    const me = await gql(t.graphqlUrl, '{ me { id } }', undefined, bearer(key.secret));
    expect(me.body.data.me.id).toBe(user.userId);

    const conversationId = await createConversation(t.graphqlUrl, key.secret, { title: 'from a key' });
    const sent = await sendMessage(t.graphqlUrl, key.secret, conversationId, 'hello from the integration');
    expect(sent.body.errors).toBeUndefined();
    const client = authedWs(t.wsUrl, key.secret);
    try {
      const events = await streamReply(client, sent.body.data.sendMessage.assistantMessage.id);
      expect(assemble(events)).toBe('Echo: hello from the integration');
    } finally {
      await client.dispose();
    }
    // The owner's own session sees the key's conversation: same account.
    const listed = await gql(t.graphqlUrl, '{ conversations { edges { node { id } } } }', undefined, bearer(user.accessToken));
    expect(listed.body.data.conversations.edges.map((e: any) => e.node.id)).toContain(conversationId);

    const file = await upload(t.url, key.secret, Buffer.from('notes for the model\n'), 'notes.txt', 'text/plain');
    expect(file.status).toBe(201);

    const [row] = await sql(t, 'select last_used_at from api_key where id = ?', [key.id]);
    expect(row.last_used_at).not.toBeNull();
    // The secret went through request logs, socket logs and the upload route: no line holds it.
    expect(t.logs.raw.length).toBeGreaterThan(0);
    expect(t.logs.raw.filter((line) => line.includes(key.secret.slice(3)))).toEqual([]);
  });

  it('is refused for key, password, session, export and account operations, and every refusal is audited (tallied)', async () => {
    const user = await registerUser(t.graphqlUrl);
    const key = await newKey(user);
    const refused = [
      ['mutation { createApiKey(name: "again") { secret } }', 'Mutation.createApiKey'],
      ['{ myApiKeys { id } }', 'Query.myApiKeys'],
      [`mutation { revokeApiKey(id: "${key.id}") }`, 'Mutation.revokeApiKey'],
      [`mutation { changePassword(currentPassword: "${STRONG_PASSWORD}", newPassword: "another long passphrase 77") }`, 'Mutation.changePassword'],
      [`mutation { deleteMyAccount(password: "${STRONG_PASSWORD}") }`, 'Mutation.deleteMyAccount'],
      ['mutation { exportMyData }', 'Mutation.exportMyData'],
      ['{ mySessions { id } }', 'Query.mySessions'],
      ['mutation { logoutAll }', 'Mutation.logoutAll'],
    ];
    for (const [query] of refused) {
      const res = await gql(t.graphqlUrl, query, undefined, bearer(key.secret));
      expect({ query, code: res.body.errors?.[0]?.extensions?.code }).toEqual({ query, code: 'FORBIDDEN' });
    }
    // Nothing happened: the password, the account and the key are as they were.
    expect((await login(t.graphqlUrl, user.email, STRONG_PASSWORD)).body.errors).toBeUndefined();
    expect(await sql(t, 'select id from api_key where user_id = ?', [user.userId])).toHaveLength(1);

    const rows = await auditRows('auth.api_key.refused', `and resource_id = '${key.id}'`);
    expect(rows.map((r) => r.metadata.operation).sort()).toEqual(refused.map(([, op]) => op).sort());
    for (const r of rows) expect(r).toMatchObject({ actor_id: user.userId, outcome: 'DENIED', metadata: { reason: 'scope', count: 1 } });
  });

  it("is never an admin: an ADMIN's key is refused admin operations that the admin's session may run", async () => {
    const admin = await login(t.graphqlUrl, ADMIN.email, ADMIN.password);
    const adminToken = admin.body.data.login.accessToken;
    const key = await createKey(adminToken, 'admin tooling');
    const secret = key.body.data.createApiKey.secret;
    const query = '{ users { edges { node { id } } } }';
    expect((await gql(t.graphqlUrl, query, undefined, bearer(adminToken))).body.errors).toBeUndefined();
    const byKey = await gql(t.graphqlUrl, query, undefined, bearer(secret));
    expect(byKey.body.errors[0].extensions.code).toBe('FORBIDDEN');
    const audit = await gql(t.graphqlUrl, '{ auditEvents(first: 1) { edges { node { id } } } }', undefined, bearer(secret));
    expect(audit.body.errors[0].extensions.code).toBe('FORBIDDEN');
  });

  it('is revoked at once: HTTP refuses it and an open socket closes with 4403; another user cannot revoke it', async () => {
    const user = await registerUser(t.graphqlUrl);
    const other = await registerUser(t.graphqlUrl);
    const key = await newKey(user);
    const { closed } = await acknowledgedWs(t.wsUrl, key.secret);

    const foreign = await gql(t.graphqlUrl, 'mutation R($id: ID!) { revokeApiKey(id: $id) }', { id: key.id }, bearer(other.accessToken));
    expect(foreign.body.errors[0].extensions.code).toBe('NOT_FOUND');
    expect((await gql(t.graphqlUrl, '{ conversations { edges { cursor } } }', undefined, bearer(key.secret))).body.errors).toBeUndefined();

    const res = await gql(t.graphqlUrl, 'mutation R($id: ID!) { revokeApiKey(id: $id) }', { id: key.id }, bearer(user.accessToken));
    expect(res.body.data.revokeApiKey).toBe(true);
    expect(await closed).toBe(4403);
    const after = await gql(t.graphqlUrl, '{ conversations { edges { cursor } } }', undefined, bearer(key.secret));
    expect(after.body.errors[0].extensions.code).toBe('UNAUTHENTICATED');
    const listed = await gql(t.graphqlUrl, '{ myApiKeys { id } }', undefined, bearer(user.accessToken));
    expect(listed.body.data.myApiKeys).toEqual([]);
    expect(await auditRows('auth.api_key.revoke', `and resource_id = '${key.id}'`)).toEqual([expect.objectContaining({ actor_id: user.userId })]);
  });

  it('stops working once expired, and while its owner is locked (an open socket closes)', async () => {
    const user = await registerUser(t.graphqlUrl);
    const expiring = await newKey(user, 'short-lived');
    await sql(t, "update api_key set expires_at = now() - interval '1 second' where id = ?", [expiring.id]);
    const expired = await gql(t.graphqlUrl, '{ conversations { edges { cursor } } }', undefined, bearer(expiring.secret));
    expect(expired.body.errors[0].extensions.code).toBe('UNAUTHENTICATED');
    expect(expired.body.errors[0].extensions.reason).toBe('TOKEN_INVALID');

    const key = await newKey(user, 'locked owner');
    const { client: keySocket, closed } = await acknowledgedWs(t.wsUrl, key.secret);
    const closeReason = new Promise<string>((resolve) => keySocket.on('closed', (e) => resolve((e as { reason: string }).reason)));
    const admin = (await login(t.graphqlUrl, ADMIN.email, ADMIN.password)).body.data.login.accessToken;
    const lock = await gql(t.graphqlUrl, 'mutation L($u: ID!) { lockUser(userId: $u, minutes: 5, reason: "abuse") { id } }', { u: user.userId }, bearer(admin));
    expect(lock.body.errors).toBeUndefined();
    expect(await closed).toBe(4403);
    expect(await closeReason).toBe('account_locked');
    const locked = await gql(t.graphqlUrl, '{ conversations { edges { cursor } } }', undefined, bearer(key.secret));
    expect(locked.body.errors[0].extensions.code).toBe('UNAUTHENTICATED');
    await gql(t.graphqlUrl, 'mutation U($u: ID!) { unlockUser(userId: $u) { id } }', { u: user.userId }, bearer(admin));
    const unlocked = await gql(t.graphqlUrl, '{ conversations { edges { cursor } } }', undefined, bearer(key.secret));
    expect(unlocked.body.errors).toBeUndefined();

    const reasons = (await auditRows('auth.api_key.refused', `and resource_id in ('${expiring.id}', '${key.id}')`)).map((r) => r.metadata.reason);
    expect(reasons.sort()).toEqual(['expired', 'owner_locked']);
  });

  it('a loop of bad keys writes one tallied refusal row, not one per attempt', async () => {
    const before = await auditRows('auth.api_key.refused', "and metadata->>'reason' = 'unknown'");
    const attempts = 40;
    for (let i = 0; i < attempts; i++) {
      const res = await gql(t.graphqlUrl, '{ conversations { edges { cursor } } }', undefined, bearer(`pk_${randomBytes(32).toString('base64url')}`));
      expect(res.body.errors[0].extensions.code).toBe('UNAUTHENTICATED');
    }
    const after = await auditRows('auth.api_key.refused', "and metadata->>'reason' = 'unknown'");
    expect(after.length - before.length).toBe(1);
    expect(after[after.length - 1].metadata.count).toBe(attempts);
  });

  it('validates name and expiry, caps live keys per user, and is only created from a signed-in session', async () => {
    const user = await registerUser(t.graphqlUrl);
    const code = async (name: string, expiresAt?: string) => (await createKey(user.accessToken, name, expiresAt)).body.errors?.[0]?.extensions?.code;
    expect(await code('')).toBe('BAD_USER_INPUT');
    expect(await code('x'.repeat(65))).toBe('BAD_USER_INPUT');
    expect(await code('bad\u0000name')).toBe('BAD_USER_INPUT');
    expect(await code('past', new Date(Date.now() - 60_000).toISOString())).toBe('BAD_USER_INPUT');
    expect(await code('far', new Date(Date.now() + 400 * 86_400_000).toISOString())).toBe('BAD_USER_INPUT');
    const anonymous = await gql(t.graphqlUrl, 'mutation { createApiKey(name: "anon") { secret } }');
    expect(anonymous.body.errors[0].extensions.code).toBe('UNAUTHENTICATED');

    const week = new Date(Date.now() + 7 * 86_400_000).toISOString();
    const first = await createKey(user.accessToken, 'weekly', week);
    expect(first.body.data.createApiKey.apiKey.expiresAt).toBe(week);
    for (let i = 1; i < 20; i++) expect((await createKey(user.accessToken, `key ${i}`)).body.errors).toBeUndefined();
    expect(await code('one too many')).toBe('BAD_USER_INPUT');
    expect(await sql(t, 'select id from api_key where user_id = ?', [user.userId])).toHaveLength(20);
  });
});
