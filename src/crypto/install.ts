import type { MikroORM } from '@mikro-orm/postgresql';
import type { Config } from '../config';
import type { Logger } from '../logging/logger';
import { ContentCipher, registerCipher } from './cipher';
import { DataKeys, type Sql } from './data-keys';
import { plainRowsSealed, sealPlainRows } from './plain-rows';
import { SealedEntitySubscriber, type SealedEntity } from './sealed-entities';

/** Which entity classes hold encrypted properties, by class name (src/entities.ts lists them). */
export type SealedEntities = Record<string, SealedEntity>;

/**
 * Turns on encryption at rest for `orm`: per-user data keys under DATA_ENCRYPTION_KEYS, the
 * sealing subscriber for entities, the cipher for raw-SQL stores. With `sealPlain` (a server
 * start after migrating), rows stored before encryption are sealed first; once that has been
 * done (by any process), values that are not sealed are refused as tampered.
 */
export async function installEncryption(
  orm: MikroORM,
  config: Config,
  keySql: Sql,
  sealed: SealedEntities,
  logger: Logger,
  opts: { sealPlain: boolean },
): Promise<ContentCipher> {
  const keys = new DataKeys(keySql, config.encryption.keys, config.encryption.dataKeyCacheSeconds);
  const cipher = new ContentCipher(keys);
  registerCipher(orm, cipher);
  orm.em.getEventManager().registerSubscriber(new SealedEntitySubscriber(cipher, sealed));
  if (await plainRowsSealed(orm)) {
    cipher.acceptPlain = false;
  } else if (opts.sealPlain) {
    const count = await sealPlainRows(orm, cipher, logger);
    if (count > 0) logger.info('sealed the rows stored before encryption at rest', { rows: count });
    cipher.acceptPlain = false;
  }
  return cipher;
}
