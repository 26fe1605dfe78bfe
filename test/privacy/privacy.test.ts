import { bearer, login, me, registerUser } from '../helpers/auth';
import { acknowledgedWs, authedWs, createConversation, sendMessage, streamReply } from '../helpers/chat';
import { gql, sql, useTestServer } from '../helpers/server';

describe('privacy: export and erasure', () => {
  const t = useTestServer({ env: { ECHO_TOKEN_DELAY_MS: '30' } });

  it('exportMyData returns the profile, sessions, conversations with messages and audit events, and is audited', async () => {
    const u = await registerUser(t.graphqlUrl, { displayName: 'Exporter' });
    const conv = await createConversation(t.graphqlUrl, u.accessToken, { title: 'mine' });
    const { assistantMessage } = (await sendMessage(t.graphqlUrl, u.accessToken, conv, 'export me')).body.data.sendMessage;
    const ws = authedWs(t.wsUrl, u.accessToken);
    await streamReply(ws, assistantMessage.id);
    await ws.dispose();
    const res = await gql(t.graphqlUrl, 'mutation { exportMyData }', undefined, bearer(u.accessToken));
    const data = res.body.data.exportMyData;
    expect(data.user).toMatchObject({ id: u.userId, email: u.email, displayName: 'Exporter', role: 'USER' });
    expect(data.sessions).toHaveLength(1);
    expect(data.conversations[0]).toMatchObject({ id: conv, title: 'mine' });
    expect(data.conversations[0].messages.map((m: any) => m.content)).toEqual(['export me', 'Echo: export me']);
    expect(data.auditEvents.map((e: any) => e.action)).toEqual(expect.arrayContaining(['auth.register', 'chat.conversation.create', 'chat.message.create']));
    expect(JSON.stringify(data)).not.toMatch(/password_hash|passwordHash|\$argon2/);
    expect(await sql(t, `select id from audit_event where action = 'privacy.export' and actor_id = ?`, [u.userId])).toHaveLength(1);
    expect((await gql(t.graphqlUrl, 'mutation { exportMyData }')).body.errors[0].extensions.code).toBe('UNAUTHENTICATED');
  });

  it('deleteMyAccount refuses a wrong password and deletes nothing', async () => {
    const u = await registerUser(t.graphqlUrl);
    const res = await gql(t.graphqlUrl, 'mutation { deleteMyAccount(password: "not my password at all") }', undefined, bearer(u.accessToken));
    expect(res.body.errors[0].extensions.code).toBe('BAD_USER_INPUT');
    expect((await me(t.graphqlUrl, u.accessToken)).body.data.me.id).toBe(u.userId);
  });

  it('leaves nothing about the person but audit events naming them by id, and cuts their live connections', async () => {
    const u = await registerUser(t.graphqlUrl);
    await login(t.graphqlUrl, u.email, 'one wrong password'); // a login-failure record keyed by the email's hash
    const conv = await createConversation(t.graphqlUrl, u.accessToken);
    const long = Array.from({ length: 60 }, (_, i) => `w${i}`).join(' ');
    const { assistantMessage } = (await sendMessage(t.graphqlUrl, u.accessToken, conv, long)).body.data.sendMessage;
    const { client: ws, closed } = await acknowledgedWs(t.wsUrl, u.accessToken);
    const res = await gql(t.graphqlUrl, 'mutation D($p: String!) { deleteMyAccount(password: $p) }', { p: u.password }, bearer(u.accessToken));
    expect(res.body.data.deleteMyAccount).toBe(true);
    expect(await closed).toBe(4403);
    await ws.dispose();
    for (const [table, column] of [
      ['user', 'id'],
      ['session', 'user_id'],
      ['conversation', 'owner_id'],
    ]) {
      expect(await sql(t, `select 1 from "${table}" where ${column} = ?`, [u.userId])).toHaveLength(0);
    }
    expect(await sql(t, 'select 1 from message where conversation_id = ? or id = ?', [conv, assistantMessage.id])).toHaveLength(0);
    expect(await sql(t, `select 1 from refresh_token r where not exists (select 1 from session s where s.id = r.session_id)`)).toHaveLength(0);
    const everything = JSON.stringify(await sql(t, 'select * from audit_event')) + JSON.stringify(await sql(t, 'select * from login_throttle'));
    expect(everything).not.toContain(u.email);
    expect(everything).not.toContain('w10 w11'); // no message text anywhere
    expect(await sql(t, `select 1 from login_throttle where account_key = encode(sha256(convert_to('login:' || ?, 'UTF8')), 'hex')`, [u.email])).toHaveLength(
      0,
    );
    const remaining = await sql(t, `select action from audit_event where actor_id = ? order by seq`, [u.userId]);
    expect(remaining.map((r) => r.action)).toContain('privacy.account_delete');
    expect((await me(t.graphqlUrl, u.accessToken)).body.errors[0].extensions.code).toBe('UNAUTHENTICATED');
    expect((await login(t.graphqlUrl, u.email, u.password)).body.errors[0].message).toBe('Invalid email or password');
  });
});

describe('conversation retention', () => {
  const t = useTestServer({ env: { CONVERSATION_RETENTION_DAYS: '30', RETENTION_SWEEP_SECONDS: '1' } });

  it('hard-deletes conversations not updated for CONVERSATION_RETENTION_DAYS, keeping recent ones', async () => {
    const u = await registerUser(t.graphqlUrl);
    const old = await createConversation(t.graphqlUrl, u.accessToken);
    const recent = await createConversation(t.graphqlUrl, u.accessToken);
    const { assistantMessage } = (await sendMessage(t.graphqlUrl, u.accessToken, old, 'an old message')).body.data.sendMessage;
    const client = authedWs(t.wsUrl, u.accessToken);
    await streamReply(client, assistantMessage.id); // the reply is done: nothing touches the conversation after the backdating
    await client.dispose();
    await sql(t, `update conversation set updated_at = now() - interval '31 days' where id = ?`, [old]);
    const deadline = Date.now() + 5000;
    while ((await sql(t, 'select 1 from conversation where id = ?', [old])).length > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 200));
    expect(await sql(t, 'select 1 from conversation where id = ?', [old])).toHaveLength(0);
    expect(await sql(t, 'select 1 from message where conversation_id = ?', [old])).toHaveLength(0);
    expect(await sql(t, 'select 1 from conversation where id = ?', [recent])).toHaveLength(1);
    const [event] = await sql(t, `select metadata from audit_event where action = 'privacy.retention'`);
    expect(event.metadata).toMatchObject({ deleted: 1, days: 30 });
  });
});
