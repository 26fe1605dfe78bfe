import { createHash, timingSafeEqual } from 'node:crypto';
import { Router } from 'express';
import type { MikroORM } from '@mikro-orm/postgresql';
import type { Config } from '../config';
import { databaseAnswers } from '../db/orm';
import type { Metrics } from '../observability/metrics';

function tokenMatches(header: string | undefined, token: string): boolean {
  // Compare digests: equal lengths always, so neither the token nor its length leaks through timing.
  const digest = (s: string) => createHash('sha256').update(s).digest();
  return timingSafeEqual(digest(header ?? ''), digest(`Bearer ${token}`));
}

/** `/healthz` (alive), `/readyz` (database answers within 1 s), `/metrics` (Prometheus). */
export function opsRoutes(deps: { config: Config; orm: MikroORM; metrics: Metrics; isShuttingDown: () => boolean }): Router {
  const router = Router();
  router.get('/healthz', (_req, res) => {
    res.status(200).json({ status: 'ok' });
  });
  router.get('/readyz', async (_req, res) => {
    if (deps.isShuttingDown()) {
      res.status(503).json({ status: 'shutting down' });
      return;
    }
    const ok = await databaseAnswers(deps.orm, 1000);
    res.status(ok ? 200 : 503).json({ status: ok ? 'ready' : 'database unavailable' });
  });
  router.get('/metrics', async (req, res) => {
    if (deps.config.metricsToken && !tokenMatches(req.headers.authorization, deps.config.metricsToken)) {
      res.status(401).set('www-authenticate', 'Bearer').json({ error: 'metrics require a bearer token' });
      return;
    }
    res.set('content-type', deps.metrics.registry.contentType).send(await deps.metrics.registry.metrics());
  });
  return router;
}
