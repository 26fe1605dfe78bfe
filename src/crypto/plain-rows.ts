import type { MikroORM } from '@mikro-orm/postgresql';
import type { Logger } from '../logging/logger';
import type { ContentCipher, SealedColumn } from './cipher';

/** One encrypted column and how to find its plain rows (from before encryption) with their owner. */
interface PlainColumn {
  column: SealedColumn;
  /** Selects `id` (the binding's row id), `v` (the value) and `owner_id` of up to ? plain rows with id > ?, in id order. */
  select: string;
  /** Replaces the value `v` of row `id` with the sealed one, only if it is still `v`. */
  update: string;
  batch: number;
}

// A text value is plain unless it starts with U+0001 (user input never holds it); a chunk is plain
// unless it starts like an envelope naming a data key that exists.
const PLAIN_TEXT = (col: string) => `${col} is not null and ${col} <> '' and left(${col}, 1) <> E'\\x01'`;

const COLUMNS: PlainColumn[] = [
  {
    column: 'message.content',
    select: `select m.id::text as id, m.content as v, c.owner_id from message m join conversation c on c.id = m.conversation_id
             where ${PLAIN_TEXT('m.content')} and m.id > ?::uuid order by m.id limit ?`,
    update: 'update message set content = ? where id = ?::uuid and content = ?',
    batch: 500,
  },
  ...(['title', 'system_prompt'] as const).map((col) => ({
    column: `conversation.${col}` as SealedColumn,
    select: `select id::text as id, ${col} as v, owner_id from conversation where ${PLAIN_TEXT(col)} and id > ?::uuid order by id limit ?`,
    update: `update conversation set ${col} = ? where id = ?::uuid and ${col} = ?`,
    batch: 500,
  })),
  ...(['filename', 'extracted_text'] as const).map((col) => ({
    column: `attachment.${col}` as SealedColumn,
    select: `select id::text as id, ${col} as v, owner_id from attachment where ${PLAIN_TEXT(col)} and id > ?::uuid order by id limit ?`,
    update: `update attachment set ${col} = ? where id = ?::uuid and ${col} = ?`,
    batch: 200,
  })),
  {
    column: 'attachment_chunk.data',
    select: `select k.attachment_id || ':' || k.seq as id, k.data as v, a.owner_id from attachment_chunk k join attachment a on a.id = k.attachment_id
             where not (length(k.data) >= 45 and get_byte(k.data, 0) = 225
                        and exists (select 1 from user_key u where u.id = encode(substring(k.data from 2 for 16), 'hex')::uuid))
               and (k.attachment_id, k.seq) > (split_part(?, ':', 1)::uuid, split_part(?, ':', 2)::int) order by k.attachment_id, k.seq limit ?`,
    update: `update attachment_chunk set data = ? where attachment_id = split_part(?, ':', 1)::uuid and seq = split_part(?, ':', 2)::int and data = ?`,
    batch: 20,
  },
];

const NIL = '00000000-0000-0000-0000-000000000000';
const MIGRATED_KEY = 'encryption.plain_rows_sealed_at';

/** True once every plain row was sealed (from then on a value that is not sealed is an error). */
export async function plainRowsSealed(orm: MikroORM): Promise<boolean> {
  const conn = orm.em.getConnection();
  // Before the first migration (npm run migrate opens the database first) there is no app_meta yet.
  const [{ exists }] = await conn.execute<{ exists: string | null }[]>(`select to_regclass('app_meta')::text as exists`);
  if (exists === null) return false;
  return (await conn.execute('select 1 from app_meta where key = ?', [MIGRATED_KEY])).length > 0;
}

/**
 * Seals the rows written before encryption at rest, one batch per statement pair, each update
 * guarded on the old value (a server writing the row meanwhile wins); rerunning resumes where a
 * stopped run left off, since only plain rows are selected. Returns how many rows it sealed.
 */
export async function sealPlainRows(orm: MikroORM, cipher: ContentCipher, logger: Logger): Promise<number> {
  const conn = orm.em.getConnection();
  let sealed = 0;
  for (const c of COLUMNS) {
    let after = c.column === 'attachment_chunk.data' ? `${NIL}:-1` : NIL;
    for (;;) {
      const rows = await conn.execute<{ id: string; v: string | Buffer; owner_id: string }[]>(
        c.select,
        c.column === 'attachment_chunk.data' ? [after, after, c.batch] : [after, c.batch],
      );
      if (rows.length === 0) break;
      for (const r of rows) {
        const value =
          typeof r.v === 'string' ? await cipher.sealText(r.owner_id, c.column, r.id, r.v) : await cipher.sealBytes(r.owner_id, c.column, r.id, r.v);
        const params = c.column === 'attachment_chunk.data' ? [value, r.id, r.id, r.v] : [value, r.id, r.v];
        await conn.execute(c.update, params);
        sealed++;
      }
      after = rows[rows.length - 1].id;
      logger.info('sealing rows stored before encryption at rest', { column: c.column, sealed });
    }
  }
  await conn.execute('insert into app_meta (key, value, created_at) values (?, ?, now()) on conflict do nothing', [MIGRATED_KEY, new Date().toISOString()]);
  return sealed;
}
