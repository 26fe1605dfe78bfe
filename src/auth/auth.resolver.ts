import { Arg, Ctx, Directive, ID, Mutation, Query, Resolver } from 'type-graphql';
import { rateLimitOf } from '../graphql/rate-limit';
import { requestMeta, requireAuth, type Context } from '../graphql/context';
import { NotFoundError } from '../graphql/errors';
import { AuthPayload, CaptchaChallenge, LoginInput, RegisterInput, SessionInfo } from './auth.types';
import type { IssuedTokens } from './auth.service';
import { REFRESH_COOKIE, clearedRefreshCookie, refreshCookie } from './cookies';
import { User } from './user.entity';
import type { Role } from '../graphql/role';

function deliver(ctx: Context, issued: IssuedTokens): AuthPayload {
  // From here on the caller is the user just signed in (e.g. for `user { email }` in the payload).
  ctx.auth = { userId: issued.user.id, role: issued.user.role, sessionId: issued.sessionId, expiresAt: issued.accessTokenExpiresAt };
  ctx.setCookie?.(refreshCookie(issued.refreshToken, issued.refreshTokenExpiresAt, ctx.config.appEnv === 'prod'));
  return {
    accessToken: issued.accessToken,
    accessTokenExpiresAt: issued.accessTokenExpiresAt,
    refreshToken: issued.refreshToken,
    refreshTokenExpiresAt: issued.refreshTokenExpiresAt,
    user: issued.user,
  };
}

/** What `me` reads of the caller's user row: the User type's fields, never the password hash. */
// Times as epoch milliseconds: the ORM's pg type parsers hand timestamps over as text.
const ME_SQL =
  'select id, email, display_name, role, extract(epoch from created_at) * 1000 as created_ms, extract(epoch from locked_until) * 1000 as locked_ms from "user" where id = $1';
interface UserRow {
  id: string;
  email: string;
  display_name: string | null;
  role: Role;
  created_ms: number;
  locked_ms: number | null;
}
/** The User type's fields as `me` answers them (a plain object; field resolvers read only these). */
type UserView = Pick<User, 'id' | 'email' | 'displayName' | 'role' | 'createdAt' | 'lockedUntil'>;

@Resolver()
export class AuthResolver {
  @Directive(rateLimitOf('captcha'))
  @Query(() => CaptchaChallenge, { description: 'A fresh captcha to solve before `register` or `login`.' })
  captchaChallenge(@Ctx() ctx: Context): Promise<CaptchaChallenge> {
    return ctx.services.captcha.challenge(ctx.ip, ctx.em);
  }

  @Query(() => User, { description: 'The signed-in user.' })
  async me(@Ctx() ctx: Context): Promise<UserView> {
    const auth = requireAuth(ctx);
    // One prepared statement instead of an entity load: `me` is the hottest authenticated read.
    const [row] = await ctx.preparedRead<UserRow>('auth.me', ME_SQL, [auth.userId]);
    if (!row) throw new NotFoundError('User');
    return {
      id: row.id,
      email: row.email,
      displayName: row.display_name,
      role: row.role,
      createdAt: new Date(Number(row.created_ms)),
      lockedUntil: row.locked_ms === null ? null : new Date(Number(row.locked_ms)),
    };
  }

  @Query(() => [SessionInfo], { description: "The signed-in user's active sessions, newest first." })
  async mySessions(@Ctx() ctx: Context): Promise<SessionInfo[]> {
    const auth = requireAuth(ctx);
    const sessions = await ctx.services.auth.sessions(ctx.em, auth);
    return sessions.map((s) => ({
      id: s.id,
      createdAt: s.createdAt,
      lastUsedAt: s.lastUsedAt,
      ip: s.ip,
      userAgent: s.userAgent,
      current: s.id === auth.sessionId,
    }));
  }

  @Directive(rateLimitOf('register'))
  @Mutation(() => AuthPayload, { description: 'Creates an account (role USER) and signs it in. Needs a solved captcha.' })
  async register(@Arg('input', () => RegisterInput, { description: 'The new account.' }) input: RegisterInput, @Ctx() ctx: Context): Promise<AuthPayload> {
    return deliver(ctx, await ctx.services.auth.register(ctx.em, input, requestMeta(ctx)));
  }

  @Directive(rateLimitOf('login'))
  @Mutation(() => AuthPayload, { description: 'Signs in. Needs a solved captcha; repeated failures lock the account for a while.' })
  async login(@Arg('input', () => LoginInput, { description: 'Credentials and captcha.' }) input: LoginInput, @Ctx() ctx: Context): Promise<AuthPayload> {
    return deliver(ctx, await ctx.services.auth.login(ctx.em, input, requestMeta(ctx)));
  }

  @Directive(rateLimitOf('refresh'))
  @Mutation(() => AuthPayload, {
    description:
      'Trades a refresh token (argument, or the HttpOnly cookie when omitted) for new tokens. Each refresh token works once: presented again within REFRESH_REUSE_GRACE_SECONDS of its rotation it returns the same new refresh token (tabs racing each other), later reuse revokes its session (TOKEN_REUSED).',
  })
  async refreshSession(
    @Arg('refreshToken', () => String, { nullable: true, description: 'The refresh token; omit to use the cookie.' }) refreshToken: string | null | undefined,
    @Ctx() ctx: Context,
  ): Promise<AuthPayload> {
    const token = refreshToken ?? ctx.cookies[REFRESH_COOKIE];
    return deliver(ctx, await ctx.services.auth.refresh(ctx.em, token, requestMeta(ctx)));
  }

  @Mutation(() => Boolean, { description: 'Ends the current session and clears the refresh cookie.' })
  async logout(@Ctx() ctx: Context): Promise<boolean> {
    const auth = requireAuth(ctx);
    await ctx.services.auth.logout(ctx.em, auth, requestMeta(ctx), false);
    ctx.setCookie?.(clearedRefreshCookie(ctx.config.appEnv === 'prod'));
    return true;
  }

  @Mutation(() => Boolean, { description: "Ends every one of the signed-in user's sessions." })
  async logoutAll(@Ctx() ctx: Context): Promise<boolean> {
    const auth = requireAuth(ctx);
    await ctx.services.auth.logout(ctx.em, auth, requestMeta(ctx), true);
    ctx.setCookie?.(clearedRefreshCookie(ctx.config.appEnv === 'prod'));
    return true;
  }

  @Mutation(() => Boolean, { description: "Ends one of the signed-in user's sessions; another user's session id is NOT_FOUND." })
  async revokeSession(@Arg('id', () => ID, { description: 'The session to end.' }) id: string, @Ctx() ctx: Context): Promise<boolean> {
    const auth = requireAuth(ctx);
    if (!/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(id)) throw new NotFoundError('Session');
    await ctx.services.auth.revokeSession(ctx.em, auth, id, requestMeta(ctx));
    return true;
  }

  @Directive(rateLimitOf('passwordCheck'))
  @Mutation(() => Boolean, {
    description: 'Changes the password and ends every other session. Rate limited per user; wrong current passwords count toward the login lockout.',
  })
  async changePassword(
    @Arg('currentPassword', { description: 'The password in use now.' }) currentPassword: string,
    @Arg('newPassword', { description: 'The new password (same policy as registration).' }) newPassword: string,
    @Ctx() ctx: Context,
  ): Promise<boolean> {
    const auth = requireAuth(ctx);
    await ctx.services.auth.changePassword(ctx.em, auth, currentPassword, newPassword, requestMeta(ctx));
    return true;
  }
}
