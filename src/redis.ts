import Redis from 'ioredis';
import type { Config } from './config';
import type { Logger } from './logging/logger';

/**
 * The shared Redis connection when REDIS_URL is set. Commands fail fast while it is down
 * (no offline queue), so callers fall back rather than hang.
 */
export function createRedis(config: Config, logger: Logger): Redis | undefined {
  if (!config.redisUrl) return undefined;
  const redis = new Redis(config.redisUrl, { enableOfflineQueue: false, maxRetriesPerRequest: 1, connectTimeout: 5000, lazyConnect: false });
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
