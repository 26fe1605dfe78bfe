import type { MikroORM } from '@mikro-orm/postgresql';
import type { Logger } from '../logging/logger';
import type { ContentCipher } from './cipher';
import { wrapBinding, type WrappedRow } from './data-keys';
import { IntegrityError, wrapKey } from './envelope';
import { reencrypt, type ReencryptOptions, type ReencryptReport } from './reencrypt';

/** How `npm run rotate-keys` runs. */
export interface RotationOptions extends ReencryptOptions {
  reencrypt: boolean;
}

/** What a rotation did and where the data keys stand afterwards. */
export interface RotationReport {
  /** Keys of users that no longer exist (made while their account was being deleted), deleted. */
  orphans: number;
  rewrapped: number;
  /** Wrapped keys that failed their integrity check under the key-encryption key they name (left as they are). */
  unreadable: number;
  /** The configured key-encryption key ids, the current first. */
  kekIds: string[];
  /** Data keys per key-encryption key id after the run, configured or not. */
  perKek: Map<string, number>;
  reencrypt?: ReencryptReport;
  seconds: number;
}

const NIL = '00000000-0000-0000-0000-000000000000';

/**
 * Re-wraps every data key under the current key-encryption key (and with `reencrypt`, replaces
 * the data keys and re-seals the content); resumable and safe while servers run.
 */
export async function rotateKeys(orm: MikroORM, cipher: ContentCipher, opts: RotationOptions, logger: Logger): Promise<RotationReport> {
  const started = Date.now();
  const kekIds = cipher.keys.keks.map((k) => k.id);
  let orphans = await deleteOrphanKeys(orm);
  const { rewrapped, unreadable } = await rewrapAll(orm, cipher, opts.batch, logger);
  const report: RotationReport = { orphans, rewrapped, unreadable, kekIds, perKek: new Map(), seconds: 0 };
  if (opts.reencrypt) {
    report.reencrypt = await reencrypt(orm, cipher, opts, logger);
    orphans += await deleteOrphanKeys(orm); // a key made for a user deleted while the run replaced theirs
    report.orphans = orphans;
  }
  const counts = await orm.em.getConnection().execute<{ kek_id: string; n: number }[]>('select kek_id, count(*)::int as n from user_key group by kek_id');
  for (const id of kekIds) report.perKek.set(id, 0);
  for (const c of counts) report.perKek.set(c.kek_id, c.n);
  report.seconds = (Date.now() - started) / 1000;
  return report;
}

/**
 * Deletes data keys whose user no longer exists. deleteMyAccount deletes a user's keys in its
 * transaction, but a key made on the key store's own connection while that transaction ran
 * could outlive it; it seals nothing anyone can read, and would keep an old key-encryption key
 * in use. A key is only ever made for a committed user, so no key of a user being created is hit.
 */
async function deleteOrphanKeys(orm: MikroORM): Promise<number> {
  const rows = await orm.em
    .getConnection()
    .execute<unknown[]>('delete from user_key k where not exists (select 1 from "user" u where u.id = k.user_id) returning k.id');
  return rows.length;
}

/**
 * Re-wraps, in batches, every data key under a key-encryption key other than the current one,
 * each update guarded on the old kek_id (servers unwrap whichever key a row names, so they read
 * the row before and after alike). Keys under an unconfigured key-encryption key are left and
 * counted by the caller.
 */
