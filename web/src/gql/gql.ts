/* eslint-disable */
import * as types from './graphql';
import type { TypedDocumentNode as DocumentNode } from '@graphql-typed-document-node/core';

/**
 * Map of all GraphQL operations in the project.
 *
 * This map has several performance disadvantages:
 * 1. It is not tree-shakeable, so it will include all operations in the project.
 * 2. It is not minifiable, so the string of a GraphQL query will be multiple times inside the bundle.
 * 3. It does not support dead code elimination, so it will add unused operations.
 *
 * Therefore it is highly recommended to use the babel or swc plugin for production.
 * Learn more about it here: https://the-guild.dev/graphql/codegen/plugins/presets/preset-client#reducing-bundle-size
 */
type Documents = {
    "\n  mutation Logout {\n    logout\n  }\n": typeof types.LogoutDocument,
    "\n  subscription ChatEvents {\n    chatEvents {\n      type\n      conversationId\n    }\n  }\n": typeof types.ChatEventsDocument,
    "\n  query MySessions {\n    mySessions {\n      id\n      createdAt\n      lastUsedAt\n      ip\n      userAgent\n      current\n    }\n  }\n": typeof types.MySessionsDocument,
    "\n  mutation RevokeSession($id: ID!) {\n    revokeSession(id: $id)\n  }\n": typeof types.RevokeSessionDocument,
    "\n  mutation LogoutAll {\n    logoutAll\n  }\n": typeof types.LogoutAllDocument,
    "\n  mutation ChangePassword($currentPassword: String!, $newPassword: String!) {\n    changePassword(currentPassword: $currentPassword, newPassword: $newPassword)\n  }\n": typeof types.ChangePasswordDocument,
    "\n  mutation ExportMyData {\n    exportMyData\n  }\n": typeof types.ExportMyDataDocument,
    "\n  mutation DeleteMyAccount($password: String!) {\n    deleteMyAccount(password: $password)\n  }\n": typeof types.DeleteMyAccountDocument,
    "\n  query AdminAuditEvents($filter: AuditFilter, $first: Int, $after: String, $order: SortOrder) {\n    auditEvents(filter: $filter, first: $first, after: $after, order: $order) {\n      edges {\n        cursor\n        node {\n          ...AdminAuditEventFields\n        }\n      }\n      pageInfo {\n        hasNextPage\n        endCursor\n      }\n    }\n  }\n": typeof types.AdminAuditEventsDocument,
    "\n  fragment AdminAuditEventFields on AuditEvent {\n    id\n    seq\n    at\n    actorId\n    actorRole\n    action\n    resourceType\n    resourceId\n    outcome\n    ip\n    requestId\n    metadata\n  }\n": typeof types.AdminAuditEventFieldsFragmentDoc,
    "\n  query AdminVerifyAuditChain($expectedHead: AuditHeadInput) {\n    verifyAuditChain(expectedHead: $expectedHead) {\n      valid\n      checked\n      firstBrokenSeq\n      reason\n    }\n  }\n": typeof types.AdminVerifyAuditChainDocument,
    "\n  query AdminSecuritySummary($since: DateTime!) {\n    securitySummary(since: $since) {\n      failedLogins\n      lockedAccounts\n      rateLimited\n      reusedRefreshTokens\n      topFailingIps {\n        ip\n        count\n      }\n    }\n  }\n": typeof types.AdminSecuritySummaryDocument,
    "\n  fragment AdminUserFields on User {\n    id\n    email\n    displayName\n    role\n    createdAt\n    lockedUntil\n  }\n": typeof types.AdminUserFieldsFragmentDoc,
    "\n  query AdminUsers($filter: UserFilter, $first: Int, $after: String) {\n    users(filter: $filter, first: $first, after: $after) {\n      edges {\n        cursor\n        node {\n          ...AdminUserFields\n        }\n      }\n      pageInfo {\n        hasNextPage\n        endCursor\n      }\n    }\n  }\n": typeof types.AdminUsersDocument,
    "\n  mutation AdminSetUserRole($userId: ID!, $role: Role!) {\n    setUserRole(userId: $userId, role: $role) {\n      ...AdminUserFields\n    }\n  }\n": typeof types.AdminSetUserRoleDocument,
    "\n  mutation AdminLockUser($userId: ID!, $minutes: Int!, $reason: String!) {\n    lockUser(userId: $userId, minutes: $minutes, reason: $reason) {\n      ...AdminUserFields\n    }\n  }\n": typeof types.AdminLockUserDocument,
    "\n  mutation AdminUnlockUser($userId: ID!) {\n    unlockUser(userId: $userId) {\n      ...AdminUserFields\n    }\n  }\n": typeof types.AdminUnlockUserDocument,
    "\n  mutation AdminRevokeUserSessions($userId: ID!) {\n    revokeUserSessions(userId: $userId)\n  }\n": typeof types.AdminRevokeUserSessionsDocument,
    "\n  subscription AdminAuditEventAdded($afterSeq: Int) {\n    auditEventAdded(afterSeq: $afterSeq) {\n      ...AdminAuditEventFields\n    }\n  }\n": typeof types.AdminAuditEventAddedDocument,
    "\n  mutation Login($input: LoginInput!) {\n    login(input: $input) {\n      ...AuthFields\n    }\n  }\n": typeof types.LoginDocument,
    "\n  mutation Register($input: RegisterInput!) {\n    register(input: $input) {\n      ...AuthFields\n    }\n  }\n": typeof types.RegisterDocument,
    "\n  query CaptchaChallenge {\n    captchaChallenge {\n      provider\n      challenge\n    }\n  }\n": typeof types.CaptchaChallengeDocument,
    "\n  fragment AuthFields on AuthPayload {\n    accessToken\n    accessTokenExpiresAt\n    user {\n      id\n      email\n      displayName\n      role\n    }\n  }\n": typeof types.AuthFieldsFragmentDoc,
    "\n  mutation RefreshSession {\n    refreshSession {\n      ...AuthFields\n    }\n  }\n": typeof types.RefreshSessionDocument,
    "\n  mutation ChatSendMessage($input: SendMessageInput!) {\n    sendMessage(input: $input) {\n      userMessageEdge {\n        cursor\n        node {\n          ...ChatMessageFields\n        }\n      }\n      assistantMessageEdge {\n        cursor\n        node {\n          ...ChatMessageFields\n        }\n      }\n      conversation {\n        id\n        title\n        updatedAt\n      }\n    }\n  }\n": typeof types.ChatSendMessageDocument,
    "\n  query Conversations($first: Int, $after: String, $filter: ConversationFilter) {\n    conversations(first: $first, after: $after, filter: $filter) {\n      edges {\n        cursor\n        node {\n          id\n          title\n          updatedAt\n          lastMessage {\n            id\n            createdAt\n          }\n        }\n      }\n      pageInfo {\n        hasNextPage\n        endCursor\n      }\n    }\n  }\n": typeof types.ConversationsDocument,
    "\n  mutation ChatDeleteConversation($id: ID!) {\n    deleteConversation(id: $id)\n  }\n": typeof types.ChatDeleteConversationDocument,
    "\n  query ChatConversation($id: ID!, $last: Int, $before: String) {\n    conversation(id: $id) {\n      id\n      title\n      model\n      systemPrompt\n      messages(last: $last, before: $before) {\n        edges {\n          cursor\n          node {\n            ...ChatMessageFields\n          }\n        }\n        pageInfo {\n          hasPreviousPage\n          startCursor\n        }\n      }\n    }\n  }\n": typeof types.ChatConversationDocument,
    "\n  mutation ChatCancelGeneration($messageId: ID!) {\n    cancelGeneration(messageId: $messageId) {\n      ...ChatMessageFields\n    }\n  }\n": typeof types.ChatCancelGenerationDocument,
    "\n  query ChatModels {\n    models {\n      id\n      provider\n      default\n      development\n    }\n  }\n": typeof types.ChatModelsDocument,
    "\n  mutation ChatCreateConversation($input: CreateConversationInput!) {\n    createConversation(input: $input) {\n      id\n      title\n      model\n      systemPrompt\n      updatedAt\n    }\n  }\n": typeof types.ChatCreateConversationDocument,
    "\n  query ChatUploadLimits {\n    uploadLimits {\n      maxBytes\n      mimeTypes\n    }\n  }\n": typeof types.ChatUploadLimitsDocument,
    "\n  fragment ChatMessageFields on Message {\n    id\n    conversationId\n    role\n    content\n    status\n    model\n    error\n    errorCode\n    finishReason\n    createdAt\n    usage {\n      promptTokens\n      completionTokens\n      totalTokens\n    }\n    attachments {\n      id\n      filename\n      mimeType\n      size\n    }\n  }\n": typeof types.ChatMessageFieldsFragmentDoc,
    "\n  subscription ChatMessageStream($messageId: ID!, $fromOffset: Int) {\n    messageStream(messageId: $messageId, fromOffset: $fromOffset) {\n      messageId\n      offset\n      delta\n      done\n      status\n      message {\n        ...ChatMessageFields\n      }\n    }\n  }\n": typeof types.ChatMessageStreamDocument,
};
const documents: Documents = {
    "\n  mutation Logout {\n    logout\n  }\n": types.LogoutDocument,
    "\n  subscription ChatEvents {\n    chatEvents {\n      type\n      conversationId\n    }\n  }\n": types.ChatEventsDocument,
    "\n  query MySessions {\n    mySessions {\n      id\n      createdAt\n      lastUsedAt\n      ip\n      userAgent\n      current\n    }\n  }\n": types.MySessionsDocument,
    "\n  mutation RevokeSession($id: ID!) {\n    revokeSession(id: $id)\n  }\n": types.RevokeSessionDocument,
    "\n  mutation LogoutAll {\n    logoutAll\n  }\n": types.LogoutAllDocument,
    "\n  mutation ChangePassword($currentPassword: String!, $newPassword: String!) {\n    changePassword(currentPassword: $currentPassword, newPassword: $newPassword)\n  }\n": types.ChangePasswordDocument,
    "\n  mutation ExportMyData {\n    exportMyData\n  }\n": types.ExportMyDataDocument,
    "\n  mutation DeleteMyAccount($password: String!) {\n    deleteMyAccount(password: $password)\n  }\n": types.DeleteMyAccountDocument,
    "\n  query AdminAuditEvents($filter: AuditFilter, $first: Int, $after: String, $order: SortOrder) {\n    auditEvents(filter: $filter, first: $first, after: $after, order: $order) {\n      edges {\n        cursor\n        node {\n          ...AdminAuditEventFields\n        }\n      }\n      pageInfo {\n        hasNextPage\n        endCursor\n      }\n    }\n  }\n": types.AdminAuditEventsDocument,
    "\n  fragment AdminAuditEventFields on AuditEvent {\n    id\n    seq\n    at\n    actorId\n    actorRole\n    action\n    resourceType\n    resourceId\n    outcome\n    ip\n    requestId\n    metadata\n  }\n": types.AdminAuditEventFieldsFragmentDoc,
    "\n  query AdminVerifyAuditChain($expectedHead: AuditHeadInput) {\n    verifyAuditChain(expectedHead: $expectedHead) {\n      valid\n      checked\n      firstBrokenSeq\n      reason\n    }\n  }\n": types.AdminVerifyAuditChainDocument,
    "\n  query AdminSecuritySummary($since: DateTime!) {\n    securitySummary(since: $since) {\n      failedLogins\n      lockedAccounts\n      rateLimited\n      reusedRefreshTokens\n      topFailingIps {\n        ip\n        count\n      }\n    }\n  }\n": types.AdminSecuritySummaryDocument,
    "\n  fragment AdminUserFields on User {\n    id\n    email\n    displayName\n    role\n    createdAt\n    lockedUntil\n  }\n": types.AdminUserFieldsFragmentDoc,
    "\n  query AdminUsers($filter: UserFilter, $first: Int, $after: String) {\n    users(filter: $filter, first: $first, after: $after) {\n      edges {\n        cursor\n        node {\n          ...AdminUserFields\n        }\n      }\n      pageInfo {\n        hasNextPage\n        endCursor\n      }\n    }\n  }\n": types.AdminUsersDocument,
    "\n  mutation AdminSetUserRole($userId: ID!, $role: Role!) {\n    setUserRole(userId: $userId, role: $role) {\n      ...AdminUserFields\n    }\n  }\n": types.AdminSetUserRoleDocument,
    "\n  mutation AdminLockUser($userId: ID!, $minutes: Int!, $reason: String!) {\n    lockUser(userId: $userId, minutes: $minutes, reason: $reason) {\n      ...AdminUserFields\n    }\n  }\n": types.AdminLockUserDocument,
    "\n  mutation AdminUnlockUser($userId: ID!) {\n    unlockUser(userId: $userId) {\n      ...AdminUserFields\n    }\n  }\n": types.AdminUnlockUserDocument,
    "\n  mutation AdminRevokeUserSessions($userId: ID!) {\n    revokeUserSessions(userId: $userId)\n  }\n": types.AdminRevokeUserSessionsDocument,
    "\n  subscription AdminAuditEventAdded($afterSeq: Int) {\n    auditEventAdded(afterSeq: $afterSeq) {\n      ...AdminAuditEventFields\n    }\n  }\n": types.AdminAuditEventAddedDocument,
    "\n  mutation Login($input: LoginInput!) {\n    login(input: $input) {\n      ...AuthFields\n    }\n  }\n": types.LoginDocument,
    "\n  mutation Register($input: RegisterInput!) {\n    register(input: $input) {\n      ...AuthFields\n    }\n  }\n": types.RegisterDocument,
    "\n  query CaptchaChallenge {\n    captchaChallenge {\n      provider\n      challenge\n    }\n  }\n": types.CaptchaChallengeDocument,
    "\n  fragment AuthFields on AuthPayload {\n    accessToken\n    accessTokenExpiresAt\n    user {\n      id\n      email\n      displayName\n      role\n    }\n  }\n": types.AuthFieldsFragmentDoc,
    "\n  mutation RefreshSession {\n    refreshSession {\n      ...AuthFields\n    }\n  }\n": types.RefreshSessionDocument,
    "\n  mutation ChatSendMessage($input: SendMessageInput!) {\n    sendMessage(input: $input) {\n      userMessageEdge {\n        cursor\n        node {\n          ...ChatMessageFields\n        }\n      }\n      assistantMessageEdge {\n        cursor\n        node {\n          ...ChatMessageFields\n        }\n      }\n      conversation {\n        id\n        title\n        updatedAt\n      }\n    }\n  }\n": types.ChatSendMessageDocument,
    "\n  query Conversations($first: Int, $after: String, $filter: ConversationFilter) {\n    conversations(first: $first, after: $after, filter: $filter) {\n      edges {\n        cursor\n        node {\n          id\n          title\n          updatedAt\n          lastMessage {\n            id\n            createdAt\n          }\n        }\n      }\n      pageInfo {\n        hasNextPage\n        endCursor\n      }\n    }\n  }\n": types.ConversationsDocument,
    "\n  mutation ChatDeleteConversation($id: ID!) {\n    deleteConversation(id: $id)\n  }\n": types.ChatDeleteConversationDocument,
    "\n  query ChatConversation($id: ID!, $last: Int, $before: String) {\n    conversation(id: $id) {\n      id\n      title\n      model\n      systemPrompt\n      messages(last: $last, before: $before) {\n        edges {\n          cursor\n          node {\n            ...ChatMessageFields\n          }\n        }\n        pageInfo {\n          hasPreviousPage\n          startCursor\n        }\n      }\n    }\n  }\n": types.ChatConversationDocument,
    "\n  mutation ChatCancelGeneration($messageId: ID!) {\n    cancelGeneration(messageId: $messageId) {\n      ...ChatMessageFields\n    }\n  }\n": types.ChatCancelGenerationDocument,
    "\n  query ChatModels {\n    models {\n      id\n      provider\n      default\n      development\n    }\n  }\n": types.ChatModelsDocument,
    "\n  mutation ChatCreateConversation($input: CreateConversationInput!) {\n    createConversation(input: $input) {\n      id\n      title\n      model\n      systemPrompt\n      updatedAt\n    }\n  }\n": types.ChatCreateConversationDocument,
    "\n  query ChatUploadLimits {\n    uploadLimits {\n      maxBytes\n      mimeTypes\n    }\n  }\n": types.ChatUploadLimitsDocument,
    "\n  fragment ChatMessageFields on Message {\n    id\n    conversationId\n    role\n    content\n    status\n    model\n    error\n    errorCode\n    finishReason\n    createdAt\n    usage {\n      promptTokens\n      completionTokens\n      totalTokens\n    }\n    attachments {\n      id\n      filename\n      mimeType\n      size\n    }\n  }\n": types.ChatMessageFieldsFragmentDoc,
    "\n  subscription ChatMessageStream($messageId: ID!, $fromOffset: Int) {\n    messageStream(messageId: $messageId, fromOffset: $fromOffset) {\n      messageId\n      offset\n      delta\n      done\n      status\n      message {\n        ...ChatMessageFields\n      }\n    }\n  }\n": types.ChatMessageStreamDocument,
};

