import { randomUUID } from 'node:crypto';
import WebSocket from 'ws';
import { AuditOutcome } from '../../src/audit/audit-event.entity';
import { MessageStatus } from '../../src/chat/message-enums';
import { MAX_QUEUED_DELTA_BYTES, mergeDeltas } from '../../src/chat/stream';
import { bearer, login, registerUser } from '../helpers/auth';
import { assemble, authedWs, createConversation, sendMessage, streamReply, type StreamEvent } from '../helpers/chat';
import { gql, sql, unseal, useTestServer } from '../helpers/server';

/**
 * Item 3: a subscriber that stops reading (its TCP socket paused) while events pile up. Before
 * the fix the pub/sub queue overflowed inside a listener (RepeaterOverflowError) and the
 * process died. Now the server stays ready, other streams finish, and each slow operation
 * ends whole or with SLOW_CONSUMER on a socket that stays open for resubscribing.
 */

const ADMIN = { email: 'root@example.com', password: 'an admin passphrase nobody guesses' };
const STREAM = 'subscription M($id: ID!, $from: Int) { messageStream(messageId: $id, fromOffset: $from) { offset delta done status } }';
// The same with twelve aliased ids (~900 bytes an event), so a few hundred deltas fill the kernel's socket buffers.
const WIDE_STREAM = `subscription W($id: ID!, $from: Int) { messageStream(messageId: $id, fromOffset: $from) { offset delta done status ${Array.from({ length: 12 }, (_, i) => `i${i}: messageId`).join(' ')} } }`;
const AUDIT =
  'subscription A($after: Int) { auditEventAdded(afterSeq: $after) { id seq at actorId actorRole action resourceType resourceId outcome ip requestId hash prevHash } }';

type End = { type: 'complete' | 'closed' } | { type: 'error'; payload: { message: string; extensions?: { code?: string } }[] };

/** A bare graphql-transport-ws client over `ws`, so the test can stop reading its TCP socket. */
class RawClient {
  readonly nexts = new Map<string, any[]>();
  private readonly ends = new Map<string, End>();
  private readonly waiters = new Map<string, (e: End) => void>();

  private constructor(readonly ws: WebSocket) {
    ws.on('message', (data) => {
      const msg = JSON.parse(String(data)) as { id?: string; type: string; payload?: any };
      if (msg.type === 'ping') ws.send(JSON.stringify({ type: 'pong' }));
      if (!msg.id) return;
      if (msg.type === 'next') this.nexts.get(msg.id)?.push(msg.payload);
      if (msg.type === 'complete' || msg.type === 'error') {
        const end = msg.type === 'error' ? { type: 'error' as const, payload: msg.payload } : { type: 'complete' as const };
        this.ends.set(msg.id, end);
        this.waiters.get(msg.id)?.(end);
      }
    });
    // A closed socket ends every operation still open (so a test fails at once rather than hanging).
    ws.on('close', () => {
      for (const [id, resolve] of this.waiters) if (!this.ends.has(id)) resolve({ type: 'closed' });
    });
  }

  static open(url: string, token: string): Promise<RawClient> {
    const ws = new WebSocket(url, 'graphql-transport-ws');
    const client = new RawClient(ws);
    return new Promise((resolve, reject) => {
      ws.once('error', reject);
      ws.once('open', () => ws.send(JSON.stringify({ type: 'connection_init', payload: { authorization: `Bearer ${token}` } })));
      const onAck = (data: WebSocket.RawData) => {
        if (JSON.parse(String(data)).type !== 'connection_ack') return;
        ws.off('message', onAck);
        resolve(client);
      };
      ws.on('message', onAck);
    });
  }

  subscribe(id: string, query: string, variables: Record<string, unknown>): void {
    this.nexts.set(id, []);
    this.ws.send(JSON.stringify({ id, type: 'subscribe', payload: { query, variables } }));
  }

  /** Resolves when operation `id` ends (complete or error). */
  ended(id: string): Promise<End> {
    const end = this.ends.get(id) ?? (this.ws.readyState === WebSocket.OPEN ? undefined : { type: 'closed' as const });
    return end ? Promise.resolve(end) : new Promise((resolve) => this.waiters.set(id, resolve));
  }

