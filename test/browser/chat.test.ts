import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Browser, BrowserContext, Page } from 'puppeteer-core';
import { bearer, login } from '../helpers/auth';
import { launchBrowser, newContext, pageErrors, shot, startWebServer, type PageErrors } from '../helpers/browser';
import { authedWs, createConversation, sendMessage, streamReply } from '../helpers/chat';
import { startFakeOpenAI, type FakeOpenAI } from '../helpers/fake-openai';
import { ROOT } from '../helpers/paths';
import { CHROMIUM, WEB_BUILD, describeWith } from '../helpers/prereq';
import { gql, sql, type TestServer } from '../helpers/server';
import { openApp, registerInUi, STRONG_PASSWORD, uniqueEmail } from './web-ui';

/**
 * The page globals the callbacks given to waitForFunction / evaluate use: they run in the
 * browser, while this file compiles without the DOM library (declared here, not leaked).
 */
interface PageNode {
  textContent: string | null;
  getAttribute(name: string): string | null;
  querySelector(selector: string): PageNode | null;
  querySelectorAll(selector: string): ArrayLike<PageNode>;
}
interface FormField extends PageNode {
  value: string;
  selectedOptions: ArrayLike<PageNode>;
}
declare const document: PageNode;
declare const location: { hash: string };

/** 64 KiB: small enough to show the client-side size check with a small file. */
const MAX_UPLOAD = 64 * 1024;
/** Echo words this far apart: a reply of 40 words streams for about 3 s, long enough to watch, stop and reload. */
const TOKEN_DELAY_MS = 80;

const words = (n: number, tag = 'w') => Array.from({ length: n }, (_, i) => `${tag}${i}`).join(' ');

/** The newest assistant message's status and rendered text. */
function lastReply(page: Page): Promise<{ status: string; text: string }> {
  return page.$$eval('[data-testid=message][data-role=ASSISTANT]', (els) => {
    const el = els[els.length - 1];
    return { status: el?.getAttribute('data-status') ?? '', text: el?.querySelector('[data-testid=message-content]')?.textContent ?? '' };
  });
}

/** Waits until the newest reply has `status` and returns its text. */
async function replyWhen(page: Page, status: string, timeout = 30_000): Promise<string> {
  await page.waitForFunction(
    (s) => {
      const els = document.querySelectorAll('[data-testid=message][data-role=ASSISTANT]');
      return els[els.length - 1]?.getAttribute('data-status') === s;
    },
    { timeout },
    status,
  );
  return (await lastReply(page)).text;
}

/** Waits until the newest reply streams and shows more than `chars` characters, but not yet all of `full`. */
async function midStream(page: Page, full: string, chars: number): Promise<string> {
  await page.waitForFunction(
    (fullText, n) => {
      const els = document.querySelectorAll('[data-testid=message][data-role=ASSISTANT]');
      const el = els[els.length - 1];
      const text = el?.querySelector('[data-testid=message-content]')?.textContent ?? '';
      return el?.getAttribute('data-status') === 'STREAMING' && text.length > n && text.length < fullText.length;
    },
    { timeout: 30_000 },
    full,
    chars,
  );
  const { status, text } = await lastReply(page);
  expect(status).toBe('STREAMING');
  return text;
}

/** Types into the composer (each "\n" as Shift+Enter, a new line) and sends with Enter. */
async function send(page: Page, message: string): Promise<void> {
  await page.waitForSelector('#composer-text');
  const lines = message.split('\n');
  for (const [i, line] of lines.entries()) {
    if (i > 0) {
      await page.keyboard.down('Shift');
      await page.keyboard.press('Enter');
      await page.keyboard.up('Shift');
    }
    await page.type('#composer-text', line);
  }
  const before = await page.$$eval('[data-testid=message]', (els) => els.length);
  await page.keyboard.press('Enter');
  // The person's message and the reply appear together, as soon as the mutation answers.
  await page.waitForFunction((n) => document.querySelectorAll('[data-testid=message]').length >= n + 2, {}, before);
}

