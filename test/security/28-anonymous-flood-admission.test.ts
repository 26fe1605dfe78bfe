import { DEFAULT_LANE_LIMITS } from '../../src/http/admission';
import { bearer, registerUser } from '../helpers/auth';
import { SlowFixtureResolver, fixtureCalls } from '../helpers/fixture.resolver';
import { gql, useTestServer } from '../helpers/server';

/**
 * Found by the issue-12 benchmark: 200 clients flooding `login` with bad captchas (each from a
 * new address, as a botnet) shared the event loop fairly with everyone, so a signed-in user's
 * `me` waited behind hundreds of them (p99 in seconds). Requests no valid session token vouches
 * for now run a few at a time in their own lane (`src/http/admission.ts`), the rest waiting
 * with their bodies unread; a signed-in user's request never queues behind them.
 */
describe('an anonymous flood cannot queue signed-in users behind it', () => {
  const t = useTestServer({ extraResolvers: [SlowFixtureResolver] });

  async function until(cond: () => boolean): Promise<void> {
    while (!cond()) await new Promise((r) => setTimeout(r, 10));
  }

  it('runs anonymous requests a few at a time, serves every one in turn, and lets a signed-in request past the queue', async () => {
    const user = await registerUser(t.graphqlUrl);
    const cap = DEFAULT_LANE_LIMITS.running;
    const started = fixtureCalls.slowStarted;
    let finished = 0;
    const flood = Array.from({ length: cap + 12 }, () =>
      gql(t.graphqlUrl, '{ fixtureSlow(ms: 1500) }').then((res) => {
        finished += 1;
        return res;
      }),
    );
    await until(() => fixtureCalls.slowStarted - started >= cap);
    expect(fixtureCalls.slowStarted - started).toBe(cap);

    // A signed-in request answers while the anonymous lane is full and nothing in it has finished.
    const me = await gql(t.graphqlUrl, '{ me { id } }', undefined, bearer(user.accessToken));
    expect(me.body.data).toEqual({ me: { id: user.userId } });
    expect(finished).toBe(0);
    expect(fixtureCalls.slowStarted - started).toBe(cap);

    // A made-up token does not jump the queue: it waits in the anonymous lane like the rest.
    let forgedAnsweredAfter = -1;
    const forged = gql(t.graphqlUrl, '{ __typename }', undefined, bearer('not.a.token')).then((res) => {
      forgedAnsweredAfter = finished;
      return res;
    });

    const results = await Promise.all(flood);
    for (const r of results) expect(r.body.data).toEqual({ fixtureSlow: 'finished' });
    expect(fixtureCalls.slowStarted - started).toBe(cap + 12);
    await forged;
    expect(forgedAnsweredAfter).toBeGreaterThanOrEqual(cap);
  });
});
