import type { MikroORM } from '@mikro-orm/postgresql';
import type { Logger } from '../logging/logger';
import type { ContentCipher, SealedColumn } from './cipher';

/** One encrypted column: how to find values sealed under a retired data key, and how to replace one. */
interface ResealColumn {
  column: SealedColumn;
  /**
   * Scans the next window of up to ? rows after cursor ? (so no statement reads more than a
   * window, whatever the table's size) and returns `last` (the window's last cursor, null past
   * the end) with, for each value in it under a retired key, `id` (the binding's row id), `v`,
   * `owner_id` and `key_id`; one row of nulls but `last` when there is none.
   */
  select: string;
  /** Replaces, in one statement, the values of `n` rows (id, new value, old value each), each only if it is still the old one. */
  update: (n: number) => string;
  /** Rows per window at most (attachment chunks are 256 KiB each). */
  window: number;
}

// The data key id a text value names, decoded in SQL from the first 24 base64 characters after
// U+0001 (version byte and key id); the CASE keeps decode() away from anything else (never an error).
const textKeyId = (col: string) =>
  `case when ${col} ~ '^\\x01[A-Za-z0-9+/]{24}' then encode(substring(decode(substring(${col} from 2 for 24), 'base64') from 2 for 16), 'hex')::uuid end`;
const chunkKeyId = (col: string) =>
  `case when length(${col}) >= 45 and substring(${col} from 1 for 1) = '\\xe1'::bytea then encode(substring(${col} from 2 for 16), 'hex')::uuid end`;

const tuples = (n: number, tuple: string) => Array.from({ length: n }, () => tuple).join(', ');

/**
 * Which values a pass takes: those sealed under a retired data key (`rotate-keys --reencrypt`),
 * or those stored plain before encryption at rest (sealed once, on the first start after it).
 */
export type Which = 'retired' | 'plain';

/** The filter after a hit query's joins, and the key id it reports, for text column `col` of `t`. */
const textFilter = (which: Which, col: string) =>
  which === 'retired'
    ? { filter: `join user_key k on k.retired_at is not null and k.id = ${textKeyId(`t.${col}`)}`, key: 'k.id::text' }
    : { filter: `where t.${col} is not null and t.${col} <> '' and left(t.${col}, 1) <> E'\\x01'`, key: 'null::text' };

/** The same for chunk bytes: a plain chunk is one not shaped like an envelope naming an existing data key. */
const chunkFilter = (which: Which) =>
  which === 'retired'
    ? { filter: `join user_key k on k.retired_at is not null and k.id = ${chunkKeyId('t.data')}`, key: 'k.id::text' }
    : {
        filter: `where not exists (select 1 from user_key u where u.id = ${chunkKeyId('t.data')})`,
        key: 'null::text',
      };

/** The window query around `hits` (a select over `w`, the window's keys). */
const windowed = (window: string, last: string, hits: string) =>
  `with w as (${window}) select (${last}) as last, h.* from (select 1) one left join (${hits}) h on true`;

const textColumn = (which: Which, column: SealedColumn, table: string, col: string, ownerJoin: string, owner: string): ResealColumn => ({
  column,
  select: windowed(
    `select id from ${table} where id > ?::uuid order by id limit ?`,
    'select id::text from w order by id desc limit 1',
    `select t.id::text as id, t.${col} as v, ${owner} as owner_id, ${textFilter(which, col).key} as key_id
     from w join ${table} t on t.id = w.id ${ownerJoin} ${textFilter(which, col).filter}`,
  ),
  update: (n) =>
    `update ${table} t set ${col} = v.nv from (values ${tuples(n, '(?::uuid, ?::text, ?::text)')}) as v(id, nv, ov) where t.id = v.id and t.${col} = v.ov returning 1`,
  window: 1000,
});

