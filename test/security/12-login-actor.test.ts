import { AuditOutcome } from '../../src/audit/audit-event.entity';
import { AUTH_FIELDS, bearer, registerUser, solveCaptcha } from '../helpers/auth';
import { gql, sql, useTestServer } from '../helpers/server';

// Issue 9 item 12: a failed login named the target account as its actor, so anyone could
// forge "user X failed to log in" records and the victim's export carried the attacker's IPs.
const ATTACKER_IP = '203.0.113.66';
const OLD_ATTACKER_IP = '198.51.100.7';

describe('failed logins are not attributed to their target (issue 9 item 12)', () => {
  const t = useTestServer({ env: { TRUST_PROXY: 'true' } });

  it('records an attempt on a victim with no actor and the victim as resource, and keeps it out of their export', async () => {
    const victim = await registerUser(t.graphqlUrl);
    // The attack: failed logins for the victim's email, from the attacker's address.
    for (let i = 0; i < 2; i++) {
      const res = await gql(
        t.graphqlUrl,
        `mutation L($input: LoginInput!) { login(input: $input) { ${AUTH_FIELDS} } }`,
        {
          input: { email: victim.email, password: 'not the password at all', captcha: await solveCaptcha(t.graphqlUrl) },
        },
        { 'x-forwarded-for': ATTACKER_IP },
      );
      expect(res.body.errors[0].extensions.code).toBe('UNAUTHENTICATED');
    }
    const rows = await sql(
      t,
      `select actor_id, actor_role, resource_type, resource_id, ip from audit_event where action = 'auth.login' and outcome = 'FAILURE' and ip = ?`,
      [ATTACKER_IP],
    );
    expect(rows).toEqual([
      { actor_id: null, actor_role: null, resource_type: 'user', resource_id: victim.userId, ip: ATTACKER_IP },
      { actor_id: null, actor_role: null, resource_type: 'user', resource_id: victim.userId, ip: ATTACKER_IP },
    ]);
    expect(await sql(t, 'select seq from audit_event where actor_id = ? and ip = ?', [victim.userId, ATTACKER_IP])).toEqual([]);

    // A record in the old format (actor = victim), as databases written before the fix hold.
    await t.server.services.audit.append({
      action: 'auth.login',
      outcome: AuditOutcome.FAILURE,
      actorId: victim.userId,
      resourceType: 'user',
      resourceId: victim.userId,
      ip: OLD_ATTACKER_IP,
      metadata: { reason: 'bad_credentials' },
    });

    const exported = await gql(t.graphqlUrl, 'mutation { exportMyData }', {}, bearer(victim.accessToken));
    expect(exported.body.errors).toBeUndefined();
    const text = JSON.stringify(exported.body.data.exportMyData);
    expect(text).not.toContain(ATTACKER_IP);
    expect(text).not.toContain(OLD_ATTACKER_IP);
    const events = exported.body.data.exportMyData.auditEvents;
    expect(Array.isArray(events)).toBe(true);
    // Their own actions are there: registering (and nothing attributed to them by someone else).
    expect(events.map((e: { action: string }) => e.action)).toContain('auth.register');
    expect(events.filter((e: { action: string; outcome: string }) => e.action === 'auth.login' && e.outcome !== 'SUCCESS')).toEqual([]);
  });
});
