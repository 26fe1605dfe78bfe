import { useApolloClient, useMutation, useSubscription } from '@apollo/client/react';
import { lazy, Suspense, useEffect, useRef } from 'react';
import { graphql } from './gql';
import { useApp, useSession } from './app-context';
import { AuthPage } from './auth/AuthPage';
import { AccountPage } from './account/AccountPage';
import { ChatPage } from './chat/ChatPage';
import { CONVERSATION_LIST_VARIABLES, CONVERSATIONS } from './chat/ConversationList';
import { href, useRoute } from './router';

// Only administrators and auditors ever load the admin screens.
const AdminPage = lazy(() => import('./admin/AdminPage').then((m) => ({ default: m.AdminPage })));

const LOGOUT = graphql(`
  mutation Logout {
    logout
  }
`);

export const CHAT_EVENTS = graphql(`
  subscription ChatEvents {
    chatEvents {
      type
      conversationId
    }
  }
`);

/**
 * Keeps one socket open while signed in: conversation changes from any device refresh the list,
 * and when the session is revoked elsewhere the server closes this socket (4403), the refresh
 * that follows is refused, and the person is signed out at once. The list is fetched again as
 * long as it is now plus the conversations created meanwhile (the pages "Load more" added stay;
 * one request per burst of events).
 */
function LiveUpdates() {
  const client = useApolloClient();
  const timer = useRef<ReturnType<typeof setTimeout>>(undefined);
  const created = useRef(0);
  useEffect(() => () => clearTimeout(timer.current), []);
  useSubscription(CHAT_EVENTS, {
    onData: ({ data }) => {
      if (data.data?.chatEvents.type === 'CONVERSATION_CREATED') created.current += 1;
      clearTimeout(timer.current);
      timer.current = setTimeout(() => {
        const shown = client.readQuery({ query: CONVERSATIONS, variables: CONVERSATION_LIST_VARIABLES })?.conversations.edges.length ?? 0;
        const first = Math.min(100, Math.max(CONVERSATION_LIST_VARIABLES.first, shown + created.current));
        created.current = 0;
        // Same cache field (its key ignores `first`), so the list on screen takes the new page whole.
        void client.query({ query: CONVERSATIONS, variables: { ...CONVERSATION_LIST_VARIABLES, first }, fetchPolicy: 'network-only' }).catch(() => undefined);
      }, 250);
    },
  });
  return null;
}

export function App() {
  const { session } = useApp();
  const me = useSession();
  const route = useRoute();
  const [logout] = useMutation(LOGOUT);
  if (!me) return <AuthPage />;
  const staff = me.user.role === 'ADMIN' || me.user.role === 'AUDITOR';
  const page = route[0] ?? 'chat';

  async function signOut() {
    await session.ending(() => logout(), null, true).catch(() => undefined); // signed out here even if the server was unreachable
  }

  return (
    <div className="app">
      <LiveUpdates />
      <header className="top">
        <strong>Parley</strong>
        <nav>
          <a href={href('chat')} aria-current={page === 'chat' ? 'page' : undefined}>
            Chat
          </a>
          <a href={href('account')} aria-current={page === 'account' ? 'page' : undefined}>
            Account
          </a>
          {staff && (
            <a href={href('admin')} aria-current={page === 'admin' ? 'page' : undefined}>
              Admin
            </a>
          )}
        </nav>
        <span className="who" data-testid="whoami">
          {me.user.displayName ?? me.user.email} · {me.user.role}
        </span>
        <button onClick={signOut}>Sign out</button>
      </header>
      <Suspense fallback={<main className="muted">Loading…</main>}>
        {page === 'account' ? (
          <AccountPage />
        ) : page === 'admin' && staff ? (
          <AdminPage />
        ) : (
          <ChatPage conversationId={page === 'chat' ? route[1] : undefined} />
        )}
      </Suspense>
    </div>
  );
}
