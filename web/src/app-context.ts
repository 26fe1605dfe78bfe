import { createContext, useContext, useSyncExternalStore } from 'react';
import type { Client } from 'graphql-ws';
import type { AppConfig } from './config';
import type { Session, SessionState } from './auth/session';

export interface AppServices {
  config: AppConfig;
  session: Session;
  /** The app's one graphql-ws client (screens that resume a live feed after a reconnect listen to it). */
  socket: Client;
}

export const AppContext = createContext<AppServices | null>(null);

export function useApp(): AppServices {
  const app = useContext(AppContext);
  if (!app) throw new Error('useApp outside <AppContext.Provider>');
  return app;
}

/** The signed-in person, re-rendering on sign-in, refresh and sign-out. */
export function useSession(): SessionState | null {
  const { session } = useApp();
  return useSyncExternalStore(session.subscribe, session.snapshot);
}
