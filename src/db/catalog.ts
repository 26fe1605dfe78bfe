import type pg from 'pg';
import type { BackupSequence } from './backup-format';

/** The table MikroORM records applied migrations in (ormOptions' `migrations.tableName`). */
export const MIGRATIONS_TABLE = 'mikro_orm_migrations';
/**
 * Tables that hold no one's data: the applied migrations, and the installation id a first start
 * writes. A database with rows only in these is empty for a restore, which replaces them.
 */
export const BOOKKEEPING_TABLES = [MIGRATIONS_TABLE, 'app_meta'];

export interface CatalogTable {
  name: string;
  columns: string[];
}

/** Orders tables so each comes after the tables its foreign keys point to (ties by name; cycles last). */
function dependencyOrder(names: string[], edges: { child: string; parent: string }[]): string[] {
  const parents = new Map(names.map((n) => [n, new Set<string>()]));
  for (const { child, parent } of edges) if (child !== parent) parents.get(child)?.add(parent);
  const ordered: string[] = [];
  const left = new Set([...names].sort());
  for (;;) {
    const ready = [...left].filter((n) => [...parents.get(n)!].every((p) => !left.has(p)));
    if (ready.length === 0) break;
    for (const n of ready) {
      ordered.push(n);
      left.delete(n);
    }
  }
  // A cycle between tables cannot be loaded in any order; its foreign keys will say so on restore.
  return [...ordered, ...left];
}

/** Every ordinary table of the public schema with its stored (not generated) columns, in foreign-key order. */
export async function listTables(client: pg.Client): Promise<CatalogTable[]> {
  const { rows: columns } = await client.query<{ table: string; column: string }>(
    `select c.relname as table, a.attname as column
       from pg_class c join pg_namespace n on n.oid = c.relnamespace
       join pg_attribute a on a.attrelid = c.oid and a.attnum > 0 and not a.attisdropped and a.attgenerated = ''
      where n.nspname = 'public' and c.relkind = 'r'
      order by c.relname, a.attnum`,
  );
  const { rows: edges } = await client.query<{ child: string; parent: string }>(
    `select ch.relname as child, pa.relname as parent
       from pg_constraint k join pg_namespace n on n.oid = k.connamespace
       join pg_class ch on ch.oid = k.conrelid join pg_class pa on pa.oid = k.confrelid
      where k.contype = 'f' and n.nspname = 'public'`,
  );
  const byTable = new Map<string, string[]>();
  for (const { table, column } of columns) byTable.set(table, [...(byTable.get(table) ?? []), column]);
  return dependencyOrder([...byTable.keys()], edges).map((name) => ({ name, columns: byTable.get(name)! }));
}

/** The sequences of the public schema and where each stands. */
export async function listSequences(client: pg.Client): Promise<BackupSequence[]> {
  const { rows } = await client.query<{ name: string }>(
    `select c.relname as name from pg_class c join pg_namespace n on n.oid = c.relnamespace
      where n.nspname = 'public' and c.relkind = 'S' order by c.relname`,
  );
  const out: BackupSequence[] = [];
  for (const { name } of rows) {
    const { rows: at } = await client.query<{ last_value: string; is_called: boolean }>(`select last_value, is_called from ${client.escapeIdentifier(name)}`);
    out.push({ name, value: String(at[0].last_value), isCalled: at[0].is_called });
  }
  return out;
}

/** The names of the applied migrations, in the order they ran (none when the table does not exist yet). */
export async function appliedMigrations(client: pg.Client): Promise<string[]> {
  const { rows: exists } = await client.query(`select 1 from pg_tables where schemaname = 'public' and tablename = $1`, [MIGRATIONS_TABLE]);
  if (exists.length === 0) return [];
  const { rows } = await client.query<{ name: string }>(`select name from ${client.escapeIdentifier(MIGRATIONS_TABLE)} order by id`);
  return rows.map((r) => r.name);
}

/** The first table holding someone's data (any table but the bookkeeping ones with a row), or undefined. */
export async function firstTableWithRows(client: pg.Client, tables: string[]): Promise<string | undefined> {
  for (const name of tables) {
    if (BOOKKEEPING_TABLES.includes(name)) continue;
    const { rows } = await client.query(`select 1 from ${client.escapeIdentifier(name)} limit 1`);
    if (rows.length > 0) return name;
  }
  return undefined;
}
