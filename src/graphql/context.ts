import type { EntityManager } from '@mikro-orm/postgresql';
import type { Config } from '../config';
import type { Logger } from '../logging/logger';

/** What every resolver receives, built by one function for HTTP and WebSocket alike. */
export interface Context {
  requestId: string;
  ip?: string;
  transport: 'http' | 'ws';
  logger: Logger;
  /** A fork of the ORM's entity manager, private to this operation. */
  em: EntityManager;
  config: Config;
}

/** The process-wide parts a context is built from. */
export interface ContextDeps {
  config: Config;
  logger: Logger;
  em: EntityManager;
}

/** Builds the per-operation context: its own `em` fork and a logger tagged with the request id. */
export function buildContext(deps: ContextDeps, req: { requestId: string; ip?: string; transport: 'http' | 'ws' }): Context {
  return {
    requestId: req.requestId,
    ip: req.ip,
    transport: req.transport,
    logger: deps.logger.child({ requestId: req.requestId }),
    em: deps.em.fork(),
    config: deps.config,
  };
}