const columns = (which: Which): ResealColumn[] => [
  textColumn(which, 'message.content', 'message', 'content', 'join conversation o on o.id = t.conversation_id', 'o.owner_id'),
  textColumn(which, 'conversation.title', 'conversation', 'title', '', 't.owner_id'),
  textColumn(which, 'conversation.system_prompt', 'conversation', 'system_prompt', '', 't.owner_id'),
  textColumn(which, 'attachment.filename', 'attachment', 'filename', '', 't.owner_id'),
  textColumn(which, 'attachment.extracted_text', 'attachment', 'extracted_text', '', 't.owner_id'),
  {
    column: 'attachment_chunk.data',
    select: windowed(
      `select attachment_id, seq from attachment_chunk where (attachment_id, seq) > (split_part(?, ':', 1)::uuid, split_part(?, ':', 2)::int)
       order by attachment_id, seq limit ?`,
      `select attachment_id || ':' || seq from w order by attachment_id desc, seq desc limit 1`,
      `select t.attachment_id || ':' || t.seq as id, t.data as v, o.owner_id, ${chunkFilter(which).key} as key_id
       from w join attachment_chunk t on t.attachment_id = w.attachment_id and t.seq = w.seq join attachment o on o.id = t.attachment_id
       ${chunkFilter(which).filter}`,
    ),
    update: (n) =>
      `update attachment_chunk t set data = v.nv from (values ${tuples(n, '(?::text, ?::bytea, ?::bytea)')}) as v(id, nv, ov)
       where t.attachment_id = split_part(v.id, ':', 1)::uuid and t.seq = split_part(v.id, ':', 2)::int and t.data = v.ov returning 1`,
    window: 20,
  },
];

const NIL = '00000000-0000-0000-0000-000000000000';

/** What one pass over every encrypted column found and did. */
export interface ResealPass {
  /** Values re-sealed under their owner's current data key. */
  resealed: number;
  /** Values that did not open (tampered, or their key does not unwrap): left as they are. */
  failed: number;
  /** Per retired data key id, how many values naming it this pass found (re-sealed, lost to a concurrent write, or failed). */
  found: Map<string, number>;
}

/**
 * One pass over the six encrypted columns: every value `which` names (sealed under a retired
 * data key, or plain) is opened and sealed again under its owner's current data key, in
 * batches, each update guarded on the old value (a server writing the row meanwhile wins; its
 * value is not under a retired key once servers' caches have expired, or the next pass takes
 * it). Only such values are selected, so a stopped pass resumes by running again.
 */
export async function resealValues(orm: MikroORM, cipher: ContentCipher, which: Which, maxBatch: number, logger: Logger): Promise<ResealPass> {
  const pass: ResealPass = { resealed: 0, failed: 0, found: new Map() };
  for (const c of columns(which)) {
    const chunked = c.column === 'attachment_chunk.data';
    let after = chunked ? `${NIL}:-1` : NIL;
    for (;;) {
      const limit = Math.min(c.window, maxBatch);
      const rows = await orm.em.getConnection().execute<ResealRow[]>(c.select, chunked ? [after, after, limit] : [after, limit]);
      if (rows[0].last === null) break;
      const params: unknown[] = [];
      for (const r of rows) {
        if (r.id === null) continue;
        const value = await resealOne(cipher, c, r, pass, logger);
        if (value !== undefined) params.push(r.id, value, r.v);
      }
      // One statement per window: a commit per value would cost a disk flush each.
      if (params.length > 0) pass.resealed += (await orm.em.getConnection().execute<unknown[]>(c.update(params.length / 3), params)).length;
      after = rows[0].last;
    }
    logger.info(which === 'retired' ? 're-sealed values under retired data keys' : 'sealed values stored before encryption at rest', {
      column: c.column,
      resealed: pass.resealed,
    });
  }
  return pass;
}

/** A value to seal again: under a retired key (named), or plain (null). */
interface Hit {
  id: string;
  v: string | Buffer;
  owner_id: string;
  key_id: string | null;
}

/** A row of a window query: its cursor, with a hit or (none in the window) nulls. */
type ResealRow = { last: string | null } & (Hit | { id: null });

/** The value opened with its retired key and sealed under its owner's current one; undefined when it does not open. */
async function resealOne(cipher: ContentCipher, c: ResealColumn, r: Hit, pass: ResealPass, logger: Logger): Promise<string | Buffer | undefined> {
  if (r.key_id !== null) pass.found.set(r.key_id, (pass.found.get(r.key_id) ?? 0) + 1);
  try {
    return typeof r.v === 'string'
      ? await cipher.sealText(r.owner_id, c.column, r.id, await cipher.openText(c.column, r.id, r.v))
      : await cipher.sealBytes(r.owner_id, c.column, r.id, await cipher.openBytes(c.column, r.id, r.v));
  } catch (err) {
    // Names the row and key, never the value; the retired key is kept while this value names it.
    pass.failed++;
    logger.error('a stored value did not open with its retired data key; left as it is', {
      column: c.column,
      rowId: r.id,
      keyId: r.key_id,
      error: (err as Error).message,
    });
    return undefined;
  }
}