  /** Resolves once operation `id` has received its first result (so it is subscribed). */
  async firstResult(id: string): Promise<void> {
    while ((this.nexts.get(id) ?? []).length === 0 && !this.ends.has(id)) await new Promise((r) => setTimeout(r, 20));
  }

  pause(): void {
    (this.ws as any)._socket.pause();
  }

  resume(): void {
    (this.ws as any)._socket.resume();
  }
}

describe('03 slow consumers', () => {
  // The 400-word reply (~7,300 tokens) must not be cut at the default AI_MAX_OUTPUT_TOKENS.
  const t = useTestServer({
    env: { BOOTSTRAP_ADMIN_EMAIL: ADMIN.email, BOOTSTRAP_ADMIN_PASSWORD: ADMIN.password, ECHO_TOKEN_DELAY_MS: '1', AI_MAX_OUTPUT_TOKENS: '20000' },
  });
  const ready = async () => (await fetch(`${t.url}/readyz`)).status;

  it('a paused messageStream reader: the server stays ready, other streams finish, the reply is stored whole, the slow operation ends whole or with SLOW_CONSUMER', async () => {
    const user = await registerUser(t.graphqlUrl);
    // 400 words of ~75 characters: as many live deltas, each sent to every paused operation below.
    const long = Array.from({ length: 400 }, (_, i) => `word${i}${'y'.repeat(64 + (i % 7))}`).join(' ');
    const conv = await createConversation(t.graphqlUrl, user.accessToken);
    const reply = (await sendMessage(t.graphqlUrl, user.accessToken, conv, long)).body.data.sendMessage.assistantMessage.id as string;

    // Twenty operations on one socket that stops reading: the kernel buffers fill, then the server's queues.
    const slow = await RawClient.open(t.wsUrl, user.accessToken);
    const ids = Array.from({ length: 20 }, (_, i) => `s${i}`);
    for (const id of ids) slow.subscribe(id, WIDE_STREAM, { id: reply, from: 0 });
    await slow.firstResult('s0');
    slow.pause();

    // Meanwhile another reader follows the same reply and another reply to the end.
    const other = authedWs(t.wsUrl, user.accessToken);
    const conv2 = await createConversation(t.graphqlUrl, user.accessToken);
    const reply2 = (await sendMessage(t.graphqlUrl, user.accessToken, conv2, 'a short question')).body.data.sendMessage.assistantMessage.id as string;
    const [sameEvents, otherEvents] = await Promise.all([streamReply(other, reply), streamReply(other, reply2)]);
    expect(assemble(otherEvents)).toBe('Echo: a short question');
    expect(assemble(sameEvents)).toBe(`Echo: ${long}`);
    expect(await ready()).toBe(200);
    await other.dispose();

    const [stored] = await sql(t, 'select content, status from message where id = ?', [reply]);
    stored.content = await unseal(t, 'message.content', reply, stored.content);
    expect(stored).toEqual({ content: `Echo: ${long}`, status: 'COMPLETE' });

    slow.resume();
    for (const id of ids) {
      const end = await slow.ended(id);
      const events = slow.nexts.get(id)!.map((r) => r.data.messageStream as StreamEvent);
      let text = assemble(events.filter((e) => !e.done));
      if (end.type === 'error') {
        expect(end.payload[0].extensions?.code).toBe('SLOW_CONSUMER');
        // The socket is still open: resubscribe from what arrived and get the rest.
        slow.subscribe(`${id}r`, STREAM, { id: reply, from: text.length });
        expect((await slow.ended(`${id}r`)).type).toBe('complete');
        text += assemble(
          slow.nexts.get(`${id}r`)!.map((r) => r.data.messageStream as StreamEvent),
          text.length,
        );
      } else {
        expect(end.type).toBe('complete');
        expect(events[events.length - 1]).toMatchObject({ done: true, status: 'COMPLETE' });
      }
      expect(text).toBe(`Echo: ${long}`);
    }
    slow.ws.close();
  }, 120_000);

  it('a messageStream queue past its byte bound frees its deltas and ends with SLOW_CONSUMER; the publisher never sees an error', async () => {
    const id = randomUUID();
    const sub = t.server.services.pubsub.subscribe('message:stream', id, {
      merge: mergeDeltas,
      size: (e) => e.delta.length * 2,
      maxBytes: MAX_QUEUED_DELTA_BYTES,
    });
    const piece = 'x'.repeat(64 * 1024);
    // 2 MiB of contiguous deltas nobody takes: they merge into one queued event, until the bound.
    for (let i = 0; i < 32; i++) {
      t.server.services.pubsub.publish('message:stream', id, {
        messageId: id,
        offset: i * piece.length,
        delta: piece,
        done: false,
        status: MessageStatus.STREAMING,
      });
    }
    await expect(sub.next()).rejects.toMatchObject({ extensions: { code: 'SLOW_CONSUMER' } });
    expect(await sub.next()).toEqual({ value: undefined, done: true });
    expect(await ready()).toBe(200);
  });

  it('paused auditEventAdded readers during an event flood: the server stays ready, each ends with SLOW_CONSUMER and resumes from the table with afterSeq', async () => {
    const admin = (await login(t.graphqlUrl, ADMIN.email, ADMIN.password)).body.data.login.accessToken as string;
    const user = await registerUser(t.graphqlUrl);
    const conv = await createConversation(t.graphqlUrl, user.accessToken);

    const slow = await RawClient.open(t.wsUrl, admin);
    const ids = Array.from({ length: 20 }, (_, i) => `a${i}`);
    for (const id of ids) slow.subscribe(id, AUDIT, {});
    // A prompt reader on another socket, to see that events still flow to it.
    const prompt = await RawClient.open(t.wsUrl, admin);
    prompt.subscribe('p', AUDIT, {});
    // Every subscription is live once it has received a probe event; only then does the reader stop reading.
    await t.server.services.audit.append({ action: 'test.probe', outcome: AuditOutcome.SUCCESS });
    const probed = (c: RawClient, id: string) => (c.nexts.get(id) ?? []).some((r) => r.data.auditEventAdded.action === 'test.probe');
    for (const [c, id] of [...ids.map((id) => [slow, id] as const), [prompt, 'p'] as const]) while (!probed(c, id)) await new Promise((r) => setTimeout(r, 20));
    slow.pause();

    // The flood: 1,600 events through the server's own audit service (group-committed, published
    // to every tail), as a burst of failed logins or reads would write them, but fast enough to
    // finish well inside the server's keep-alive on this busy test machine. One real audited
    // request joins it.
    const FLOOD = 1600;
    await Promise.all([
      ...Array.from({ length: FLOOD }, (_, i) => t.server.services.audit.append({ action: 'test.flood', outcome: AuditOutcome.SUCCESS, metadata: { i } })),
      gql(t.graphqlUrl, 'query Q($id: ID!) { conversation(id: $id) { id } }', { id: conv }, bearer(user.accessToken)),
    ]);
    expect(await ready()).toBe(200);

    const [{ max }] = await sql(t, 'select max(seq)::int as max from audit_event');
    // The prompt reader got the whole flood.
    while (!prompt.nexts.get('p')!.some((r) => r.data.auditEventAdded.seq === max)) await new Promise((r) => setTimeout(r, 20));
    expect(prompt.nexts.get('p')!.filter((r) => r.data.auditEventAdded.action === 'test.flood').length).toBe(FLOOD);

    slow.resume();
    for (const id of ids) {
      const end = await slow.ended(id);
      expect(end.type).toBe('error');
      expect(end.type === 'error' && end.payload[0].extensions?.code).toBe('SLOW_CONSUMER');
    }
    expect(slow.ws.readyState).toBe(WebSocket.OPEN);

    // Resubscribe on the same socket from the last seq received: the rest comes from the table, in order, with no gap.
    const seqs = slow.nexts.get('a0')!.map((r) => r.data.auditEventAdded.seq as number);
    const last = seqs[seqs.length - 1];
    expect(last).toBeLessThan(max);
    slow.subscribe('again', AUDIT, { after: last });
    while (!slow.nexts.get('again')!.some((r) => r.data.auditEventAdded.seq === max)) await new Promise((r) => setTimeout(r, 20));
    const replayed = slow.nexts.get('again')!.map((r) => r.data.auditEventAdded.seq as number);
    expect(replayed.slice(0, max - last)).toEqual(Array.from({ length: max - last }, (_, i) => last + 1 + i));

    slow.ws.close();
    prompt.ws.close();
  }, 120_000);
});