/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 *
 *
 * @example
 * ```ts
 * const query = graphql(`query GetUser($id: ID!) { user(id: $id) { name } }`);
 * ```
 *
 * The query argument is unknown!
 * Please regenerate the types.
 */
export function graphql(source: string): unknown;

/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation Logout {\n    logout\n  }\n"): (typeof documents)["\n  mutation Logout {\n    logout\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  subscription ChatEvents {\n    chatEvents {\n      type\n      conversationId\n    }\n  }\n"): (typeof documents)["\n  subscription ChatEvents {\n    chatEvents {\n      type\n      conversationId\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query MySessions {\n    mySessions {\n      id\n      createdAt\n      lastUsedAt\n      ip\n      userAgent\n      current\n    }\n  }\n"): (typeof documents)["\n  query MySessions {\n    mySessions {\n      id\n      createdAt\n      lastUsedAt\n      ip\n      userAgent\n      current\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation RevokeSession($id: ID!) {\n    revokeSession(id: $id)\n  }\n"): (typeof documents)["\n  mutation RevokeSession($id: ID!) {\n    revokeSession(id: $id)\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation LogoutAll {\n    logoutAll\n  }\n"): (typeof documents)["\n  mutation LogoutAll {\n    logoutAll\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation ChangePassword($currentPassword: String!, $newPassword: String!) {\n    changePassword(currentPassword: $currentPassword, newPassword: $newPassword)\n  }\n"): (typeof documents)["\n  mutation ChangePassword($currentPassword: String!, $newPassword: String!) {\n    changePassword(currentPassword: $currentPassword, newPassword: $newPassword)\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation ExportMyData {\n    exportMyData\n  }\n"): (typeof documents)["\n  mutation ExportMyData {\n    exportMyData\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation DeleteMyAccount($password: String!) {\n    deleteMyAccount(password: $password)\n  }\n"): (typeof documents)["\n  mutation DeleteMyAccount($password: String!) {\n    deleteMyAccount(password: $password)\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query AdminAuditEvents($filter: AuditFilter, $first: Int, $after: String, $order: SortOrder) {\n    auditEvents(filter: $filter, first: $first, after: $after, order: $order) {\n      edges {\n        cursor\n        node {\n          ...AdminAuditEventFields\n        }\n      }\n      pageInfo {\n        hasNextPage\n        endCursor\n      }\n    }\n  }\n"): (typeof documents)["\n  query AdminAuditEvents($filter: AuditFilter, $first: Int, $after: String, $order: SortOrder) {\n    auditEvents(filter: $filter, first: $first, after: $after, order: $order) {\n      edges {\n        cursor\n        node {\n          ...AdminAuditEventFields\n        }\n      }\n      pageInfo {\n        hasNextPage\n        endCursor\n      }\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  fragment AdminAuditEventFields on AuditEvent {\n    id\n    seq\n    at\n    actorId\n    actorRole\n    action\n    resourceType\n    resourceId\n    outcome\n    ip\n    requestId\n    metadata\n  }\n"): (typeof documents)["\n  fragment AdminAuditEventFields on AuditEvent {\n    id\n    seq\n    at\n    actorId\n    actorRole\n    action\n    resourceType\n    resourceId\n    outcome\n    ip\n    requestId\n    metadata\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query AdminVerifyAuditChain($expectedHead: AuditHeadInput) {\n    verifyAuditChain(expectedHead: $expectedHead) {\n      valid\n      checked\n      firstBrokenSeq\n      reason\n    }\n  }\n"): (typeof documents)["\n  query AdminVerifyAuditChain($expectedHead: AuditHeadInput) {\n    verifyAuditChain(expectedHead: $expectedHead) {\n      valid\n      checked\n      firstBrokenSeq\n      reason\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query AdminSecuritySummary($since: DateTime!) {\n    securitySummary(since: $since) {\n      failedLogins\n      lockedAccounts\n      rateLimited\n      reusedRefreshTokens\n      topFailingIps {\n        ip\n        count\n      }\n    }\n  }\n"): (typeof documents)["\n  query AdminSecuritySummary($since: DateTime!) {\n    securitySummary(since: $since) {\n      failedLogins\n      lockedAccounts\n      rateLimited\n      reusedRefreshTokens\n      topFailingIps {\n        ip\n        count\n      }\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  fragment AdminUserFields on User {\n    id\n    email\n    displayName\n    role\n    createdAt\n    lockedUntil\n  }\n"): (typeof documents)["\n  fragment AdminUserFields on User {\n    id\n    email\n    displayName\n    role\n    createdAt\n    lockedUntil\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query AdminUsers($filter: UserFilter, $first: Int, $after: String) {\n    users(filter: $filter, first: $first, after: $after) {\n      edges {\n        cursor\n        node {\n          ...AdminUserFields\n        }\n      }\n      pageInfo {\n        hasNextPage\n        endCursor\n      }\n    }\n  }\n"): (typeof documents)["\n  query AdminUsers($filter: UserFilter, $first: Int, $after: String) {\n    users(filter: $filter, first: $first, after: $after) {\n      edges {\n        cursor\n        node {\n          ...AdminUserFields\n        }\n      }\n      pageInfo {\n        hasNextPage\n        endCursor\n      }\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation AdminSetUserRole($userId: ID!, $role: Role!) {\n    setUserRole(userId: $userId, role: $role) {\n      ...AdminUserFields\n    }\n  }\n"): (typeof documents)["\n  mutation AdminSetUserRole($userId: ID!, $role: Role!) {\n    setUserRole(userId: $userId, role: $role) {\n      ...AdminUserFields\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation AdminLockUser($userId: ID!, $minutes: Int!, $reason: String!) {\n    lockUser(userId: $userId, minutes: $minutes, reason: $reason) {\n      ...AdminUserFields\n    }\n  }\n"): (typeof documents)["\n  mutation AdminLockUser($userId: ID!, $minutes: Int!, $reason: String!) {\n    lockUser(userId: $userId, minutes: $minutes, reason: $reason) {\n      ...AdminUserFields\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation AdminUnlockUser($userId: ID!) {\n    unlockUser(userId: $userId) {\n      ...AdminUserFields\n    }\n  }\n"): (typeof documents)["\n  mutation AdminUnlockUser($userId: ID!) {\n    unlockUser(userId: $userId) {\n      ...AdminUserFields\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation AdminRevokeUserSessions($userId: ID!) {\n    revokeUserSessions(userId: $userId)\n  }\n"): (typeof documents)["\n  mutation AdminRevokeUserSessions($userId: ID!) {\n    revokeUserSessions(userId: $userId)\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  subscription AdminAuditEventAdded($afterSeq: Int) {\n    auditEventAdded(afterSeq: $afterSeq) {\n      ...AdminAuditEventFields\n    }\n  }\n"): (typeof documents)["\n  subscription AdminAuditEventAdded($afterSeq: Int) {\n    auditEventAdded(afterSeq: $afterSeq) {\n      ...AdminAuditEventFields\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation Login($input: LoginInput!) {\n    login(input: $input) {\n      ...AuthFields\n    }\n  }\n"): (typeof documents)["\n  mutation Login($input: LoginInput!) {\n    login(input: $input) {\n      ...AuthFields\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation Register($input: RegisterInput!) {\n    register(input: $input) {\n      ...AuthFields\n    }\n  }\n"): (typeof documents)["\n  mutation Register($input: RegisterInput!) {\n    register(input: $input) {\n      ...AuthFields\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query CaptchaChallenge {\n    captchaChallenge {\n      provider\n      challenge\n    }\n  }\n"): (typeof documents)["\n  query CaptchaChallenge {\n    captchaChallenge {\n      provider\n      challenge\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  fragment AuthFields on AuthPayload {\n    accessToken\n    accessTokenExpiresAt\n    user {\n      id\n      email\n      displayName\n      role\n    }\n  }\n"): (typeof documents)["\n  fragment AuthFields on AuthPayload {\n    accessToken\n    accessTokenExpiresAt\n    user {\n      id\n      email\n      displayName\n      role\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation RefreshSession {\n    refreshSession {\n      ...AuthFields\n    }\n  }\n"): (typeof documents)["\n  mutation RefreshSession {\n    refreshSession {\n      ...AuthFields\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation ChatSendMessage($input: SendMessageInput!) {\n    sendMessage(input: $input) {\n      userMessageEdge {\n        cursor\n        node {\n          ...ChatMessageFields\n        }\n      }\n      assistantMessageEdge {\n        cursor\n        node {\n          ...ChatMessageFields\n        }\n      }\n      conversation {\n        id\n        title\n        updatedAt\n      }\n    }\n  }\n"): (typeof documents)["\n  mutation ChatSendMessage($input: SendMessageInput!) {\n    sendMessage(input: $input) {\n      userMessageEdge {\n        cursor\n        node {\n          ...ChatMessageFields\n        }\n      }\n      assistantMessageEdge {\n        cursor\n        node {\n          ...ChatMessageFields\n        }\n      }\n      conversation {\n        id\n        title\n        updatedAt\n      }\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query Conversations($first: Int, $after: String, $filter: ConversationFilter) {\n    conversations(first: $first, after: $after, filter: $filter) {\n      edges {\n        cursor\n        node {\n          id\n          title\n          updatedAt\n          lastMessage {\n            id\n            createdAt\n          }\n        }\n      }\n      pageInfo {\n        hasNextPage\n        endCursor\n      }\n    }\n  }\n"): (typeof documents)["\n  query Conversations($first: Int, $after: String, $filter: ConversationFilter) {\n    conversations(first: $first, after: $after, filter: $filter) {\n      edges {\n        cursor\n        node {\n          id\n          title\n          updatedAt\n          lastMessage {\n            id\n            createdAt\n          }\n        }\n      }\n      pageInfo {\n        hasNextPage\n        endCursor\n      }\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation ChatDeleteConversation($id: ID!) {\n    deleteConversation(id: $id)\n  }\n"): (typeof documents)["\n  mutation ChatDeleteConversation($id: ID!) {\n    deleteConversation(id: $id)\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query ChatConversation($id: ID!, $last: Int, $before: String) {\n    conversation(id: $id) {\n      id\n      title\n      model\n      systemPrompt\n      messages(last: $last, before: $before) {\n        edges {\n          cursor\n          node {\n            ...ChatMessageFields\n          }\n        }\n        pageInfo {\n          hasPreviousPage\n          startCursor\n        }\n      }\n    }\n  }\n"): (typeof documents)["\n  query ChatConversation($id: ID!, $last: Int, $before: String) {\n    conversation(id: $id) {\n      id\n      title\n      model\n      systemPrompt\n      messages(last: $last, before: $before) {\n        edges {\n          cursor\n          node {\n            ...ChatMessageFields\n          }\n        }\n        pageInfo {\n          hasPreviousPage\n          startCursor\n        }\n      }\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation ChatCancelGeneration($messageId: ID!) {\n    cancelGeneration(messageId: $messageId) {\n      ...ChatMessageFields\n    }\n  }\n"): (typeof documents)["\n  mutation ChatCancelGeneration($messageId: ID!) {\n    cancelGeneration(messageId: $messageId) {\n      ...ChatMessageFields\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query ChatModels {\n    models {\n      id\n      provider\n      default\n      development\n    }\n  }\n"): (typeof documents)["\n  query ChatModels {\n    models {\n      id\n      provider\n      default\n      development\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation ChatCreateConversation($input: CreateConversationInput!) {\n    createConversation(input: $input) {\n      id\n      title\n      model\n      systemPrompt\n      updatedAt\n    }\n  }\n"): (typeof documents)["\n  mutation ChatCreateConversation($input: CreateConversationInput!) {\n    createConversation(input: $input) {\n      id\n      title\n      model\n      systemPrompt\n      updatedAt\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query ChatUploadLimits {\n    uploadLimits {\n      maxBytes\n      mimeTypes\n    }\n  }\n"): (typeof documents)["\n  query ChatUploadLimits {\n    uploadLimits {\n      maxBytes\n      mimeTypes\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  fragment ChatMessageFields on Message {\n    id\n    conversationId\n    role\n    content\n    status\n    model\n    error\n    errorCode\n    finishReason\n    createdAt\n    usage {\n      promptTokens\n      completionTokens\n      totalTokens\n    }\n    attachments {\n      id\n      filename\n      mimeType\n      size\n    }\n  }\n"): (typeof documents)["\n  fragment ChatMessageFields on Message {\n    id\n    conversationId\n    role\n    content\n    status\n    model\n    error\n    errorCode\n    finishReason\n    createdAt\n    usage {\n      promptTokens\n      completionTokens\n      totalTokens\n    }\n    attachments {\n      id\n      filename\n      mimeType\n      size\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  subscription ChatMessageStream($messageId: ID!, $fromOffset: Int) {\n    messageStream(messageId: $messageId, fromOffset: $fromOffset) {\n      messageId\n      offset\n      delta\n      done\n      status\n      message {\n        ...ChatMessageFields\n      }\n    }\n  }\n"): (typeof documents)["\n  subscription ChatMessageStream($messageId: ID!, $fromOffset: Int) {\n    messageStream(messageId: $messageId, fromOffset: $fromOffset) {\n      messageId\n      offset\n      delta\n      done\n      status\n      message {\n        ...ChatMessageFields\n      }\n    }\n  }\n"];

export function graphql(source: string) {
  return (documents as any)[source] ?? {};
}

export type DocumentType<TDocumentNode extends DocumentNode<any, any>> = TDocumentNode extends DocumentNode<  infer TType,  any>  ? TType  : never;