/** Starts a conversation through the "New chat" form (the default model preselected) and waits for it to open. */
async function newChat(page: Page, title?: string): Promise<string> {
  await page.goto(`${page.url().split('#')[0]}#/chat`);
  await page.waitForSelector('form[aria-label="New chat"] select[name=model] option');
  if (title) await page.type('input[name=title]', title);
  await page.click('form[aria-label="New chat"] button[type=submit]');
  await page.waitForFunction(() => /^#\/chat\/[0-9a-f-]{36}$/.test(location.hash));
  await page.waitForSelector('[data-testid=conversation]');
  return page.evaluate(() => location.hash.split('/')[2]);
}

/** Installed before the app's scripts: keeps every WebSocket the page opens, so a test can drop one as a network would. */
const RECORD_SOCKETS = `(() => {
  const Native = window.WebSocket;
  window.__parleySockets = [];
  window.WebSocket = class extends Native {
    constructor(...args) { super(...args); window.__parleySockets.push(this); }
  };
})();`;

/** Records the `fromOffset` of every ChatMessageStream subscription the page sends over its sockets, from now on (`ids`: their operation ids). */
async function streamSubscriptions(page: Page): Promise<number[] & { ids: string[] }> {
  const offsets = Object.assign([] as number[], { ids: [] as string[] });
  const cdp = await page.createCDPSession();
  await cdp.send('Network.enable');
  cdp.on('Network.webSocketFrameSent', ({ response }) => {
    const frame = JSON.parse(response.payloadData) as { type: string; id?: string; payload?: { operationName?: string; variables?: { fromOffset?: number } } };
    if (frame.type === 'subscribe' && frame.payload?.operationName === 'ChatMessageStream') {
      offsets.push(frame.payload.variables?.fromOffset ?? 0);
      offsets.ids.push(frame.id ?? '');
    }
  });
  return offsets;
}

/**
 * Records every text the newest reply shows while it streams (a MutationObserver on the message
 * list), so a test can assert that no intermediate state was wrong, not just the final one.
 */
async function watchReply(page: Page): Promise<() => Promise<string[]>> {
  await page.evaluate(`(() => {
    window.__parleyReplyLog = [];
    const list = document.querySelector('[data-testid=messages]');
    const record = () => {
      const els = list.querySelectorAll('[data-testid=message][data-role=ASSISTANT]');
      const el = els[els.length - 1];
      if (el && el.getAttribute('data-status') === 'STREAMING') window.__parleyReplyLog.push(el.querySelector('[data-testid=message-content]').textContent);
    };
    new MutationObserver(record).observe(list, { subtree: true, childList: true, characterData: true, attributes: true });
  })()`);
  return () => page.evaluate('window.__parleyReplyLog') as Promise<string[]>;
}

/** Every text in `seen` is the start of `full`: nothing shown twice or out of place. */
function allPrefixes(seen: string[], full: string): string[] {
  return seen.filter((text) => !full.startsWith(text));
}

/** A reload cancels the requests in flight (a list refetch after a chat event, say): Chrome reports them as aborted. */
const ABORTED_BY_RELOAD = /request failed: POST \S+\/graphql: net::ERR_ABORTED$/;

/** The errors a page may show on purpose: Chrome logs the status of a refused request as a console error. */
function unexpected(errors: PageErrors, allowed: RegExp[] = []): string[] {
  return errors.all().filter((line) => !allowed.some((re) => re.test(line)));
}

describeWith([CHROMIUM, WEB_BUILD], 'web client: chat in a real browser', () => {
  let t: TestServer;
  let browser: Browser;
  let context: BrowserContext;
  let email: string;
  let token: string;
  const pages: Page[] = [];

  beforeAll(async () => {
    t = await startWebServer({ echoTokenDelayMs: TOKEN_DELAY_MS, env: { MAX_UPLOAD_BYTES: String(MAX_UPLOAD), CHAT_MAX_CONCURRENT_STREAMS: '1' } });
    browser = await launchBrowser();
    // One person for the file, registered through the real UI (the widget solves the captcha);
    // every test opens its own tab in the same browser context, signed in from the refresh cookie.
    context = await newContext(browser);
    const page = await context.newPage();
    email = uniqueEmail('chat');
    await openApp(page, t.url);
    await registerInUi(page, email);
    await page.close();
    // The same person through the API, for setting up data (many conversations, many messages).
    const res = await login(t.graphqlUrl, email, STRONG_PASSWORD);
    token = res.body.data.login.accessToken;
  });
  afterAll(async () => {
    await browser?.close();
    await t?.close();
  });
  afterEach(async () => {
    for (const p of pages.splice(0)) await p.close().catch(() => undefined);
  });

  /** A tab signed in as the file's person, its errors collected from the start. */
  async function signedInPage(hash = '#/chat', opts: { recordSockets?: boolean } = {}): Promise<{ page: Page; errors: PageErrors }> {
    const page = await context.newPage();
    pages.push(page);
    await page.setViewport({ width: 1200, height: 900 });
    const errors = await pageErrors(page);
    if (opts.recordSockets) await page.evaluateOnNewDocument(RECORD_SOCKETS);
    await page.goto(`${t.url}/${hash}`, { waitUntil: 'domcontentloaded' });
    await page.waitForSelector('[data-testid=chat-page]', { timeout: 30_000 });
    return { page, errors };
  }

  it('starts a chat with the default model, sends with Enter and renders the reply as it streams, then complete', async () => {
    const { page, errors } = await signedInPage();
    await page.waitForSelector('select[name=model] option');
    const model = await page.$eval('select[name=model]', (s) => ({
      value: (s as unknown as FormField).value,
      label: (s as unknown as FormField).selectedOptions[0].textContent,
    }));
    expect(model.value).toBe('echo');
    expect(model.label).toMatch(/default/);
    expect(model.label).toMatch(/development echo/);
    await shot(page, 'chat-new');
    const id = await newChat(page, 'Streaming demo');
    const message = words(40);
    const full = `Echo: ${message}`;
    const shown = await watchReply(page);
    await send(page, message);
    expect(await page.$eval('#composer-text', (el) => (el as unknown as FormField).value)).toBe(''); // sent: the box is cleared
    const users = await page.$$eval('[data-testid=message][data-role=USER] [data-testid=message-content]', (els) => els.map((e) => e.textContent));
    expect(users).toEqual([message]);
    // An intermediate state: part of the echo, still streaming, with a Stop button.
    const partial = await midStream(page, full, 12);
    expect(full.startsWith(partial.trimEnd())).toBe(true);
    expect(await page.$('[data-testid=message][data-status=STREAMING] button.stop')).not.toBeNull();
    await shot(page, 'chat-streaming');
    expect(await replyWhen(page, 'COMPLETE')).toBe(full);
    const seen = await shown();
    expect(seen.length).toBeGreaterThan(10); // rendered word by word, as it arrived
    expect(allPrefixes(seen, full)).toEqual([]);
    expect(await page.$('[data-testid=message][data-role=ASSISTANT] [data-testid=message-status]')).toBeNull(); // complete: no status line
    await shot(page, 'chat-finished');
    // The list shows it, titled, linking to it.
    const listed = await page.$eval(`[data-testid=conversation-list] [data-conversation-id="${id}"]`, (li) => ({
      text: li.textContent,
      href: li.querySelector('a')?.getAttribute('href'),
      current: li.getAttribute('aria-current'),
    }));
    expect(listed).toEqual({ text: expect.stringContaining('Streaming demo'), href: `#/chat/${id}`, current: 'true' });
    expect(errors.all()).toEqual([]);
  });

  it('Stop ends the reply mid-stream: CANCELLED, the text kept is a prefix of the echo, and it stays so after a reload', async () => {
    const { page, errors } = await signedInPage();
    await newChat(page);
    const message = words(40);
    const full = `Echo: ${message}`;
    await send(page, message);
    await midStream(page, full, 15);
    await page.click('[data-testid=message][data-status=STREAMING] button.stop');
    const kept = await replyWhen(page, 'CANCELLED');
    expect(kept.length).toBeGreaterThan(6);
    expect(kept.length).toBeLessThan(full.length);
    expect(full.startsWith(kept)).toBe(true);
    expect(await page.$eval('[data-testid=message][data-status=CANCELLED] [data-testid=message-status]', (e) => e.textContent)).toBe('Stopped.');
    expect(await page.$('button.stop')).toBeNull();
    await shot(page, 'chat-stopped');
    await page.reload({ waitUntil: 'domcontentloaded' });
    expect(await replyWhen(page, 'CANCELLED')).toBe(kept);
    expect(unexpected(errors, [ABORTED_BY_RELOAD])).toEqual([]);
  });

  it('a reload mid-reply resumes the stream from the loaded text and finishes with exactly the full reply', async () => {
    const { page, errors } = await signedInPage();
    await newChat(page);
    const message = words(50);
    const full = `Echo: ${message}`;
    await send(page, message);
    await midStream(page, full, 20);
    // Count the stream subscriptions the reloaded page starts, and the offset each asks for.
    const subscriptions = await streamSubscriptions(page);
    await page.reload({ waitUntil: 'domcontentloaded' });
    // After the reload the page loads the reply as far as it got (still STREAMING) and follows it from there.
    await page.waitForSelector('[data-testid=messages]');
    const shown = await watchReply(page);
    const loaded = await midStream(page, full, 0);
    expect(full.startsWith(loaded.trimEnd())).toBe(true);
    expect(await replyWhen(page, 'COMPLETE')).toBe(full); // exactly once: nothing duplicated, nothing lost
    expect(subscriptions.length).toBeGreaterThanOrEqual(1);
    expect(subscriptions[0]).toBeGreaterThan(0); // resumed from the loaded length, not from the start
    const seen = await shown();
    expect(seen.length).toBeGreaterThan(5);
    expect(allPrefixes(seen, full)).toEqual([]);
    expect(unexpected(errors, [ABORTED_BY_RELOAD])).toEqual([]);
  });

  it('a dropped socket mid-reply: graphql-ws resubscribes with the same offset, the replayed deltas overwrite by offset, nothing is doubled', async () => {
    const { page, errors } = await signedInPage('#/chat', { recordSockets: true });
    await newChat(page);
    const message = words(50);
    const full = `Echo: ${message}`;
    const subscriptions = await streamSubscriptions(page);
    const shown = await watchReply(page);
    await send(page, message);
    const before = await midStream(page, full, 20);
    // The connection drops (closed under the app, as a network failure would): graphql-ws reconnects and resubscribes.
    const dropped = await page.evaluate(`(() => {
      const open = window.__parleySockets.filter((s) => s.readyState === 1);
      open.forEach((s) => s.close(4321, 'test: the connection dropped'));
      return open.length;
    })()`);
    expect(dropped).toBe(1);
    expect(await replyWhen(page, 'COMPLETE')).toBe(full);
    // Two subscriptions with the same variables: the first, and graphql-ws's own resubscription, which replayed
    // the reply from the same offset over the text already shown (a plain append would have shown it twice).
    expect([...subscriptions]).toEqual([0, 0]);
    expect(before.length).toBeGreaterThan(20);
    const seen = await shown();
    expect(seen.length).toBeGreaterThan(5);
    expect(allPrefixes(seen, full)).toEqual([]); // at no moment did the reply show a word twice
    expect(errors.all()).toEqual([]);
  });

  it('after SLOW_CONSUMER (the server ending the stream of a reader that fell behind) it resubscribes from the text it has and finishes exactly', async () => {
    const { page, errors } = await signedInPage('#/chat', { recordSockets: true });
    await newChat(page);
    const message = words(50);
    const full = `Echo: ${message}`;
    const subscriptions = await streamSubscriptions(page);
    const shown = await watchReply(page);
    await send(page, message);
    await midStream(page, full, 20);
    // The server's error frame for that operation, exactly as the wire carries it, delivered on the app's socket.
    const error = JSON.stringify({
      type: 'error',
      id: subscriptions.ids[0],
      payload: [{ message: 'The reader fell behind; resubscribe with fromOffset', extensions: { code: 'SLOW_CONSUMER' } }],
    });
    const delivered = await page.evaluate(`(() => {
      const open = window.__parleySockets.filter((s) => s.readyState === 1);
      open.forEach((s) => s.dispatchEvent(new MessageEvent('message', { data: ${JSON.stringify(error)} })));
      return open.length;
    })()`);
    expect(delivered).toBe(1);
    expect(await replyWhen(page, 'COMPLETE')).toBe(full);
    expect(subscriptions).toHaveLength(2);
    expect(subscriptions[0]).toBe(0);
    expect(subscriptions[1]).toBeGreaterThan(20); // from the length already shown, not from the start
    expect(subscriptions[1]).toBeLessThan(full.length);
    expect(allPrefixes(await shown(), full)).toEqual([]);
    expect(await page.$('[data-testid=message] [role=alert]')).toBeNull(); // handled, not shown as a problem
    expect(errors.all()).toEqual([]);
  });

  it('shows why a reply ended short: cut at the output limit, or interrupted by a restart', async () => {
    const id = await createConversation(t.graphqlUrl, token, { title: 'Short one' });
    const sent = await gql(
      t.graphqlUrl,
      'mutation S($i: SendMessageInput!) { sendMessage(input: $i) { assistantMessage { id } } }',
      { i: { conversationId: id, content: 'a rather long message to cut', parameters: { maxOutputTokens: 3 } } },
      bearer(token),
    );
    const ws = authedWs(t.wsUrl, token);
    try {
      await streamReply(ws, sent.body.data.sendMessage.assistantMessage.id);
    } finally {
      await ws.dispose();
    }
    const { page, errors } = await signedInPage(`#/chat/${id}`);
    expect(await replyWhen(page, 'COMPLETE')).toBe('Echo: a rath'); // 3 tokens of about 4 characters
    expect(await page.$eval('[data-testid=message][data-role=ASSISTANT] [data-testid=message-status]', (e) => e.textContent)).toBe(
      'Cut short: the reply reached its output limit.',
    );
    // A reply whose process died is INTERRUPTED after a restart (set here directly, as the server's sweeper would).
    await sql(t, `update message set status = 'INTERRUPTED', finish_reason = 'INTERRUPTED', error_code = 'INTERRUPTED' where id = ?`, [
      sent.body.data.sendMessage.assistantMessage.id,
    ]);
    await page.reload({ waitUntil: 'domcontentloaded' });
    await replyWhen(page, 'INTERRUPTED');
    expect(await page.$eval('[data-testid=message][data-role=ASSISTANT] [data-testid=message-status]', (e) => e.textContent)).toBe(
      'Interrupted: the server restarted while writing this reply.',
    );
    expect(unexpected(errors, [ABORTED_BY_RELOAD])).toEqual([]);
  });

  it('renders markdown as elements and never model text as HTML: no img, no script URL, no dialog', async () => {
    const { page, errors } = await signedInPage();
    const dialogs: string[] = [];
    page.on('dialog', (d) => {
      dialogs.push(`${d.type()}: ${d.message()}`);
      void d.dismiss();
    });
    await newChat(page);
    const attack = '<img src=x onerror=alert(1)> **bold** [x](javascript:alert(1))';
    await send(page, attack);
    // Rendered: the ** became <strong>, everything else is the literal text.
    expect(await replyWhen(page, 'COMPLETE')).toBe('Echo: <img src=x onerror=alert(1)> bold [x](javascript:alert(1))');
    const reply = '[data-testid=message][data-role=ASSISTANT] [data-testid=message-content]';
    expect(await page.$eval(reply, (e) => e.textContent)).toContain('<img src=x onerror=alert(1)>');
    expect(await page.$$('[data-testid=messages] img')).toHaveLength(0);
    expect(await page.$eval(`${reply} strong`, (e) => e.textContent)).toBe('bold');
    expect(await page.$$eval('a', (as) => as.map((a) => a.getAttribute('href') ?? '').filter((h) => /^\s*javascript:/i.test(h)))).toEqual([]);
    expect(await page.$eval(reply, (e) => e.textContent)).toContain('[x](javascript:alert(1))'); // left as literal text

    // The rest of the renderer, from a multi-line message (Shift+Enter makes the new lines).
    const md = [
      'Intro',
      '# Title',
      'A *soft* line',
      'and `code`',
      '',
      '- one',
      '- two',
      '',
      '1. first',
      '2. second',
      '',
      '```',
      '<b>raw</b>',
      '```',
      '[site](https://example.com/docs)',
    ].join('\n');
    await send(page, md);
    await replyWhen(page, 'COMPLETE');
    const last = '[data-testid=message][data-role=ASSISTANT]:last-of-type [data-testid=message-content]';
    const shape = await page.$eval(last, (root: PageNode) => ({
      heading: root.querySelector('h3')?.textContent,
      em: root.querySelector('em')?.textContent,
      code: root.querySelector('p code')?.textContent,
      br: root.querySelectorAll('p br').length,
      bullets: Array.from(root.querySelectorAll(':scope ul li')).map((li) => li.textContent),
      numbered: Array.from(root.querySelectorAll(':scope ol li')).map((li) => li.textContent),
      pre: root.querySelector('pre code')?.textContent,
      bold: root.querySelectorAll('b').length,
      link: Array.from(root.querySelectorAll('a')).map((a) => ({
        href: a.getAttribute('href'),
        rel: a.getAttribute('rel'),
        target: a.getAttribute('target'),
        text: a.textContent,
      })),
    }));
    expect(shape).toEqual({
      heading: 'Title',
      em: 'soft',
      code: 'code',
      br: 1,
      bullets: ['one', 'two'],
      numbered: ['first', 'second'],
      pre: '<b>raw</b>',
      bold: 0,
      link: [{ href: 'https://example.com/docs', rel: 'noopener noreferrer nofollow', target: '_blank', text: 'site' }],
    });
    await shot(page, 'chat-markdown');
    expect(dialogs).toEqual([]);
    expect(errors.all()).toEqual([]);
  });

  it('uploads a text file, sends it with the message, lists it there and downloads it with the token; a refused type and an oversized file are explained', async () => {
    const { page, errors } = await signedInPage();
    await newChat(page);
    expect(await page.$eval('[data-testid=upload-limits]', (e) => e.textContent)).toBe('Up to 64 KiB: text, markdown, PDF, PNG, JPEG and WebP');
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'parley-chat-'));
    const notes = path.join(dir, 'notes.txt');
    fs.writeFileSync(notes, 'Meeting notes\nline two ✓\n');
    const elf = path.join(dir, 'tool.exe');
    fs.writeFileSync(elf, Buffer.concat([Buffer.from([0x7f, 0x45, 0x4c, 0x46, 2, 1, 1, 0]), Buffer.from('not a real program, random-ish bytes \x01\x02')]));
    const big = path.join(dir, 'big.txt');
    fs.writeFileSync(big, Buffer.alloc(MAX_UPLOAD + 1, 0x61));
    const uploads: string[] = [];
    page.on('request', (r) => {
      if (r.method() === 'POST' && r.url().endsWith('/attachments')) uploads.push(r.url());
    });

    const input = await page.$('input[type=file]');
    await input!.uploadFile(notes, elf, big);
    await page.waitForFunction(() => {
      const chips = Array.from(document.querySelectorAll('[data-testid=upload-chip]'));
      return chips.length === 3 && chips.every((c) => !(c.textContent ?? '').includes('uploading'));
    });
    const chips = await page.$$eval('[data-testid=upload-chip]', (els) => els.map((e) => e.textContent ?? ''));
    expect(chips[0]).toMatch(/^notes\.txt\s*27 B/);
    expect(chips[0]).not.toMatch(/accepted|limit/);
    expect(chips[1]).toContain('tool.exe');
    expect(chips[1]).toContain('only text, markdown, PDF, PNG, JPEG and WebP files are accepted'); // the server's 415, in words
    expect(chips[2]).toContain('big.txt');
    expect(chips[2]).toContain('larger than the 64 KiB limit');
    expect(uploads).toHaveLength(2); // the oversized file was refused before any upload
    await shot(page, 'chat-attachments');
    await page.click('button[aria-label="Remove tool.exe"]');
    await page.click('button[aria-label="Remove big.txt"]');

    await send(page, 'see the attached notes');
    await replyWhen(page, 'COMPLETE');
    const listed = await page.$$eval('[data-testid=message][data-role=USER] [data-attachment-id]', (els) => els.map((e) => e.textContent));
    expect(listed).toEqual([expect.stringMatching(/^notes\.txt\s*27 B$/)]);
    expect(await page.$$('[data-testid=upload-chip]')).toHaveLength(0); // sent: the composer is empty again

    // Download: the bearer-authorized fetch turned into a file, byte for byte.
    const downloads = path.join(dir, 'downloads');
    fs.mkdirSync(downloads);
    const cdp = await browser.target().createCDPSession();
    await cdp.send('Browser.setDownloadBehavior', { behavior: 'allow', downloadPath: downloads, browserContextId: context.id, eventsEnabled: true });
    const done = new Promise<string>((resolve) =>
      cdp.on('Browser.downloadProgress', (e) => {
        if (e.state === 'completed') resolve(e.guid);
      }),
    );
    await page.click('[data-testid=message][data-role=USER] [data-attachment-id] button');
    await done;
    expect(fs.readFileSync(path.join(downloads, 'notes.txt'), 'utf8')).toBe('Meeting notes\nline two ✓\n');
    expect(unexpected(errors, [/status of 415 .*\/attachments/])).toEqual([]);
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('a rate-limited send shows the reason with its retry time next to the composer and keeps the text for a resend', async () => {
    const { page, errors } = await signedInPage();
    const first = await newChat(page);
    const message = words(40);
    await send(page, message);
    await midStream(page, `Echo: ${message}`, 8);
    // This server allows one reply at a time per person: a second conversation's send is refused.
    await newChat(page);
    await page.type('#composer-text', 'second thoughts');
    await page.keyboard.press('Enter');
    const alert = await page.waitForSelector('[data-testid=composer-error]');
    expect(await alert!.evaluate((e) => e.textContent)).toBe('Too many replies are being written at once; wait for one to finish. Try again in 1 s.');
    expect(await page.$eval('#composer-text', (el) => (el as unknown as FormField).value)).toBe('second thoughts');
    expect(await page.$$('[data-testid=message]')).toHaveLength(0);
    await shot(page, 'chat-rate-limited');
    // Once the first reply is stopped (here through the API), the kept text is sent as it is.
    const streaming = await gql(
      t.graphqlUrl,
      'query C($id: ID!) { conversation(id: $id) { messages(last: 1) { edges { node { id status } } } } }',
      { id: first },
      bearer(token),
    );
    const reply = streaming.body.data.conversation.messages.edges[0].node;
    expect(reply.status).toBe('STREAMING');
    const cancelled = await gql(t.graphqlUrl, 'mutation X($id: ID!) { cancelGeneration(messageId: $id) { status } }', { id: reply.id }, bearer(token));
    expect(cancelled.body.data.cancelGeneration.status).toBe('CANCELLED');
    await page.focus('#composer-text');
    await page.keyboard.press('Enter');
    expect(await replyWhen(page, 'COMPLETE')).toBe('Echo: second thoughts');
    expect(await page.$('[data-testid=composer-error]')).toBeNull();
    expect(unexpected(errors, [/status of 429/])).toEqual([]);
  });

  it('a send whose answer was lost is resent with the same clientMessageId: the message is stored once', async () => {
    const { page, errors } = await signedInPage();
    const id = await newChat(page);
    // The first sendMessage reaches the server (forwarded from here) but the page never gets the answer.
    let forwarded = 0;
    await page.setRequestInterception(true);
    page.on('request', (req) => {
      if (req.isInterceptResolutionHandled()) return;
      const body = req.postData() ?? '';
      if (forwarded === 0 && req.method() === 'POST' && body.includes('"operationName":"ChatSendMessage"')) {
        forwarded += 1;
        void fetch(req.url(), { method: 'POST', headers: req.headers(), body }).then(() => req.abort('connectionreset'));
        return;
      }
      void req.continue();
    });
    await page.type('#composer-text', 'only once please');
    await page.keyboard.press('Enter');
    const alert = await page.waitForSelector('[data-testid=composer-error]');
    expect(await alert!.evaluate((e) => e.textContent)).toBe('The server cannot be reached. Check your connection and try again.');
    expect(await page.$eval('#composer-text', (el) => (el as unknown as FormField).value)).toBe('only once please');
    // Send again: the server recognizes the id and answers with the first call's messages.
    await page.keyboard.press('Enter');
    expect(await replyWhen(page, 'COMPLETE')).toBe('Echo: only once please');
    expect(await page.$$('[data-testid=message]')).toHaveLength(2);
    const stored = await gql(
      t.graphqlUrl,
      'query C($id: ID!) { conversation(id: $id) { messages(first: 10) { edges { node { role content } } } } }',
      { id },
      bearer(token),
    );
    expect(stored.body.data.conversation.messages.edges.map((e: { node: { role: string } }) => e.node.role)).toEqual(['USER', 'ASSISTANT']);
    expect(forwarded).toBe(1);
    expect(unexpected(errors, [/ERR_CONNECTION_RESET/])).toEqual([]);
  });

  it('lists conversations newest first, 20 at a time with "Load more", hides archived ones, and deletes one after confirming', async () => {
    const created: string[] = [];
    for (let i = 0; i < 21; i++) created.push(await createConversation(t.graphqlUrl, token, { title: `Bulk ${String(i).padStart(2, '0')}` }));
    const archived = await createConversation(t.graphqlUrl, token, { title: 'Put away' });
    const upd = await gql(
      t.graphqlUrl,
      'mutation A($id: ID!) { updateConversation(id: $id, input: { archived: true }) { id } }',
      { id: archived },
      bearer(token),
    );
    expect(upd.body.errors).toBeUndefined();
    const all = await gql(t.graphqlUrl, '{ conversations(first: 100, filter: { archived: false }) { edges { node { id } } } }', undefined, bearer(token));
    const expected: string[] = all.body.data.conversations.edges.map((e: { node: { id: string } }) => e.node.id);
    expect(expected.length).toBeGreaterThan(21);

    const { page, errors } = await signedInPage();
    const listed = () => page.$$eval('[data-testid=conversation-list] [data-conversation-id]', (els) => els.map((e) => e.getAttribute('data-conversation-id')));
    await page.waitForFunction(() => document.querySelectorAll('[data-testid=conversation-list] [data-conversation-id]').length === 20);
    expect(await listed()).toEqual(expected.slice(0, 20));
    expect((await listed())[0]).toBe(created[20]); // the newest first
    await shot(page, 'chat-list');
    const [more] = await page.$$('xpath/.//nav[@aria-label="Conversations"]//button[normalize-space()="Load more"]');
    await more.click();
    await page.waitForFunction((n) => document.querySelectorAll('[data-testid=conversation-list] [data-conversation-id]').length === n, {}, expected.length);
    expect(await listed()).toEqual(expected);
    expect(await listed()).not.toContain(archived);
    expect(await page.$$('xpath/.//nav[@aria-label="Conversations"]//button[normalize-space()="Load more"]')).toHaveLength(0);

    // A conversation started on another device arrives through chatEvents: it tops the list, and
    // the pages "Load more" added stay (a refetch of the first page alone would cut the list to 20).
    const elsewhere = await createConversation(t.graphqlUrl, token, { title: 'From the phone' });
    await page.waitForFunction(
      (n) => document.querySelectorAll('[data-testid=conversation-list] [data-conversation-id]').length === n,
      {},
      expected.length + 1,
    );
    expect(await listed()).toEqual([elsewhere, ...expected]);

    // Delete: a confirmation first, then gone from the list (and from the server).
    const victim = created[20];
    const dialogs: string[] = [];
    page.once('dialog', (d) => {
      dialogs.push(d.message());
      void d.accept();
    });
    await page.click(`[data-conversation-id="${victim}"] button[aria-label="Delete Bulk 20"]`);
    await page.waitForFunction((id) => !document.querySelector(`[data-conversation-id="${id}"]`), {}, victim);
    expect(dialogs).toEqual([expect.stringContaining('Delete “Bulk 20”')]);
    const gone = await gql(t.graphqlUrl, 'query C($id: ID!) { conversation(id: $id) { id } }', { id: victim }, bearer(token));
    expect(gone.body.data.conversation).toBeNull();
    expect(errors.all()).toEqual([]);
  });

  it('shows the newest 50 messages of a long conversation, oldest first, and "Load earlier" puts the rest in front', async () => {
    const id = await createConversation(t.graphqlUrl, token, { title: 'Long one' });
    const ws = authedWs(t.wsUrl, token);
    try {
      for (let i = 0; i < 26; i++) {
        const r = await sendMessage(t.graphqlUrl, token, id, `m${i}`);
        if (r.body.errors) throw new Error(JSON.stringify(r.body.errors));
        await streamReply(ws, r.body.data.sendMessage.assistantMessage.id); // one reply at a time on this server
      }
    } finally {
      await ws.dispose();
    }
    const { page, errors } = await signedInPage(`#/chat/${id}`);
    const texts = () => page.$$eval('[data-testid=message] [data-testid=message-content]', (els) => els.map((e) => e.textContent));
    await page.waitForFunction(() => document.querySelectorAll('[data-testid=message]').length === 50);
    const first = await texts();
    expect(first.slice(0, 2)).toEqual(['m1', 'Echo: m1']);
    expect(first.slice(-2)).toEqual(['m25', 'Echo: m25']);
    const [earlier] = await page.$$('xpath/.//button[normalize-space()="Load earlier"]');
    await earlier.click();
    await page.waitForFunction(() => document.querySelectorAll('[data-testid=message]').length === 52);
    const whole = await texts();
    expect(whole).toEqual(Array.from({ length: 26 }, (_, i) => [`m${i}`, `Echo: m${i}`]).flat());
    expect(await page.$$('xpath/.//button[normalize-space()="Load earlier"]')).toHaveLength(0);
    expect(errors.all()).toEqual([]);
  });
});

describeWith([CHROMIUM, WEB_BUILD], 'web client: chat with an OpenAI-compatible provider that fails', () => {
  let fake: FakeOpenAI;
  let t: TestServer;
  let browser: Browser;
  beforeAll(async () => {
    fake = await startFakeOpenAI();
    t = await startWebServer({ env: { AI_PROVIDER: 'openai', OPENAI_BASE_URL: fake.url, OPENAI_API_KEY: 'sk-test-key', AI_MODELS: 'paced,dies' } });
    browser = await launchBrowser();
  });
  afterAll(async () => {
    await browser?.close();
    await t?.close();
    await fake?.close();
  });

  it('lists the real models (no development label) and shows FAILED with the error, keeping the partial reply', async () => {
    const context = await newContext(browser);
    const page = await context.newPage();
    const errors = await pageErrors(page);
    await openApp(page, t.url);
    await registerInUi(page, uniqueEmail('chatfail'));
    await page.waitForSelector('select[name=model] option');
    const options = await page.$$eval('select[name=model] option', (els) => els.map((e) => e.textContent));
    expect(options).toEqual(['paced (default) · openai', 'dies · openai']);
    await page.select('select[name=model]', 'dies');
    await page.click('form[aria-label="New chat"] button[type=submit]');
    await page.waitForSelector('[data-testid=conversation]');
    await send(page, 'hello');
    const kept = await replyWhen(page, 'FAILED');
    expect(kept).toMatch(/^Hello from the/); // what arrived before the upstream died stays
    const status = await page.$eval('[data-testid=message][data-role=ASSISTANT] [data-testid=message-status]', (e) => e.textContent);
    expect(status).toMatch(/^Failed: .+\(UPSTREAM_[A-Z_]+\)\.$/);
    await shot(page, 'chat-failed');
    expect(errors.all()).toEqual([]);
    await context.close();
  });
});

describeWith([CHROMIUM, WEB_BUILD], 'web client: every chat operation runs as a trusted document (PERSISTED_QUERIES_ONLY=true)', () => {
  let t: TestServer;
  let browser: Browser;
  beforeAll(async () => {
    t = await startWebServer({
      echoTokenDelayMs: TOKEN_DELAY_MS,
      env: { PERSISTED_QUERIES_ONLY: 'true', PERSISTED_QUERIES_FILE: path.join(ROOT, 'persisted-queries.json') },
    });
    browser = await launchBrowser();
  });
  afterAll(async () => {
    await browser?.close();
    await t?.close();
  });

  it('lists models and limits, creates, sends, streams, stops, lists and deletes, all from the manifest', async () => {
    expect((await gql(t.graphqlUrl, '{ __typename }')).body.errors[0].extensions.code).toBe('PERSISTED_QUERY_NOT_FOUND');
    const context = await newContext(browser);
    const page = await context.newPage();
    const errors = await pageErrors(page);
    await openApp(page, t.url);
    await registerInUi(page, uniqueEmail('chattrusted'));
    const id = await newChat(page, 'Trusted only');
    await page.waitForSelector('[data-testid=upload-limits]'); // ChatUploadLimits
    const message = words(40);
    await send(page, message); // ChatSendMessage
    await midStream(page, `Echo: ${message}`, 10); // ChatMessageStream
    await page.click('[data-testid=message][data-status=STREAMING] button.stop'); // ChatCancelGeneration
    await replyWhen(page, 'CANCELLED');
    await send(page, 'again');
    expect(await replyWhen(page, 'COMPLETE')).toBe('Echo: again');
    await page.reload({ waitUntil: 'domcontentloaded' }); // ChatConversation
    await page.waitForFunction(() => document.querySelectorAll('[data-testid=message]').length === 4);
    page.once('dialog', (d) => void d.accept());
    await page.click(`[data-conversation-id="${id}"] button[aria-label="Delete Trusted only"]`); // Conversations, ChatDeleteConversation
    await page.waitForFunction((cid) => !document.querySelector(`[data-conversation-id="${cid}"]`), {}, id);
    await page.waitForSelector('form[aria-label="New chat"]');
    expect(unexpected(errors, [ABORTED_BY_RELOAD])).toEqual([]);
    await context.close();
  });
});
