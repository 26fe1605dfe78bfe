import Redis from 'ioredis';
import type { Config } from './config';
import type { Logger } from './logging/logger';

/**
 * A Redis connection when REDIS_URL is set. By default commands fail fast while it is down
 * (no offline queue), so callers (rate limits) fall back rather than hang.
 */
export function createRedis(config: Config, logger: Logger, opts: { queue?: boolean } = {}): Redis | undefined {
  if (!config.redisUrl) return undefined;
  // Pub/sub connections queue commands until connected (a SUBSCRIBE must not be lost).
  const redis = new Redis(
    config.redisUrl,
    opts.queue ? { connectTimeout: 5000 } : { enableOfflineQueue: false, maxRetriesPerRequest: 1, connectTimeout: 5000 },
  );
  let down = false;
  redis.on('error', (err) => {
    if (!down) logger.warn('redis unavailable', { err: err.message });
    down = true;
  });
  redis.on('ready', () => {
    if (down) logger.info('redis available again');
    down = false;
  });
  return redis;
}

/** Closes connections gracefully (pending replies first, such as UNSUBSCRIBE), giving up after 1 s. */
export async function closeRedis(clients: (Redis | undefined)[]): Promise<void> {
  await Promise.all(
    clients
      .filter((c): c is Redis => c !== undefined)
      .map(async (c) => {
        const timer = setTimeout(() => c.disconnect(), 1000);
        await c.quit().catch(() => c.disconnect());
        clearTimeout(timer);
      }),
  );
}
