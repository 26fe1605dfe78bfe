// The server a user would write instead of Parley, for the same two reads: Apollo Server 5
// standalone, the access token (HS256, Parley's key, issuer and audience) verified in the
// context with jsonwebtoken, and plain `pg` SELECTs. No shield, limits, auditing or logging.
// Content is kept encrypted at rest as Parley keeps it, so it opens the same AES-256-GCM
// envelopes with node:crypto (data keys unwrapped with DATA_ENCRYPTION_KEYS, cached).
// Standalone: DATABASE_URL=… SECRET_KEY=… PORT=0 node bench/peers/apollo-me.js prints
// {"url":"http://127.0.0.1:<port>/"} once it listens. It reads the rows Parley wrote.
'use strict';
const { createDecipheriv, createSecretKey, hkdfSync } = require('node:crypto');
const { ApolloServer } = require('@apollo/server');
const { startStandaloneServer } = require('@apollo/server/standalone');
const { GraphQLError } = require('graphql');
const jwt = require('jsonwebtoken');
const pg = require('pg');

// Parley signs with an HKDF sub-key of SECRET_KEY (src/auth/tokens.ts); same derivation, so one token works on both.
const key = createSecretKey(Buffer.from(hkdfSync('sha256', process.env.SECRET_KEY, 'parley', 'jwt', 32)));
const pool = new pg.Pool({ connectionString: process.env.DATABASE_URL, max: Number(process.env.DB_POOL_MAX ?? 10) });

// DATA_ENCRYPTION_KEYS: id:base64key,… (the key-encryption keys that wrap each user's data key).
const keks = new Map(
  (process.env.DATA_ENCRYPTION_KEYS ?? '')
    .split(',')
    .filter(Boolean)
    .map((e) => [e.split(':')[0], Buffer.from(e.split(':')[1], 'base64')]),
);
const dataKeys = new Map();

function gcmOpen(key, nonce, body, tag, aad) {
  const d = createDecipheriv('aes-256-gcm', key, nonce);
  d.setAAD(aad);
  d.setAuthTag(tag);
  return Buffer.concat([d.update(body), d.final()]);
}

/** A data key by id: read once, unwrapped with its key-encryption key (bound to its id and owner). */
async function dataKey(id) {
  if (!dataKeys.has(id)) {
    const { rows } = await pool.query('SELECT user_id, kek_id, wrapped FROM user_key WHERE id = $1', [id]);
    const w = rows[0].wrapped;
    const aad = Buffer.from(`parley/data-key/v1|${id}|${rows[0].user_id}`);
    dataKeys.set(id, gcmOpen(keks.get(rows[0].kek_id), w.subarray(0, 12), w.subarray(12, -16), w.subarray(-16), aad));
  }
  return dataKeys.get(id);
}

/** A sealed text column's value: U+0001 + base64 of [0xE1][key id][nonce][ciphertext][tag], bound to column and row. */
async function openText(column, rowId, stored) {
  if (!stored) return stored;
  const v = Buffer.from(stored.slice(1), 'base64');
  const keyId = v
    .subarray(1, 17)
    .toString('hex')
    .replace(/^(.{8})(.{4})(.{4})(.{4})/, '$1-$2-$3-$4-');
  const aad = Buffer.concat([v.subarray(0, 17), Buffer.from(`parley/v1|${column}|${rowId}`)]);
  return gcmOpen(await dataKey(keyId), v.subarray(17, 29), v.subarray(29, -16), v.subarray(-16), aad).toString('utf8');
}

const typeDefs = `#graphql
  scalar DateTime
  enum Role { ADMIN AUDITOR USER }
  enum MessageRole { ASSISTANT SYSTEM USER }
  enum MessageStatus { CANCELLED COMPLETE FAILED INTERRUPTED STREAMING }
  enum FinishReason { CANCELLED ERROR INTERRUPTED LENGTH STOP }
  type User { id: ID! email: String! role: Role! displayName: String createdAt: DateTime! }
  type Attachment { id: ID! filename: String! mimeType: String! size: Int! }
  type TokenUsage { promptTokens: Int! completionTokens: Int! totalTokens: Int! estimated: Boolean! }
  type Message {
    id: ID! conversationId: ID! role: MessageRole! content: String! status: MessageStatus! model: String
    error: String errorCode: String finishReason: FinishReason clientMessageId: ID createdAt: DateTime!
    usage: TokenUsage attachments: [Attachment!]!
  }
  type PageInfo { hasNextPage: Boolean! hasPreviousPage: Boolean! startCursor: String endCursor: String }
  type MessageEdge { cursor: String! node: Message! }
  type MessageConnection { edges: [MessageEdge!]! pageInfo: PageInfo! }
  type Conversation { id: ID! messages(first: Int): MessageConnection! }
  type Query { me: User! conversation(id: ID!): Conversation }
`;

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const cursor = (m) => Buffer.from(JSON.stringify([m.createdAt.toISOString(), m.id])).toString('base64url');

