import { setTimeout as sleep } from 'node:timers/promises';
import type { MikroORM } from '@mikro-orm/postgresql';
import type { Logger } from '../logging/logger';
import type { ContentCipher } from './cipher';
import { resealValues } from './reseal';

/** How `--reencrypt` runs. */
export interface ReencryptOptions {
  batch: number;
  /** Wait until retired keys can be destroyed and run the final pass (false: `--no-wait`, a later run destroys them). */
  wait: boolean;
  /**
   * Seconds after a key's retirement before a pass that finds no value under it may destroy it:
   * servers' DATA_KEY_CACHE_TTL (they may seal with a cached retired key that long), plus one
   * statement timeout and a few seconds for a write sealed just before then to commit.
   */
  graceSeconds: number;
}

/** What `--reencrypt` did. */
export interface ReencryptReport {
  /** When this key-encryption key's re-encryption began: data keys made before it are replaced. */
  cutoff: string;
  retired: number;
  destroyed: number;
  resealed: number;
  /** Values that did not open with their retired key (they keep it from being destroyed). */
  failed: number;
  /** Retired keys still in user_key at the end. */
  pending: number;
  /** Seconds until the pending keys may be destroyed (0 when they are held by values that failed). */
  pendingSeconds: number;
}

/** Passes over every encrypted column per run at most (each one after the first is a confirming pass). */
const MAX_PASSES = 10;

/**
 * Replaces every data key made before this re-encryption began, re-seals the values under the
 * retired keys, and destroys a retired key once a pass that started more than `graceSeconds`
 * after its retirement found no value under it. The start is kept in app_meta per current
 * key-encryption key, so an interrupted run resumes and a finished one reruns as a no-op.
 */
export async function reencrypt(orm: MikroORM, cipher: ContentCipher, opts: ReencryptOptions, logger: Logger): Promise<ReencryptReport> {
  const cutoff = await cutoffFor(orm, cipher.keys.keks[0].id);
  const report: ReencryptReport = { cutoff, retired: 0, destroyed: 0, resealed: 0, failed: 0, pending: 0, pendingSeconds: 0 };
  report.retired = await replaceKeys(orm, cipher, cutoff, opts.batch, logger);
  for (let pass = 1; pass <= MAX_PASSES; pass++) {
    const before = await retiredKeys(orm);
    if (before.count === 0) break;
    const started = await dbNow(orm);
    const found = await resealValues(orm, cipher, 'retired', opts.batch, logger);
    report.resealed += found.resealed;
    report.failed = found.failed;
    report.destroyed += await destroyUnused(orm, started, opts.graceSeconds, found.found, opts.batch);
    const left = await retiredKeys(orm);
    if (left.count === 0 || !opts.wait) break;
    const readyAt = left.newest!.getTime() + opts.graceSeconds * 1000;
    // A pass after every window that found only values that do not open: another pass changes nothing.
    const seen = [...found.found.values()].reduce((a, b) => a + b, 0);
    if (started.getTime() > readyAt && seen === found.failed) break;
    const waitMs = readyAt - (await dbNow(orm)).getTime();
    if (waitMs > 0) {
      logger.info('waiting for servers to drop retired data keys from memory before destroying them', { seconds: Math.ceil(waitMs / 1000) });
      await sleep(waitMs + 250);
    }
  }
  const left = await retiredKeys(orm);
  report.pending = left.count;
  if (left.newest) report.pendingSeconds = Math.max(0, Math.ceil((left.newest.getTime() + opts.graceSeconds * 1000 - (await dbNow(orm)).getTime()) / 1000));
  return report;
}

/** The start of the re-encryption under key-encryption key `kekId`: recorded by its first run, read by the next. */
async function cutoffFor(orm: MikroORM, kekId: string): Promise<string> {
  const conn = orm.em.getConnection();
  const key = `encryption.reencrypt_started_at.${kekId}`;
  await conn.execute(
    `insert into app_meta (key, value, created_at) values (?, to_char(clock_timestamp() at time zone 'utc', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'), now())
                      on conflict do nothing`,
    [key],
  );
  const [row] = await conn.execute<{ value: string }[]>('select value from app_meta where key = ?', [key]);
  return row.value;
}

/**
 * Per batch of users, in one transaction: retires each current data key made before `cutoff`
 * and inserts a fresh one wrapped under the current key-encryption key. A key retired
 * meanwhile by another run is skipped (the guard on retired_at), and a user deleted meanwhile
 * gets no new key. Returns how many keys were retired.
 */
async function replaceKeys(orm: MikroORM, cipher: ContentCipher, cutoff: string, batch: number, logger: Logger): Promise<number> {
  let retired = 0;
  let after = '00000000-0000-0000-0000-000000000000';
  for (;;) {
    const rows = await orm.em
      .getConnection()
      .execute<{ id: string }[]>(
        'select id::text as id from user_key where retired_at is null and created_at < ?::timestamptz and id > ?::uuid order by id limit ?',
        [cutoff, after, batch],
      );
    if (rows.length === 0) return retired;
    after = rows[rows.length - 1].id;
    await orm.em.fork().transactional(async (tx) => {
      const run = <T>(sql: string, params: unknown[]) => tx.getConnection().execute<T[]>(sql, params, 'all', tx.getTransactionContext());
      const users = await run<{ user_id: string }>(
        `update user_key set retired_at = clock_timestamp() where id in (${rows.map(() => '?').join(', ')}) and retired_at is null returning user_id`,
        rows.map((r) => r.id),
      );
      if (users.length === 0) return;
      const fresh = users.map((u) => cipher.keys.wrapNew(u.user_id));
      await run(
        `insert into user_key (id, user_id, kek_id, wrapped, created_at)
         select v.id, v.user_id, v.kek_id, v.wrapped, now() from (values ${fresh.map(() => '(?::uuid, ?::uuid, ?::text, ?::bytea)').join(', ')}) as v(id, user_id, kek_id, wrapped)
         where exists (select 1 from "user" u where u.id = v.user_id) on conflict do nothing`,
        fresh.flatMap((f, i) => [f.id, users[i].user_id, f.kekId, f.wrapped]),
      );
      retired += users.length;
    });
    logger.info('replacing data keys', { retired });
  }
}

async function retiredKeys(orm: MikroORM): Promise<{ count: number; newest: Date | null }> {
  const [row] = await orm.em
    .getConnection()
    .execute<{ count: number; newest: Date | null }[]>('select count(*)::int as count, max(retired_at) as newest from user_key where retired_at is not null');
  return { count: row.count, newest: row.newest === null ? null : new Date(row.newest) };
}

/**
 * Deletes, `batch` at a time, the retired keys whose window had closed when the pass began and
 * under which the pass found no value.
 */
async function destroyUnused(orm: MikroORM, passStarted: Date, graceSeconds: number, found: Map<string, number>, batch: number): Promise<number> {
  let destroyed = 0;
  for (;;) {
    const gone = await orm.em.getConnection().execute<unknown[]>(
      `delete from user_key where id in (
         select id from user_key where retired_at is not null and retired_at + make_interval(secs => ?) < ?::timestamptz
           and not (id = any(string_to_array(?, ',')::uuid[])) limit ?)
       returning id`,
      [graceSeconds, passStarted.toISOString(), [...found.keys()].join(','), batch],
    );
    destroyed += gone.length;
    if (gone.length < batch) return destroyed;
  }
}

async function dbNow(orm: MikroORM): Promise<Date> {
  const [row] = await orm.em.getConnection().execute<{ now: Date }[]>('select clock_timestamp() as now');
  return new Date(row.now);
}
