import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { startTestServer, type TestServer } from './server';

export type FakeOpenAI = Awaited<ReturnType<typeof startFakeOpenAI>>;

/**
 * A local stand-in for an OpenAI-compatible Chat Completions endpoint, speaking its real SSE
 * wire format: `data: {chunk}` lines split across TCP writes, a usage chunk, `data: [DONE]`.
 * The requested model picks the behaviour (upstream faults: unauthorized, limited, flaky, broken,
 * silent, stalls, dies, cut, malformed; 'held' waits mid-stream for `release()`). Every request is recorded (`requests`: body and
 * headers), so tests assert exactly what reached the model.
 */
export async function startFakeOpenAI(): Promise<{ url: string; requests: any[]; release(): void; close(): Promise<void> }> {
  const requests: any[] = [];
  /** 'held' streams two words, then waits here until the test calls `release()`. */
  let release = () => {};
  const held = new Promise<void>((r) => (release = r));
  /** 'flaky' answers 429 to the first request for a given last message, then streams normally. */
  const flakySeen = new Set<string>();
  const chunk = (id: number, content: string | null, usage?: object, finish: string | null = null) =>
    `data: ${JSON.stringify({ id: `chatcmpl-${id}`, object: 'chat.completion.chunk', created: 1, model: 'm', choices: content === null ? [] : [{ index: 0, delta: finish ? {} : { content }, finish_reason: finish }], ...(usage ? { usage } : {}) })}\n\n`;
  const server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (d) => (body += d));
    const respond = async () => {
      const json = JSON.parse(body);
      requests.push({ json, headers: req.headers });
      const model: string = json.model;
      if (model === 'unauthorized') {
        res.writeHead(401, { 'content-type': 'application/json' });
        return res.end(JSON.stringify({ error: { message: 'Incorrect API key provided: sk-secret-upstream', type: 'invalid_request_error' } }));
      }
      if (model === 'limited') {
        res.writeHead(429, { 'content-type': 'application/json', 'retry-after': '0' });
        return res.end(JSON.stringify({ error: { message: 'Rate limit reached for sk-secret-upstream', type: 'requests' } }));
      }
      if (model === 'flaky') {
        const last = JSON.stringify(json.messages.at(-1));
        if (!flakySeen.has(last)) {
          flakySeen.add(last);
          res.writeHead(429, { 'content-type': 'application/json', 'retry-after': '0' });
          return res.end(JSON.stringify({ error: { message: 'Rate limit reached for sk-secret-upstream', type: 'requests' } }));
        }
      }
      if (model === 'broken') {
        res.writeHead(500, { 'content-type': 'application/json' });
        return res.end(JSON.stringify({ error: { message: 'internal upstream stack at /srv/model.py:12' } }));
      }
      res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', connection: 'keep-alive' });
      // 'nul' streams U+0000 (which PostgreSQL text refuses); it and 'paced' take ~80 ms a chunk, so replies overlap.
      const words =
        model === 'nul'
          ? ['Hello', ' wor\u0000ld', '\u0000', ' from', ' the', ' fake', ' model', '.']
          : ['Hello', ' from', ' the', ' fake', ' model', ', streaming', ' nicely', '.'];
      const pause = model === 'nul' || model === 'paced' ? 80 : 5;
      if (model === 'silent') return; // never sends a byte: first-token timeout
      for (let i = 0; i < words.length; i++) {
        const line = chunk(i, words[i]);
        // Split each event across two TCP writes, as real servers do.
        res.write(line.slice(0, 7));
        await new Promise((r) => setTimeout(r, pause));
        res.write(line.slice(7));
        if (model === 'dies' && i === 3) {
          await new Promise((r) => setTimeout(r, 30)); // let " fake" reach the client first
          req.socket.destroy();
          return;
        }
        if (model === 'stalls' && i === 2) return; // goes quiet mid-stream: idle timeout
        if (model === 'held' && i === 1) await held;
        // 'malformed' sends an event that is not JSON after two good ones; 'cut' closes in the middle of an event.
        if (model === 'malformed' && i === 1) {
          res.write('data: {"id":"chatcmpl-x","choices":[{"delta":{"content":"oops"\n\n');
          await new Promise((r) => setTimeout(r, pause));
        }
        if (model === 'cut' && i === 3) {
          res.write(chunk(4, ' fake').slice(0, 30));
          await new Promise((r) => setTimeout(r, 30));
          req.socket.destroy();
          return;
        }
      }
      // 'length' ends as a model cut by max_tokens does; 'nousage' reports no usage (as some servers do).
      res.write(chunk(98, '', undefined, model === 'length' ? 'length' : 'stop'));
      if (model !== 'nousage') res.write(chunk(99, null, { prompt_tokens: 11, completion_tokens: 8, total_tokens: 19 }));
      res.write('data: [DONE]\n\n');
      res.end();
    };
    req.on('end', () => void respond());
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/v1`,
    requests,
    release: () => release(),
    close: () =>
      new Promise((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}

/**
 * A test server whose AI provider is a fake OpenAI server of its own, both started before the
 * file's tests and closed after them; `env` adds or overrides settings (AI_MODELS at least).
 */
export function useFakeOpenAIServer(env: Record<string, string>): { t: TestServer; fake: FakeOpenAI } {
  let fake: FakeOpenAI | undefined;
  let server: TestServer | undefined;
  beforeAll(async () => {
    fake = await startFakeOpenAI();
    server = await startTestServer({ env: { AI_PROVIDER: 'openai', OPENAI_BASE_URL: fake.url, OPENAI_API_KEY: 'sk-test-key', ...env } });
  });
  afterAll(async () => {
    await server?.close();
    await fake?.close();
  });
  const live = <T extends object>(get: () => T | undefined): T =>
    new Proxy({} as T, {
      get(_target, prop) {
        const value = get();
        if (!value) throw new Error('the fake OpenAI server is not running (use it inside a test)');
        return value[prop as keyof T];
      },
    });
  return { t: live(() => server), fake: live(() => fake) };
}
