import type { EntityManager } from '@mikro-orm/postgresql';

/** The slice of pg's client a prepared read needs. */
interface PgConnection {
  query(config: { name: string; text: string; values: unknown[] }): Promise<{ rows: unknown[] }>;
}

/** The slice of knex's client that lends out the pool's pg connections. */
interface PoolClient {
  acquireConnection(): Promise<PgConnection>;
  releaseConnection(connection: PgConnection): Promise<void>;
}

/**
 * Runs a named statement on a connection of the ORM's own pool (same statement timeout, same
 * limits), without an entity manager, the query builder or hydration. pg prepares a named
 * statement once per connection and afterwards only binds the values: for reads on the hot path
 * (the caller's own user row for `me`). Values are always bound, never written into the text.
 */
export async function preparedRead<T>(em: EntityManager, name: string, text: string, values: unknown[]): Promise<T[]> {
  const client = em.getConnection().getKnex().client as PoolClient;
  const connection = await client.acquireConnection();
  try {
    return (await connection.query({ name, text, values })).rows as T[];
  } finally {
    await client.releaseConnection(connection);
  }
}
