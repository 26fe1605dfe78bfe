import type { Browser, Dialog, HTTPRequest, Page } from 'puppeteer-core';
import type { Socket } from 'node:net';
import { login, bearer, registerUser, uniqueEmail } from '../helpers/auth';
import { launchBrowser, newContext, pageErrors, shot, startWebServer, type PageErrors } from '../helpers/browser';
import { CHROMIUM, WEB_BUILD, describeWith } from '../helpers/prereq';
import { gql, type TestServer } from '../helpers/server';

/**
 * The admin and auditor screens of the real built client (web/src/admin), in Chromium against a
 * real server: an admin signs in through the UI and follows the audit trail live while a second
 * browser context (another person) registers, signs in and fails a login; the admin filters the
 * log, verifies the chain, locks and unlocks that person, makes them an AUDITOR, and reads the
 * security summary, whose chart is checked against the API.
 */

// The page-side callbacks below run in the browser. The root tsconfig has no DOM lib (its globals
// clash with Node's), so these module-local declarations give them the few shapes they use.
interface DomNode {
  readonly dataset: Record<string, string | undefined>;
  readonly textContent: string | null;
  value: string;
  querySelector(selector: string): DomNode | null;
  getAttribute(name: string): string | null;
  dispatchEvent(event: Event): boolean;
}
declare const document: {
  querySelector(selector: string): DomNode | null;
  querySelectorAll(selector: string): Iterable<DomNode> & { readonly length: number; readonly [index: number]: DomNode };
};
declare const window: { notReloaded?: boolean };
declare const HTMLInputElement: { prototype: object };

const ADMIN = { email: 'admin@example.com', password: 'Correct-Horse-Battery-9' };
const USER_PASSWORD = 'Another-Strong-Pass-77';

interface RowData {
  seq: number;
  action: string;
  outcome: string;
  actorId: string;
  resourceType: string;
  resourceId: string;
  ip: string;
}

/** The rows of an audit table (`audit-table` or `tail-table`) as the page shows them. */
function rows(page: Page, table: 'audit-table' | 'tail-table'): Promise<RowData[]> {
  return page.$$eval(`[data-testid=${table}] [data-testid=audit-row]`, (trs) =>
    trs.map((tr) => {
      const d = (tr as DomNode).dataset;
      return {
        seq: Number(d.seq),
        action: d.action ?? '',
        outcome: d.outcome ?? '',
        actorId: d.actorId ?? '',
        resourceType: d.resourceType ?? '',
        resourceId: d.resourceId ?? '',
        ip: d.ip ?? '',
      };
    }),
  );
}

/** Sets an input's value the way typing does, so React sees it (also for datetime-local inputs). */
async function setValue(page: Page, selector: string, value: string): Promise<void> {
  await page.$eval(
    selector,
    (el, v) => {
      const input = el as DomNode;
      Object.getOwnPropertyDescriptor(HTMLInputElement.prototype, 'value')!.set!.call(input, v);
      input.dispatchEvent(new Event('input', { bubbles: true }));
    },
    value,
  );
}

/** Signs in (or registers) through the app's own form, the widget solving the captcha. */
async function submitAuth(page: Page, email: string, password: string, mode: 'login' | 'register' = 'login'): Promise<void> {
  await page.waitForSelector('form[aria-label="Sign in"], form[aria-label="Create account"]');
  if (mode === 'register') {
    await page.click('button[role=tab]:nth-of-type(2)');
    await page.waitForSelector('form[aria-label="Create account"]');
  } else if (await page.$('form[aria-label="Create account"]')) {
    await page.click('button[role=tab]:nth-of-type(1)');
    await page.waitForSelector('form[aria-label="Sign in"]');
  }
  await page.locator('input[name=email]').fill(email);
  await page.locator('input[name=password]').fill(password);
  await page.waitForSelector('button[name=submit]:not([disabled])');
  await page.click('button[name=submit]');
}