async function rewrapAll(orm: MikroORM, cipher: ContentCipher, batch: number, logger: Logger): Promise<{ rewrapped: number; unreadable: number }> {
  const conn = orm.em.getConnection();
  const current = cipher.keys.keks[0];
  const known = new Set(cipher.keys.keks.map((k) => k.id));
  let rewrapped = 0;
  let unreadable = 0;
  let after = NIL;
  for (;;) {
    const rows = await conn.execute<WrappedRow[]>(
      'select id::text as id, user_id::text as user_id, kek_id, wrapped from user_key where kek_id <> ? and id > ?::uuid order by id limit ?',
      [current.id, after, batch],
    );
    if (rows.length === 0) break;
    const params: unknown[] = [];
    for (const row of rows.filter((r) => known.has(r.kek_id))) {
      let dataKey: Buffer;
      try {
        dataKey = cipher.keys.unwrap(row);
      } catch (err) {
        if (!(err instanceof IntegrityError)) throw err;
        unreadable++;
        logger.error('a wrapped data key failed its integrity check; left as it is', { keyId: row.id, kekId: row.kek_id });
        continue;
      }
      params.push(row.id, row.kek_id, wrapKey(current.key, dataKey, wrapBinding(row.id, row.user_id)));
      dataKey.fill(0);
    }
    // One statement per batch (a commit per key would cost a disk flush each).
    if (params.length > 0) {
      const tuples = Array.from({ length: params.length / 3 }, () => '(?::uuid, ?::text, ?::bytea)').join(', ');
      const done = await conn.execute<unknown[]>(
        `update user_key k set kek_id = ?, wrapped = v.wrapped from (values ${tuples}) as v(id, old, wrapped) where k.id = v.id and k.kek_id = v.old returning 1`,
        [current.id, ...params],
      );
      rewrapped += done.length;
    }
    after = rows[rows.length - 1].id;
    logger.info('re-wrapping data keys under the current key-encryption key', { kekId: current.id, rewrapped });
  }
  return { rewrapped, unreadable };
}

/** True when the report names something the operator must fix (the command then exits 1). */
export function rotationFailed(r: RotationReport): boolean {
  return unknownKeks(r).length > 0 || r.unreadable > 0 || (r.reencrypt?.failed ?? 0) > 0;
}

function unknownKeks(r: RotationReport): string[] {
  return [...r.perKek.entries()].filter(([id, n]) => n > 0 && !r.kekIds.includes(id)).map(([id]) => id);
}

/** The one status line: data keys per key-encryption key id, what can be removed, what is wrong, what was done. Never a key. */
export function statusLine(r: RotationReport): string {
  const [current, ...older] = r.kekIds;
  const parts = [`data keys per key-encryption key: ${[...r.perKek.entries()].map(([id, n]) => `${id}=${n}${id === current ? ' (current)' : ''}`).join(', ')}`];
  parts.push(r.rewrapped > 0 ? `re-wrapped ${r.rewrapped} under "${current}"` : `nothing to re-wrap: every data key is under "${current}"`);
  const removable = older.filter((id) => r.perKek.get(id) === 0);
  if (removable.length > 0) {
    const names = removable.map((id) => `"${id}"`).join(', ');
    parts.push(`${names} ${removable.length === 1 ? 'wraps' : 'wrap'} no data key any more and can now be removed from DATA_ENCRYPTION_KEYS`);
  }
  for (const id of unknownKeks(r)) {
    parts.push(
      `ERROR: ${r.perKek.get(id)} data keys are under "${id}", which DATA_ENCRYPTION_KEYS does not hold: add it back (after the current key) and rerun`,
    );
  }
  if (r.unreadable > 0) parts.push(`ERROR: ${r.unreadable} wrapped data keys failed their integrity check (see the log)`);
  if (r.orphans > 0) parts.push(`deleted ${r.orphans} data keys of deleted users`);
  if (r.reencrypt) parts.push(reencryptStatus(r.reencrypt));
  return `rotate-keys: ${parts.join('; ')} (${r.seconds.toFixed(1)} s)`;
}

function reencryptStatus(e: ReencryptReport): string {
  if (e.retired === 0 && e.destroyed === 0 && e.resealed === 0 && e.pending === 0) {
    return `reencrypt: nothing to do, every data key was made after this re-encryption began (${e.cutoff})`;
  }
  let text = `reencrypt: ${e.retired} data keys retired, ${e.destroyed} destroyed, ${e.resealed} values re-sealed`;
  if (e.failed > 0) text += `; ERROR: ${e.failed} values did not open with their retired key (see the log) and keep it`;
  if (e.pending > 0 && e.failed === 0) {
    text += `; ${e.pending} retired keys wait for servers' caches to expire: run rotate-keys --reencrypt again in ${e.pendingSeconds} s to destroy them`;
  }
  return text;
}
