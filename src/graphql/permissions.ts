import type { GraphQLSchema } from 'graphql';
import { allow, deny, rule, shield } from 'graphql-shield';
import type { IRules } from 'graphql-shield';
import { middleware, type IMiddlewareGenerator, type IMiddlewareTypeMap } from 'graphql-middleware';
import { Role } from './role';
import { isApiKeyCaller, type Context } from './context';
import { ForbiddenError, UnauthenticatedError } from './errors';

const unauthenticated = (ctx: Context) => new UnauthenticatedError(ctx.authProblem ?? 'Authentication required', ctx.authReason);

/** An API key asking for what only an interactive session may do: FORBIDDEN, and the refusal audited. */
function refuseApiKey(ctx: Context, info: { parentType: { name: string }; fieldName: string }): ForbiddenError {
  ctx.apiKeyRefused(`${info.parentType.name}.${info.fieldName}`);
  return new ForbiddenError('API keys may only be used for chat, usage and model operations');
}

/**
 * A signed-in caller: an access token of an active session, or an API key. Only chat, usage and
 * model operations use it; everything else names isSessionUser or hasRole, which refuse keys.
 */
export const isAuthenticated = rule({ cache: 'contextual' })((_parent, _args, ctx: Context) => (ctx.auth ? true : unauthenticated(ctx)));

/** A caller signed in interactively (a login's session), never an API key: sessions, keys, passwords, export, account deletion. */
export const isSessionUser = rule({ cache: 'contextual' })((_parent, _args, ctx: Context, info) => {
  if (!ctx.auth) return unauthenticated(ctx);
  return isApiKeyCaller(ctx.auth) ? refuseApiKey(ctx, info) : true;
});

/** A caller signed in interactively with one of `roles`; others signed in get FORBIDDEN, and so does every API key. */
export const hasRole = (...roles: Role[]) =>
  rule(`hasRole(${roles.join(',')})`, { cache: 'contextual' })((_parent, _args, ctx: Context, info) => {
    if (!ctx.auth) return unauthenticated(ctx);
    if (isApiKeyCaller(ctx.auth)) return refuseApiKey(ctx, info);
    return roles.includes(ctx.auth.role) ? true : new ForbiddenError();
  });

/** One instance per rule: shield requires a rule name to mean one object. */
const isAdmin = hasRole(Role.ADMIN);
const isAdminOrAuditor = hasRole(Role.ADMIN, Role.AUDITOR);

/**
 * The user object is the caller's own, or the caller is an ADMIN. Not cached: the check is two
 * comparisons, while shield's 'strict' cache would hash the whole parent entity (object-hash) per field.
 */
const isSelfOrAdmin = rule({ cache: 'no_cache' })((parent: { id: string }, _args, ctx: Context) => {
  if (!ctx.auth) return unauthenticated(ctx);
  return ctx.auth.userId === parent.id || ctx.auth.role === Role.ADMIN ? true : new ForbiddenError();
});

/**
 * The one permission map. Every root field is named explicitly (a test walks the schema to
 * make sure); anything not named, on any type, is denied by the fallback rule. Ownership of
 * conversations and messages is checked in services, which answer NOT_FOUND.
 */
export const RULES = {
  Query: {
    captchaChallenge: allow,
    models: allow,
    me: isAuthenticated,
    mySessions: isSessionUser,
    conversations: isAuthenticated,
    conversation: isAuthenticated,
    myUsage: isAuthenticated,
    uploadLimits: isAuthenticated,
    myApiKeys: isSessionUser,
    auditEvents: isAdminOrAuditor,
    verifyAuditChain: isAdminOrAuditor,
    securitySummary: isAdminOrAuditor,
    users: isAdmin,
  },
  Mutation: {
    register: allow,
    login: allow,
    refreshSession: allow,
    logout: isSessionUser,
    logoutAll: isSessionUser,
    revokeSession: isSessionUser,
    changePassword: isSessionUser,
    createConversation: isAuthenticated,
    updateConversation: isAuthenticated,
    deleteConversation: isAuthenticated,
    sendMessage: isAuthenticated,
    cancelGeneration: isAuthenticated,
    regenerateReply: isAuthenticated,
    editMessage: isAuthenticated,
    exportMyData: isSessionUser,
    deleteMyAccount: isSessionUser,
    createApiKey: isSessionUser,
    revokeApiKey: isSessionUser,
    setUserRole: isAdmin,
    lockUser: isAdmin,
    unlockUser: isAdmin,
    revokeUserSessions: isAdmin,
  },
  Subscription: {
    messageStream: isAuthenticated,
    chatEvents: isAuthenticated,
    auditEventAdded: isAdminOrAuditor,
  },
  User: { '*': allow, email: isSelfOrAdmin, usage: isAdmin },
  AuthPayload: allow,
  Session: allow,
  CaptchaChallenge: allow,
  ModelInfo: allow,
  Conversation: allow,
  ConversationConnection: allow,
  ConversationEdge: allow,
  Message: allow,
  MessageConnection: allow,
  MessageEdge: allow,
  MessageStreamEvent: allow,
  ChatEvent: allow,
  PageInfo: allow,
  SendMessagePayload: allow,
  TokenUsage: allow,
  Attachment: allow,
  AuditEvent: allow,
  AuditEventEdge: allow,
  AuditEventConnection: allow,
  AuditChainReport: allow,
  UserEdge: allow,
  UserConnection: allow,
  IpCount: allow,
  SecuritySummary: allow,
  UsageSummary: allow,
  UploadLimits: allow,
  ApiKey: allow,
  ApiKeyPayload: allow,
} satisfies IRules;

/** The rule shield applies to `type.field`: the field's own, else the type's `*`, else the type's rule, else `fallback`. */
function ruleOf(rules: Record<string, unknown>, type: string, field: string, fallback: unknown): unknown {
  const forType = rules[type];
  if (forType === undefined || forType === null) return fallback;
  // A rule (a class instance) covers the whole type; a plain object maps fields to rules.
  if (Object.getPrototypeOf(forType) !== Object.prototype) return forType;
  const fields = forType as Record<string, unknown>;
  return fields[field] ?? fields['*'] ?? fallback;
}

/**
 * graphql-shield with deny as the fallback; resolvers' own errors keep their codes. `extra`: test
 * fixtures only. Fields whose rule is `allow` are left unwrapped: shield would wrap every field
 * of every type in an async middleware (two promises per field, per object, per request) only to
 * return `true`. Every other field, including any the map does not name (deny), stays wrapped.
 */
export function permissions(extra: IRules = {}): IMiddlewareGenerator<unknown, Context, unknown> {
  const rules = { ...RULES } as Record<string, unknown>;
  for (const [type, fields] of Object.entries(extra as Record<string, object>)) rules[type] = { ...(rules[type] ?? {}), ...fields };
  const shielded = shield(rules as IRules, {
    fallbackRule: deny,
    fallbackError: () => new ForbiddenError(),
    allowExternalErrors: true,
    debug: false,
  });
  return middleware<unknown, Context, unknown>((schema: GraphQLSchema) => {
    const map = shielded.generate(schema) as IMiddlewareTypeMap;
    for (const [type, forType] of Object.entries(map)) {
      if (typeof forType === 'function') continue; // shield maps every object type field by field
      const fields = forType as Record<string, unknown>;
      for (const field of Object.keys(fields)) if (ruleOf(rules, type, field, deny) === allow) delete fields[field];
      if (Object.keys(fields).length === 0) delete map[type];
    }
    return map;
  });
}