async function signedIn(page: Page): Promise<string> {
  await page.waitForSelector('[data-testid=whoami]');
  return page.$eval('[data-testid=whoami]', (el) => el.textContent ?? '');
}

/** The text of the sign-in form's error once it shows. */
async function authError(page: Page): Promise<string> {
  await page.waitForSelector('form p.error[role=alert]');
  return page.$eval('form p.error[role=alert]', (el) => el.textContent ?? '');
}

/** The user row of `email` in the Users tab, after filtering the list down to it. */
async function openUserRow(page: Page, url: string, email: string): Promise<string> {
  await page.goto(`${url}/#/admin/users`);
  await page.waitForSelector('[data-testid=users-page]');
  await page.locator('form[aria-label="Filter users"] input[name=emailContains]').fill(email);
  await page.click('form[aria-label="Filter users"] button[type=submit]');
  const row = `tr[data-testid=user-row][data-email="${email}"]`;
  await page.waitForFunction((sel) => document.querySelectorAll('tr[data-testid=user-row]').length === 1 && !!document.querySelector(sel), {}, row);
  return row;
}

/** The result line of a user row once it shows (a new one: the old is cleared when an action starts). */
async function rowResult(page: Page, row: string, expected: RegExp): Promise<string> {
  await page.waitForFunction(
    (sel, source) => new RegExp(source).test(document.querySelector(`${sel} [data-testid=user-result]`)?.textContent ?? ''),
    {},
    row,
    expected.source,
  );
  return page.$eval(`${row} [data-testid=user-result]`, (el) => el.textContent ?? '');
}

