import cors from 'cors';
import helmet from 'helmet';
import type { RequestHandler } from 'express';
import type { Config } from '../config';

/**
 * Security headers for an API that never serves a page: nothing may load from its responses,
 * nothing may frame them, no referrer leaves, and HSTS pins HTTPS in prod.
 */
export function securityHeaders(config: Config): RequestHandler {
  return helmet({
    contentSecurityPolicy: {
      useDefaults: false,
      directives: { defaultSrc: ["'none'"], frameAncestors: ["'none'"] },
    },
    frameguard: { action: 'deny' },
    referrerPolicy: { policy: 'no-referrer' },
    strictTransportSecurity: config.appEnv === 'prod' ? { maxAge: 31_536_000, includeSubDomains: true } : false,
    // helmet's defaults stay on: X-XSS-Protection: 0 (the legacy auditor caused more bugs than it fixed), etc.
  });
}

const DEV_LOCAL_ORIGIN = /^http:\/\/(localhost|127\.0\.0\.1|\[::1\])(:\d+)?$/;

/** True when a browser at `origin` may call the API: exact CORS_ORIGINS; in dev with none set, localhost. */
export function originAllowed(config: Config, origin: string): boolean {
  if (config.corsOrigins.includes(origin)) return true;
  return config.appEnv === 'dev' && config.corsOrigins.length === 0 && DEV_LOCAL_ORIGIN.test(origin);
}

/** CORS for browsers: exact origins, credentials allowed (the refresh cookie), nothing else. */
export function corsPolicy(config: Config): RequestHandler {
  return cors({
    origin: (origin, cb) => cb(null, origin !== undefined && originAllowed(config, origin)),
    credentials: true,
    methods: ['GET', 'POST', 'OPTIONS'],
    allowedHeaders: ['content-type', 'authorization', 'apollo-require-preflight', 'x-apollo-operation-name', 'x-request-id'],
    exposedHeaders: ['x-request-id', 'retry-after'],
    maxAge: 600,
  });
}
