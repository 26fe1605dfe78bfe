import { ApolloProvider } from '@apollo/client/react';
import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { createApollo, createSocket } from './apollo/client';
import { AppContext } from './app-context';
import { Session } from './auth/session';
import { loadConfig } from './config';
import { App } from './App';
import './styles.css';

async function start(): Promise<void> {
  const config = loadConfig();
  const session = new Session(config);
  const socket = createSocket(config, session);
  const apollo = createApollo(config, session, socket.client);
  // A new identity gets a new socket and an empty cache: nothing of the last person lingers.
  let lastUser: string | null = null;
  session.subscribe(() => {
    const user = session.current()?.user.id ?? null;
    if (user === lastUser) return;
    lastUser = user;
    socket.restart();
    void apollo.clearStore();
  });
  await session.restore(); // a reload signs back in from the HttpOnly refresh cookie
  lastUser = session.current()?.user.id ?? null;
  createRoot(document.getElementById('root')!).render(
    <StrictMode>
      <AppContext.Provider value={{ config, session, socket: socket.client }}>
        <ApolloProvider client={apollo}>
          <App />
        </ApolloProvider>
      </AppContext.Provider>
    </StrictMode>,
  );
}

void start();