describeWith([CHROMIUM, WEB_BUILD], 'admin and auditor screens in a real browser', () => {
  let t: TestServer;
  let browser: Browser;
  let admin: Page;
  let person: Page;
  const errors: PageErrors[] = [];
  const email = uniqueEmail('person');
  let personId = '';
  let adminToken = '';
  /** The server's open WebSockets (their TCP connections), to drop them as a network failure would. */
  const sockets = new Set<Socket>();

  async function openPage(): Promise<Page> {
    const page = await (await newContext(browser)).newPage();
    await page.setViewport({ width: 1400, height: 1000 });
    errors.push(await pageErrors(page));
    return page;
  }

  /** Asks the API as the admin (a session of its own, signed in through the API). */
  async function api(query: string, variables?: Record<string, unknown>) {
    const res = await gql(t.graphqlUrl, query, variables, bearer(adminToken));
    expect(res.body.errors).toBeUndefined();
    return res.body.data;
  }

  beforeAll(async () => {
    t = await startWebServer({ env: { BOOTSTRAP_ADMIN_EMAIL: ADMIN.email, BOOTSTRAP_ADMIN_PASSWORD: ADMIN.password } });
    t.server.httpServer.on('upgrade', (_req, socket: Socket) => {
      sockets.add(socket);
      socket.once('close', () => sockets.delete(socket));
    });
    browser = await launchBrowser();
    admin = await openPage();
    person = await openPage();
    const res = await login(t.graphqlUrl, ADMIN.email, ADMIN.password);
    adminToken = res.body.data.login.accessToken;
  });
  afterAll(async () => {
    await browser?.close();
    await t?.close();
  });

  it("the admin's live tail shows another browser's register and sign-in as they happen, without a reload", async () => {
    await admin.goto(`${t.url}/`);
    await submitAuth(admin, ADMIN.email, ADMIN.password);
    expect(await signedIn(admin)).toContain('ADMIN');
    await admin.click('a[href="#/admin"]');
    await admin.waitForSelector('[data-testid=audit-page] [data-testid=audit-row]');
    await admin.evaluate(() => (window.notReloaded = true));
    await admin.click('input[name=liveTail]');
    await admin.waitForSelector('[data-testid=live-tail][data-live=true] [data-testid=tail-status]');

    await person.goto(`${t.url}/`);
    await submitAuth(person, email, USER_PASSWORD, 'register');
    expect(await signedIn(person)).toContain('USER');
    await person.click('header button::-p-text(Sign out)'); // then in again: an auth.login of its own
    await submitAuth(person, email, USER_PASSWORD);
    await signedIn(person);

    await admin.waitForSelector('[data-testid=tail-table] tr[data-action="auth.register"]');
    const registered = (await rows(admin, 'tail-table')).find((r) => r.action === 'auth.register')!;
    personId = registered.actorId;
    expect(personId).toMatch(/^[0-9a-f-]{36}$/);
    await admin.waitForSelector(`[data-testid=tail-table] tr[data-action="auth.login"][data-actor-id="${personId}"]`);
    const tail = await rows(admin, 'tail-table');
    // Newest first, each seq once, and everything newer than what the log showed when the tail opened.
    expect(tail.map((r) => r.seq)).toEqual([...new Set(tail.map((r) => r.seq))].sort((a, b) => b - a));
    const logNewest = Math.max(...(await rows(admin, 'audit-table')).map((r) => r.seq));
    expect(Math.min(...tail.map((r) => r.seq))).toBeGreaterThan(logNewest);
    expect(await admin.evaluate(() => window.notReloaded)).toBe(true);
    await shot(admin, 'admin-audit-live-tail');
  });

  it('filters narrow the log to a failed login from the other browser (action + outcome), and the tail to the same filter', async () => {
    await person.click('header button::-p-text(Sign out)');
    await submitAuth(person, email, 'not-the-password-1');
    expect(await authError(person)).toBe('Invalid email or password');
    await admin.waitForSelector(`[data-testid=tail-table] tr[data-action="auth.login"][data-outcome=FAILURE][data-resource-id="${personId}"]`);

    const before = await rows(admin, 'audit-table');
    expect(before.some((r) => r.outcome === 'SUCCESS')).toBe(true);
    await admin.locator('[data-testid=audit-filter] input[name=action]').fill('auth.login');
    await admin.select('[data-testid=audit-filter] select[name=outcome]', 'FAILURE');
    await admin.click('[data-testid=audit-filter] button[type=submit]');
    await admin.waitForFunction(() => {
      const trs = [...document.querySelectorAll('[data-testid=audit-table] [data-testid=audit-row]')];
      return trs.length > 0 && trs.every((tr) => tr.dataset.action === 'auth.login' && tr.dataset.outcome === 'FAILURE');
    });
    const failed = await rows(admin, 'audit-table');
    expect(failed.map((r) => r.resourceId)).toContain(personId);
    const fromApi = await api('query($f: AuditFilter) { auditEvents(filter: $f, first: 50) { edges { node { seq } } } }', {
      f: { action: 'auth.login', outcome: 'FAILURE' },
    });
    expect(failed.map((r) => r.seq)).toEqual(fromApi.auditEvents.edges.map((e: { node: { seq: number } }) => e.node.seq));
    // The tail keeps every event but shows only those the filter lets through.
    const tail = await rows(admin, 'tail-table');
    expect(tail.length).toBeGreaterThan(0);
    expect(tail.every((r) => r.action === 'auth.login' && r.outcome === 'FAILURE')).toBe(true);
    await shot(admin, 'admin-audit-filtered');
  });

  it('every filter field and the order reach the server, narrowing the log to exactly one event', async () => {
    await admin.click('[data-testid=audit-filter] button::-p-text(Clear)');
    // The person's last successful sign-in, whose every field the form will ask for.
    const data = await api('query($f: AuditFilter) { auditEvents(filter: $f, first: 1) { edges { node { seq actorId resourceType resourceId ip } } } }', {
      f: { action: 'auth.login', outcome: 'SUCCESS', actorId: personId },
    });
    const ev = data.auditEvents.edges[0].node as { seq: number; actorId: string; resourceType: string; resourceId: string; ip: string };
    const span = await admin.evaluate(() => {
      const local = (d: Date) => {
        const p = (n: number) => String(n).padStart(2, '0');
        return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}T${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`;
      };
      const from = new Date(Math.floor(Date.now() / 1000) * 1000 - 3_600_000);
      const to = new Date(from.getTime() + 2 * 3_600_000);
      return { fromLocal: local(from), toLocal: local(to), from: from.toISOString(), to: to.toISOString() };
    });
    const form = '[data-testid=audit-filter]';
    await admin.locator(`${form} input[name=actorId]`).fill(ev.actorId);
    await admin.locator(`${form} input[name=action]`).fill('auth.login');
    await admin.locator(`${form} input[name=actionPrefix]`).fill('auth.');
    await admin.locator(`${form} input[name=resourceType]`).fill(ev.resourceType);
    await admin.locator(`${form} input[name=resourceId]`).fill(ev.resourceId);
    await admin.locator(`${form} input[name=ip]`).fill(ev.ip);
    await admin.select(`${form} select[name=outcome]`, 'SUCCESS');
    await setValue(admin, `${form} input[name=from]`, span.fromLocal);
    await setValue(admin, `${form} input[name=to]`, span.toLocal);
    await admin.select(`${form} select[name=order]`, 'ASC');
    await admin.click(`${form} input[name=excludeReads]`);
    let onRequest: (req: HTTPRequest) => void = () => undefined;
    const sent = new Promise<Record<string, unknown>>((resolve) => {
      onRequest = (req) => {
        const body = req.postData();
        if (req.url().endsWith('/graphql') && body?.includes('"AdminAuditEvents"'))
          resolve((JSON.parse(body) as { variables: Record<string, unknown> }).variables);
      };
    });
    admin.on('request', onRequest);
    await admin.click(`${form} button[type=submit]`);
    const variables = await sent;
    admin.off('request', onRequest);
    expect(variables).toEqual({
      filter: {
        actorId: ev.actorId,
        action: 'auth.login',
        actionPrefix: 'auth.',
        excludeReads: true,
        resourceType: ev.resourceType,
        resourceId: ev.resourceId,
        outcome: 'SUCCESS',
        ip: ev.ip,
        from: span.from,
        to: span.to,
      },
      order: 'ASC',
      first: 50,
    });
    await admin.waitForFunction(
      (seq) => {
        const trs = document.querySelectorAll('[data-testid=audit-table] [data-testid=audit-row]');
        return trs.length === 1 && trs[0].dataset.seq === String(seq);
      },
      {},
      ev.seq,
    );
    expect(await admin.$eval('[data-testid=audit-table] caption', (el) => el.textContent)).toBe('Events, oldest first');
    await admin.click(`${form} button::-p-text(Clear)`); // the whole log again
    await admin.waitForFunction(() => document.querySelectorAll('[data-testid=audit-table] [data-testid=audit-row]').length > 1);
  });

  it('chain verification shows the chain valid, also against a pasted head, and broken against a wrong one', async () => {
    await admin.click('[data-testid=chain-check] button[type=submit]');
    await admin.waitForSelector('[data-testid=chain-result]');
    expect(await admin.$eval('[data-testid=chain-result]', (el) => (el as DomNode).dataset.valid)).toBe('true');
    expect(await admin.$eval('[data-testid=chain-valid]', (el) => el.textContent)).toBe('yes');
    expect(Number(await admin.$eval('[data-testid=chain-checked]', (el) => el.textContent))).toBeGreaterThan(5);
    expect(await admin.$eval('[data-testid=chain-first-broken]', (el) => el.textContent)).toBe('—');
    await shot(admin, 'admin-chain-valid');

    const head = (await api('{ auditEvents(first: 1) { edges { node { seq hash } } } }')).auditEvents.edges[0].node as { seq: number; hash: string };
    await admin.locator('input[name=headSeq]').fill(String(head.seq));
    await admin.locator('input[name=headHash]').fill(head.hash);
    await admin.click('[data-testid=chain-check] button[type=submit]');
    await admin.waitForSelector('[data-testid=chain-result][data-valid=true]');

    const wrong = head.hash.replace(/^./, (c) => (c === '0' ? '1' : '0'));
    await admin.locator('input[name=headHash]').fill(wrong);
    await admin.click('[data-testid=chain-check] button[type=submit]');
    await admin.waitForSelector('[data-testid=chain-result][data-valid=false]');
    const reason = await admin.$eval('[data-testid=chain-reason]', (el) => el.textContent ?? '');
    const report = (await api('query($h: AuditHeadInput) { verifyAuditChain(expectedHead: $h) { valid reason } }', { h: { seq: head.seq, hash: wrong } }))
      .verifyAuditChain;
    expect(report.valid).toBe(false);
    expect(reason).toBe(report.reason);
    await shot(admin, 'admin-chain-broken');
  });

  it('the admin locks the person in the Users tab: they are signed out, their sign-in says locked with its retry time, and unlock lets them in', async () => {
    await submitAuth(person, email, USER_PASSWORD); // after the failed attempt above
    await signedIn(person);
    const row = await openUserRow(admin, t.url, email);
    await admin.locator(`${row} input[name=lockMinutes]`).fill('30');
    await admin.locator(`${row} input[name=lockReason]`).fill('browser test');
    await admin.click(`${row} form button[type=submit]`);
    expect(await rowResult(admin, row, /^Locked until/)).toContain('sessions were ended');
    await admin.waitForSelector(`${row}[data-locked=true]`);
    await shot(admin, 'admin-users-locked');

    // The lock ended the person's sessions: the app is told at once (socket 4403, refused refresh).
    await person.waitForSelector('[data-testid=signed-out-notice]');
    await submitAuth(person, email, USER_PASSWORD);
    expect(await authError(person)).toMatch(/^This account is locked for now\. Try again in (29|30) min\.$/);
    await shot(person, 'person-locked');

    await admin.click(`${row} button::-p-text(Unlock)`);
    expect(await rowResult(admin, row, /^Unlocked\.$/)).toBe('Unlocked.');
    await admin.waitForSelector(`${row}[data-locked=false]`);
    await person.waitForSelector('button[name=submit]:not([disabled])');
    await person.click('button[name=submit]');
    expect(await signedIn(person)).toContain('USER');
  });

  it('revoking the sessions asks first, then signs the person out', async () => {
    const row = await openUserRow(admin, t.url, email);
    const revoke = `${row} button::-p-text(Revoke sessions)`;
    const asked: string[] = [];
    const onDialog = (d: Dialog) => {
      asked.push(d.message());
      void (asked.length === 1 ? d.dismiss() : d.accept());
    };
    const revokes: string[] = [];
    const onRequest = (req: HTTPRequest) => {
      if (req.postData()?.includes('"AdminRevokeUserSessions"')) revokes.push(req.url());
    };
    admin.on('dialog', onDialog);
    admin.on('request', onRequest);
    await admin.click(revoke); // dismissed: nothing is sent
    expect(asked).toEqual([`Sign ${email} out of every session?`]);
    await admin.click(revoke); // accepted
    await rowResult(admin, row, /^Every session of this user was ended\.$/);
    admin.off('dialog', onDialog);
    admin.off('request', onRequest);
    expect(asked).toHaveLength(2);
    expect(revokes).toHaveLength(1);
    await person.waitForSelector('[data-testid=signed-out-notice]');
    expect(await person.$eval('[data-testid=signed-out-notice]', (el) => el.textContent)).toMatch(/signed out|ended/);
  });

  it("an admin's own role change or self-lock shows the server's refusal", async () => {
    const row = await openUserRow(admin, t.url, ADMIN.email);
    await admin.select(`${row} select[name=role]`, 'USER');
    expect(await rowResult(admin, row, /own role/)).toBe('You cannot change your own role');
    expect(await admin.$eval(`${row} select[name=role]`, (el) => (el as DomNode).value)).toBe('ADMIN');
    await admin.locator(`${row} input[name=lockReason]`).fill('oops');
    await admin.click(`${row} form button[type=submit]`);
    expect(await rowResult(admin, row, /lock yourself/)).toBe('You cannot lock yourself');
  });

  it('an AUDITOR (role set in the Users tab) sees the audit log and summary but no Users tab', async () => {
    const row = await openUserRow(admin, t.url, email);
    await admin.select(`${row} select[name=role]`, 'AUDITOR');
    await rowResult(admin, row, /^Role set to AUDITOR/);
    await admin.waitForFunction((sel) => (document.querySelector(`${sel} select[name=role]`) as DomNode).value === 'AUDITOR', {}, row);

    await person.goto(`${t.url}/`);
    await submitAuth(person, email, USER_PASSWORD);
    expect(await signedIn(person)).toContain('AUDITOR');
    await person.click('a[href="#/admin"]');
    await person.waitForSelector('[data-testid=audit-page] [data-testid=audit-row]');
    const tabs = await person.$$eval('nav.subtabs a', (as) => as.map((a) => a.textContent));
    expect(tabs).toEqual(['Audit log', 'Security summary']);
    await person.goto(`${t.url}/#/admin/users`);
    await person.waitForSelector('[data-testid=audit-page]');
    expect(await person.$('[data-testid=users-page]')).toBeNull();
    await person.click('[data-testid=chain-check] button[type=submit]');
    await person.waitForSelector('[data-testid=chain-result][data-valid=true]');
    await shot(person, 'auditor-audit-log');
  });

  it("the summary chart's bars and failing IPs match securitySummary from the API, for each period", async () => {
    await admin.goto(`${t.url}/#/admin/summary`);
    let prev = '';
    for (const period of ['day', 'hour', 'week']) {
      if (period !== 'day') await admin.click(`input[name=since][value=${period}]`);
      // The chart of the newly picked period, once its numbers have arrived.
      const since = await admin.waitForFunction(
        (before) => {
          const fig = document.querySelector('[data-testid=summary][aria-busy=false]');
          return fig && fig.dataset.since !== before ? fig.dataset.since : null;
        },
        {},
        prev,
      );
      const sinceIso = (await since.jsonValue()) as string;
      prev = sinceIso;
      const expected = (
        await api(
          'query($s: DateTime!) { securitySummary(since: $s) { failedLogins lockedAccounts rateLimited reusedRefreshTokens topFailingIps { ip count } } }',
          {
            s: sinceIso,
          },
        )
      ).securitySummary;
      const bars = await admin.$$eval('[data-testid=summary-chart] g[data-testid^=bar-]', (gs) =>
        gs.map((g) => ({
          key: (g as DomNode).dataset.testid!.slice(4),
          value: Number((g as DomNode).dataset.value),
          text: g.querySelector('.bar-value')?.textContent,
          height: Number(g.querySelector('rect')?.getAttribute('height')),
        })),
      );
      expect(bars.map((b) => b.key)).toEqual(['failedLogins', 'lockedAccounts', 'rateLimited', 'reusedRefreshTokens']);
      for (const b of bars) {
        expect(b.value).toBe(expected[b.key]);
        expect(b.text).toBe(String(expected[b.key]));
      }
      // Taller bars for larger counts.
      const tallest = bars.reduce((a, b) => (b.value > a.value ? b : a));
      expect(bars.every((b) => b.height <= tallest.height)).toBe(true);
      expect(expected.failedLogins).toBeGreaterThanOrEqual(1);
      expect(expected.lockedAccounts).toBeGreaterThanOrEqual(1);
      const ips = await admin.$$eval('[data-testid=top-failing-ips] tbody tr[data-ip]', (trs) =>
        trs.map((tr) => ({ ip: (tr as DomNode).dataset.ip, count: Number((tr as DomNode).dataset.count) })),
      );
      expect(ips).toEqual(expected.topFailingIps);
    }
    await admin.click('input[name=since][value=day]');
    await admin.waitForSelector('[data-testid=summary-chart]');
    await shot(admin, 'admin-security-summary');
  });

  /** Turns the live tail on over the whole log (no filter) and waits until it runs. */
  async function openTail(page: Page): Promise<void> {
    await page.goto(`${t.url}/#/admin/audit`);
    await page.waitForSelector('[data-testid=audit-page] [data-testid=audit-row]');
    await page.click('input[name=liveTail]');
    await page.waitForSelector('[data-testid=live-tail][data-live=true]');
  }

  it('after the socket drops, the tail resubscribes from the newest seq it has: the event written meanwhile shows once', async () => {
    await openTail(admin);
    const unlock = 'mutation($id: ID!) { unlockUser(userId: $id) { id } }';
    await api(unlock, { id: personId });
    await admin.waitForSelector('[data-testid=tail-table] tr[data-action="admin.user.unlock"]');
    const subscribes: { afterSeq: number | null }[] = [];
    const cdp = await admin.createCDPSession();
    await cdp.send('Network.enable');
    cdp.on('Network.webSocketFrameSent', (e) => {
      const msg = JSON.parse(e.response.payloadData) as { type: string; payload?: { operationName?: string; variables?: { afterSeq: number | null } } };
      if (msg.type === 'subscribe' && msg.payload?.operationName === 'AdminAuditEventAdded') subscribes.push({ afterSeq: msg.payload.variables!.afterSeq });
    });
    const newestBefore = Number(await admin.$eval('[data-testid=live-tail]', (el) => (el as DomNode).dataset.newestSeq));

    for (const socket of sockets) socket.destroy(); // graphql-ws waits at least 1.3 s before it reconnects
    await api(unlock, { id: personId }); // written while the browser is cut off
    const written = (await api('{ auditEvents(first: 1, filter: { action: "admin.user.unlock" }) { edges { node { seq } } } }')).auditEvents.edges[0].node
      .seq as number;
    expect(written).toBeGreaterThan(newestBefore);

    await admin.waitForSelector(`[data-testid=tail-table] tr[data-seq="${written}"]`);
    expect(subscribes.length).toBeGreaterThanOrEqual(1);
    // Resumed from what it had (not from where the tail started), and below the event it missed.
    for (const sub of subscribes) {
      expect(sub.afterSeq).toBeGreaterThanOrEqual(newestBefore);
      expect(sub.afterSeq).toBeLessThan(written);
    }
    const tail = await rows(admin, 'tail-table');
    expect(tail.filter((r) => r.seq === written)).toHaveLength(1);
    expect(new Set(tail.map((r) => r.seq)).size).toBe(tail.length);
    expect(await admin.$eval('[data-testid=tail-status]', (el) => el.textContent)).toMatch(/resumed 1×/);
    await cdp.detach();
  });

  it('the tail keeps only the newest 500 events, and "Load more" appends the next page of the log', async () => {
    const before = Number(await admin.$eval('[data-testid=live-tail]', (el) => (el as DomNode).dataset.newestSeq));
    for (let i = 0; i < 520; i++) await api('{ users(first: 1) { edges { cursor } } }'); // one data.read event each (group-committed)
    const newest = (await api('{ auditEvents(first: 1) { edges { node { seq } } } }')).auditEvents.edges[0].node.seq as number;
    expect(newest - before).toBeGreaterThan(500);
    await admin.waitForFunction((n) => Number(document.querySelector('[data-testid=live-tail]')!.dataset.newestSeq) >= n, { timeout: 60_000 }, newest);
    await admin.click('input[name=liveTail]'); // off: the tail stops moving
    const kept = Number(await admin.$eval('[data-testid=live-tail]', (el) => (el as DomNode).dataset.newestSeq));
    expect(await admin.$eval('[data-testid=live-tail]', (el) => (el as DomNode).dataset.kept)).toBe('500');
    const tail = (await rows(admin, 'tail-table')).map((r) => r.seq);
    expect(tail).toEqual(Array.from({ length: 500 }, (_, i) => kept - i)); // the newest 500, none missing, none twice

    await admin.click('button::-p-text(Refresh)');
    await admin.waitForSelector(`[data-testid=audit-table] tr[data-seq="${newest}"]`);
    const first = (await rows(admin, 'audit-table')).map((r) => r.seq);
    expect(first).toHaveLength(50);
    await admin.click('button::-p-text(Load more)');
    await admin.waitForFunction(() => document.querySelectorAll('[data-testid=audit-table] [data-testid=audit-row]').length === 100);
    const both = (await rows(admin, 'audit-table')).map((r) => r.seq);
    expect(both.slice(0, 50)).toEqual(first);
    expect(both).toEqual([...both].sort((a, b) => b - a));
    expect(new Set(both).size).toBe(100);
    expect(both[50]).toBeLessThan(first[49]);
  });

  it('users: "Load more" appends the next page, and the role and lock filters narrow the list', async () => {
    const tag = `bulk${Date.now()}`;
    const made: string[] = [];
    for (let i = 0; i < 21; i++) made.push((await registerUser(t.graphqlUrl, { email: `${tag}-${i}@example.com` })).userId);
    await openUserRow(admin, t.url, email); // the Users tab, filtered to one person
    await admin.locator('form[aria-label="Filter users"] input[name=emailContains]').fill(tag);
    await admin.click('form[aria-label="Filter users"] button[type=submit]');
    await admin.waitForFunction(() => document.querySelectorAll('tr[data-testid=user-row]').length === 20);
    await admin.click('button::-p-text(Load more)');
    await admin.waitForFunction(() => document.querySelectorAll('tr[data-testid=user-row]').length === 21);
    const ids = await admin.$$eval('tr[data-testid=user-row]', (trs) => trs.map((tr) => (tr as DomNode).dataset.userId));
    expect([...ids].sort()).toEqual([...made].sort());
    expect(await admin.$('button::-p-text(Load more)')).toBeNull();

    await setValue(admin, 'form[aria-label="Filter users"] input[name=emailContains]', '');
    await admin.select('form[aria-label="Filter users"] select[name=role]', 'AUDITOR');
    await admin.click('form[aria-label="Filter users"] button[type=submit]');
    await admin.waitForFunction(
      (id) => {
        const trs = [...document.querySelectorAll('tr[data-testid=user-row]')];
        return trs.length === 1 && trs[0].dataset.userId === id;
      },
      {},
      personId,
    );

    await api('mutation($id: ID!) { lockUser(userId: $id, minutes: 5, reason: "filter test") { id } }', { id: made[3] });
    await admin.select('form[aria-label="Filter users"] select[name=role]', '');
    await admin.select('form[aria-label="Filter users"] select[name=locked]', 'true');
    await admin.click('form[aria-label="Filter users"] button[type=submit]');
    await admin.waitForFunction(
      (id) => {
        const trs = [...document.querySelectorAll('tr[data-testid=user-row]')];
        return trs.length === 1 && trs[0].dataset.userId === id && trs[0].dataset.locked === 'true';
      },
      {},
      made[3],
    );
    await admin.select('form[aria-label="Filter users"] select[name=locked]', 'false');
    await admin.click('form[aria-label="Filter users"] button[type=submit]');
    await admin.waitForFunction(() => {
      const trs = [...document.querySelectorAll('tr[data-testid=user-row]')];
      return trs.length === 20 && trs.every((tr) => tr.dataset.locked === 'false');
    });
    expect(await admin.$(`tr[data-user-id="${made[3]}"]`)).toBeNull();
    await shot(admin, 'admin-users');
  });

  it('no screen produced a CSP violation, a page error or a console error', () => {
    for (const e of errors) expect(e.all()).toEqual([]);
  });
});
