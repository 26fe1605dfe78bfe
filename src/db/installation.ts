import { randomUUID } from 'node:crypto';
import type { MikroORM } from '@mikro-orm/postgresql';

/** This deployment's identity, made at its first boot and kept in the database for good. */
export interface Installation {
  installationId: string;
  firstBootAt: Date;
}

/** Reads the installation id, creating it on the first boot (safe when instances start together). */
export async function ensureInstallation(orm: MikroORM): Promise<Installation> {
  const conn = orm.em.getConnection();
  await conn.execute(`insert into app_meta (key, value, created_at) values ('installation_id', ?, now()) on conflict (key) do nothing`, [randomUUID()]);
  const rows = await conn.execute<{ value: string; created_at: string }[]>(`select value, created_at from app_meta where key = 'installation_id'`);
  return { installationId: rows[0].value, firstBootAt: new Date(rows[0].created_at) };
}
