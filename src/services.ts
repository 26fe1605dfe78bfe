import type { EntityManager } from '@mikro-orm/postgresql';
import type { Config } from './config';
import { AuditService } from './audit/audit.service';
import { AuthService } from './auth/auth.service';
import { createCaptchaVerifier, type CaptchaVerifier } from './auth/captcha/captcha';
import { LoginGuard } from './auth/login-guard';
import { PasswordHasher } from './auth/passwords';
import { SessionRevocations } from './auth/revocations';
import { TokenService } from './auth/tokens';
import type { Logger } from './logging/logger';

/** Every service, wired once per process; resolvers reach them through the context. */
export interface Services {
  audit: AuditService;
  auth: AuthService;
  captcha: CaptchaVerifier;
  tokens: TokenService;
  passwords: PasswordHasher;
  revocations: SessionRevocations;
}

/** Builds the services for this process (plain classes, no container). */
export function createServices(config: Config, logger: Logger, em: EntityManager): Services {
  const audit = new AuditService(logger, em);
  const tokens = new TokenService(config);
  const passwords = new PasswordHasher(config);
  const guard = new LoginGuard(config);
  const revocations = new SessionRevocations();
  revocations.setMaxListeners(0);
  const captcha = createCaptchaVerifier(config, logger, (ip) => guard.recentFailures(ip));
  const auth = new AuthService(config, logger, audit, tokens, passwords, captcha, guard, revocations);
  return { audit, auth, captcha, tokens, passwords, revocations };
}
