import { ApolloClient, ApolloLink, HttpLink, InMemoryCache } from '@apollo/client';
import { CombinedGraphQLErrors } from '@apollo/client/errors';
import { ErrorLink } from '@apollo/client/link/error';
import { SetContextLink } from '@apollo/client/link/context';
import { relayStylePagination } from '@apollo/client/utilities';
import { OperationTypeNode } from 'graphql';
import { createClient, type Client } from 'graphql-ws';
import { from, Observable, switchMap } from 'rxjs';
import type { AppConfig } from '../config';
import type { Session } from '../auth/session';
import { operationNameOf, persistedQueryExtension, trustedByName } from './trusted';

/** graphql-ws's Forbidden: the server closes with it when the token expired or the session was revoked. */
const WS_FORBIDDEN = 4403;

/**
 * A graphql-ws client that authenticates every connection with a token fresh at that moment,
 * re-authenticates after a 4403 (refresh, then reconnect; a refused refresh signs out), and can
 * be restarted when the person signs in or out so no socket outlives its identity.
 */
export function createSocket(config: AppConfig, session: Session): { client: Client; restart(): void } {
  let socket: WebSocket | null = null;
  const client = createClient({
    url: config.wsUrl,
    lazy: true,
    retryAttempts: Number.POSITIVE_INFINITY,
    shouldRetry: () => true,
    connectionParams: async () => {
      const token = await session.freshToken();
      return token ? { authorization: `Bearer ${token}` } : {};
    },
    on: {
      opened: (s) => {
        socket = s as WebSocket;
      },
      closed: (event) => {
        socket = null;
        if ((event as CloseEvent | undefined)?.code === WS_FORBIDDEN && session.current()) void session.refresh();
      },
    },
  });
  return {
    client,
    restart() {
      // 4205 is an application close code: graphql-ws reconnects (and resubscribes) with new params.
      if (socket?.readyState === WebSocket.OPEN) socket.close(4205, 'Client Restart');
    },
  };
}

/** Like Apollo's GraphQLWsLink, but sends the trusted document's exact text and hash. */
class TrustedWsLink extends ApolloLink {
  constructor(private readonly client: Client) {
    super();
  }

  override request(operation: ApolloLink.Operation): Observable<ApolloLink.Result> {
    return new Observable((observer) => {
      const doc = trustedByName(operation.operationName);
      if (!doc) {
        observer.error(new Error(`${operation.operationName ?? 'anonymous operation'} is not a trusted document`));
        return undefined;
      }
      return this.client.subscribe(
        { operationName: operation.operationName, query: doc.text, variables: operation.variables, extensions: persistedQueryExtension(doc) },
        {
          next: (value) => observer.next(value as ApolloLink.Result),
          complete: () => observer.complete(),
          error: (err: unknown) => {
            if (Array.isArray(err)) observer.error(new CombinedGraphQLErrors({ errors: err }));
            else if (err instanceof Error) observer.error(err);
            else observer.error(new Error(`The connection closed (${(err as CloseEvent | undefined)?.code ?? 'unknown'})`));
          },
        },
      );
    });
  }
}

function codeOf(error: unknown): { code?: string; reason?: string } {
  if (!CombinedGraphQLErrors.is(error)) return {};
  const ext = error.errors[0]?.extensions as { code?: string; reason?: string } | undefined;
  return { code: ext?.code, reason: ext?.reason };
}

/**
 * The link chain: an expired or unknown token is refreshed once and the operation retried; a
 * revoked session signs out. Every operation carries a fresh bearer token and its trusted hash;
 * subscriptions go over the socket, the rest over HTTP with the refresh cookie allowed.
 */
export function createApollo(config: AppConfig, session: Session, socket: Client): ApolloClient {
  const retryOnExpiry = new ErrorLink(({ error, operation, forward }) => {
    const { code, reason } = codeOf(error);
    if (code !== 'UNAUTHENTICATED' || !session.current()) return;
    if (reason === 'SESSION_REVOKED') {
      session.signedOut('This session was signed out (revoked from another device, or by an administrator).');
      return;
    }
    if (operation.getContext().retriedAfterRefresh) return;
    operation.setContext({ retriedAfterRefresh: true });
    return from(session.refresh()).pipe(switchMap((ok) => (ok ? forward(operation) : new Observable<ApolloLink.Result>((o) => o.error(error)))));
  });
  const auth = new SetContextLink(async (prev) => {
    const token = await session.freshToken();
    return { headers: { ...(prev.headers as Record<string, string> | undefined), ...(token ? { authorization: `Bearer ${token}` } : {}) } };
  });
  const trusted = new ApolloLink((operation, forward) => {
    const doc = trustedByName(operation.operationName);
    if (doc) operation.extensions = { ...operation.extensions, ...persistedQueryExtension(doc) };
    return forward(operation);
  });
  const http = new HttpLink({
    uri: config.apiUrl,
    credentials: 'include',
    includeExtensions: true,
    print: (ast, originalPrint) => trustedByName(operationNameOf(ast))?.text ?? originalPrint(ast),
  });
  const transport = ApolloLink.split((op) => op.operationType === OperationTypeNode.SUBSCRIPTION, new TrustedWsLink(socket), http);
  return new ApolloClient({
    link: ApolloLink.from([retryOnExpiry, trusted, auth, transport]),
    cache: new InMemoryCache({
      typePolicies: {
        // "Load more" appends the next page to the one list the screen shows.
        Query: {
          fields: {
            conversations: relayStylePagination(['orderBy', 'filter']),
            auditEvents: relayStylePagination(['filter', 'order']),
            users: relayStylePagination(['filter']),
          },
        },
        // "Load earlier" (`last`/`before`) puts the older page in front of the messages shown.
        Conversation: { fields: { messages: relayStylePagination() } },
      },
    }),
  });
}
