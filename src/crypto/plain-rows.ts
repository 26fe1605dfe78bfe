import type { MikroORM } from '@mikro-orm/postgresql';
import type { Logger } from '../logging/logger';
import type { ContentCipher } from './cipher';
import { resealValues } from './reseal';

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
 * Seals the values stored before encryption at rest (the same guarded, resumable pass that
 * `rotate-keys --reencrypt` uses, taking plain values instead of ones under retired keys), then
 * marks it done. Returns how many values it sealed.
 */
export async function sealPlainRows(orm: MikroORM, cipher: ContentCipher, logger: Logger): Promise<number> {
  const pass = await resealValues(orm, cipher, 'plain', 500, logger);
  if (pass.failed > 0) throw new Error(`${pass.failed} stored values could not be sealed; see the log`);
  await orm.em
    .getConnection()
    .execute('insert into app_meta (key, value, created_at) values (?, ?, now()) on conflict do nothing', [MIGRATED_KEY, new Date().toISOString()]);
  return pass.resealed;
}
