import type { EntityManager } from '@mikro-orm/postgresql';
import { isApiKeyCaller, type RequestAuthenticator } from '../graphql/context';
import { API_KEY_PREFIX, type ApiKeyService } from './api-keys';
import type { AuthService } from './auth.service';
import type { SessionRevocations } from './revocations';
import type { TokenService } from './tokens';
import type { Lane } from '../http/admission';

const BEARER = /^Bearer\s+(\S+)$/i;

/** The token of an `Authorization: Bearer …` value, or undefined for anything else. */
export function bearerToken(authorization: string | undefined): string | undefined {
  return authorization ? BEARER.exec(authorization.trim())?.[1] : undefined;
}

/** The `pk_…` secret of an `Authorization: Bearer pk_…` value, or undefined for anything else (a JWT, a malformed header). */
export function apiKeySecret(authorization: string | undefined): string | undefined {
  const token = bearerToken(authorization);
  return token?.startsWith(API_KEY_PREFIX) ? token : undefined;
}

/**
 * The admission lane of an HTTP request (src/http/admission.ts): `session` only for an access
 * token that verifies now (signature, issuer, expiry; cached per token), so no made-up header
 * jumps the queue; the session behind it is checked later, as for every request.
 */
export function laneOf(tokens: TokenService): (authorization: string | undefined) => Lane {
  return (authorization) => {
    const token = bearerToken(authorization);
    if (!token) return 'anonymous';
    if (token.startsWith(API_KEY_PREFIX)) return 'key';
    return typeof tokens.inspect(token) === 'string' ? 'anonymous' : 'session';
  };
}

/** The one authentication HTTP, WebSocket and uploads share: bearer tokens checked against live sessions, or API keys. */
export function createRequestAuthenticator(
  auth: AuthService,
  revocations: SessionRevocations,
  em: EntityManager,
  apiKeys: ApiKeyService,
): RequestAuthenticator {
  return {
    authenticate: (authorization, req) => {
      const secret = apiKeySecret(authorization);
      // The session check is one raw statement on the connection (no entities): no fork needed.
      return secret ? apiKeys.authenticate(em.fork(), secret, req) : auth.authenticate(em, authorization);
    },
    sessionLive: async (caller) => (isApiKeyCaller(caller) ? apiKeys.stillValid(em.fork(), caller) : revocations.isActive(em, caller.sessionId, caller)),
    onRevoked(listener) {
      revocations.on('revoked', listener);
      return () => revocations.off('revoked', listener);
    },
    onResync(listener) {
      revocations.on('resync', listener);
      return () => revocations.off('resync', listener);
    },
  };
}