function userOf(ctx) {
  if (!ctx.userId) throw new GraphQLError('Not signed in', { extensions: { code: 'UNAUTHENTICATED' } });
  return ctx.userId;
}

const MESSAGES = `
  SELECT m.id, m.conversation_id AS "conversationId", m.role, m.content, m.status, m.model, m.error,
         m.error_code AS "errorCode", m.finish_reason AS "finishReason", m.client_message_id AS "clientMessageId",
         m.created_at AS "createdAt", m.prompt_tokens AS "promptTokens", m.completion_tokens AS "completionTokens",
         m.usage_estimated AS "usageEstimated",
         COALESCE((SELECT json_agg(json_build_object('id', a.id, 'filename', a.filename, 'mimeType', a.mime_type, 'size', a.size)
                   ORDER BY a.created_at) FROM attachment a WHERE a.message_id = m.id), '[]') AS attachments
  FROM message m WHERE m.conversation_id = $1 ORDER BY m.created_at, m.id LIMIT $2`;

async function messagePage(conversationId, first) {
  const size = Math.min(Math.max(first ?? 20, 1), 100);
  const { rows } = await pool.query(MESSAGES, [conversationId, size + 1]);
  const page = rows.slice(0, size);
  for (const m of page) {
    m.content = await openText('message.content', m.id, m.content);
    for (const a of m.attachments) a.filename = await openText('attachment.filename', a.id, a.filename);
  }
  const edges = page.map((m) => {
    const usage =
      m.promptTokens === null || m.completionTokens === null
        ? null
        : {
            promptTokens: m.promptTokens,
            completionTokens: m.completionTokens,
            totalTokens: m.promptTokens + m.completionTokens,
            estimated: !!m.usageEstimated,
          };
    return { cursor: cursor(m), node: { ...m, createdAt: m.createdAt.toISOString(), usage } };
  });
  const pageInfo = { hasNextPage: rows.length > size, hasPreviousPage: false, startCursor: edges[0]?.cursor ?? null, endCursor: edges.at(-1)?.cursor ?? null };
  return { edges, pageInfo };
}

const resolvers = {
  Query: {
    async me(_root, _args, ctx) {
      const { rows } = await pool.query('SELECT id, email, role, display_name, created_at FROM "user" WHERE id = $1', [userOf(ctx)]);
      const u = rows[0];
      if (!u) throw new GraphQLError('Not signed in', { extensions: { code: 'UNAUTHENTICATED' } });
      return { id: u.id, email: u.email, role: u.role, displayName: u.display_name, createdAt: u.created_at.toISOString() };
    },
    async conversation(_root, { id }, ctx) {
      const owner = userOf(ctx);
      if (!UUID.test(id)) return null;
      const { rows } = await pool.query('SELECT id FROM conversation WHERE id = $1 AND owner_id = $2', [id, owner]);
      return rows[0] ?? null;
    },
  },
  Conversation: { messages: (c, { first }) => messagePage(c.id, first) },
};

async function context({ req }) {
  const header = req.headers.authorization ?? '';
  if (!header.startsWith('Bearer ')) return {};
  try {
    const claims = jwt.verify(header.slice(7), key, { algorithms: ['HS256'], issuer: 'parley', audience: 'parley-api' });
    return { userId: claims.sub };
  } catch {
    throw new GraphQLError('Invalid token', { extensions: { code: 'UNAUTHENTICATED', http: { status: 401 } } });
  }
}

async function main() {
  const server = new ApolloServer({ typeDefs, resolvers });
  const { url } = await startStandaloneServer(server, { context, listen: { port: Number(process.env.PORT ?? 0), host: '127.0.0.1' } });
  console.log(JSON.stringify({ url }));
  const stop = () => server.stop().then(() => pool.end().then(() => process.exit(0)));
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
