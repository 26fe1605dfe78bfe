import { graphql } from '../gql';
import type { AuthFieldsFragment } from '../gql/graphql';
import type { AppConfig } from '../config';
import { persistedQueryExtension, trustedByName } from '../apollo/trusted';

/**
 * The signed-in person, held in memory only: the access token never touches localStorage or a
 * readable cookie, so a script injected into the page cannot find one at rest. The refresh
 * token travels only in the HttpOnly cookie the server sets (this app never asks for it in a
 * payload); a reload restores the session by refreshing from that cookie.
 */
export const AUTH_FIELDS = graphql(`
  fragment AuthFields on AuthPayload {
    accessToken
    accessTokenExpiresAt
    user {
      id
      email
      displayName
      role
    }
  }
`);

export const REFRESH_SESSION = graphql(`
  mutation RefreshSession {
    refreshSession {
      ...AuthFields
    }
  }
`);

export type SessionUser = AuthFieldsFragment['user'];
export interface SessionState {
  accessToken: string;
  expiresAt: number;
  user: SessionUser;
}

/**
 * A hint, not a secret: "this browser signed in and has not signed out". Without it a page load
 * does not try the cookie, so an anonymous visitor costs the server no refresh request (and
 * draws nothing from the per-IP refresh limit that signed-in people behind the same address share).
 */
const SIGNED_IN_HINT = 'parley.signedIn';

/** Refresh this long before the access token expires. */
const REFRESH_AHEAD_MS = 60_000;

type Listener = () => void;

export class Session {
  private state: SessionState | null = null;
  private notice: string | null = null;
  private readonly listeners = new Set<Listener>();
  private timer: ReturnType<typeof setTimeout> | undefined;
  private inflight: Promise<boolean> | null = null;
  /** An operation that ends this session is under way (see `ending`). */
  private leaving = false;

  constructor(private readonly config: AppConfig) {}

  current(): SessionState | null {
    return this.state;
  }

  /** Why the person was signed out, shown once on the sign-in screen. */
  lastNotice(): string | null {
    return this.notice;
  }

  subscribe = (fn: Listener): (() => void) => {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  };

  snapshot = (): SessionState | null => this.state;

  signedIn(payload: AuthFieldsFragment): void {
    this.notice = null;
    this.state = { accessToken: payload.accessToken, expiresAt: Date.parse(payload.accessTokenExpiresAt), user: payload.user };
    hint(true);
    this.schedule();
    this.emit();
  }

  signedOut(notice: string | null = null): void {
    clearTimeout(this.timer);
    hint(false);
    this.notice = notice;
    if (this.state === null && notice === null) return;
    this.state = null;
    this.emit();
  }

  /**
   * Runs an operation that ends this session (sign out, revoking it, deleting the account) and
   * then signs out with `notice`. While it runs nothing refreshes: the server revokes the session
   * before it answers and closes this page's socket (4403), which must not send a refresh of a
   * session being ended. A failed operation keeps the session unless `always`.
   */
  async ending<T>(operation: () => Promise<T>, notice: string | null, always = false): Promise<T> {
    this.leaving = true;
    try {
      const result = await operation();
      this.signedOut(notice);
      return result;
    } catch (err) {
      if (always) this.signedOut(notice);
      throw err;
    } finally {
      this.leaving = false;
    }
  }

  /** On page load: sign back in from the refresh cookie, when this browser was signed in. */
  async restore(): Promise<boolean> {
    return hinted() ? this.refresh() : false;
  }

  /** A token good for at least half a minute more, refreshing first when needed. */
  async freshToken(): Promise<string | null> {
    if (this.state && this.state.expiresAt - Date.now() < 30_000) await this.refresh();
    return this.state?.accessToken ?? null;
  }

  /**
   * Trades the refresh cookie for new tokens; true when signed in after it. One refresh at a
   * time in this tab, and across tabs through a Web Lock, so two tabs never present the same
   * cookie at once. A refused cookie signs out; a network failure keeps the session (the
   * next request or timer tries again).
   */
  refresh(): Promise<boolean> {
    if (this.leaving) return Promise.resolve(false);
    this.inflight ??= this.lockedRefresh().finally(() => {
      this.inflight = null;
    });
    return this.inflight;
  }

  private async lockedRefresh(): Promise<boolean> {
    const locks = typeof navigator !== 'undefined' ? navigator.locks : undefined;
    return locks ? locks.request('parley-refresh', () => this.doRefresh()) : this.doRefresh();
  }

  private async doRefresh(): Promise<boolean> {
    const doc = trustedByName('RefreshSession');
    if (!doc) throw new Error('RefreshSession is missing from the trusted documents');
    let body: { data?: { refreshSession?: AuthFieldsFragment } | null; errors?: { message: string; extensions?: { code?: string } }[] };
    try {
      const res = await fetch(this.config.apiUrl, {
        method: 'POST',
        credentials: 'include',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ operationName: 'RefreshSession', query: doc.text, variables: {}, extensions: persistedQueryExtension(doc) }),
      });
      body = (await res.json()) as typeof body;
    } catch {
      return this.state !== null;
    }
    const payload = body.data?.refreshSession;
    if (payload) {
      this.signedIn(payload);
      return true;
    }
    const code = body.errors?.[0]?.extensions?.code;
    if (code === 'RATE_LIMITED' || code === 'INTERNAL_SERVER_ERROR') return this.state !== null;
    const wasSignedIn = this.state !== null;
    this.signedOut(
      wasSignedIn
        ? code === 'TOKEN_REUSED'
          ? 'Your session was ended because its refresh token was used twice.'
          : 'Your session has ended. Please sign in again.'
        : null,
    );
    return false;
  }

  private schedule(): void {
    clearTimeout(this.timer);
    if (!this.state) return;
    const wait = Math.max(5_000, this.state.expiresAt - Date.now() - REFRESH_AHEAD_MS);
    this.timer = setTimeout(() => void this.refresh(), wait);
  }

  private emit(): void {
    for (const fn of this.listeners) fn();
  }
}

function hinted(): boolean {
  try {
    return localStorage.getItem(SIGNED_IN_HINT) === '1';
  } catch {
    return true; // storage blocked: try the cookie, as before the hint existed
  }
}

function hint(on: boolean): void {
  try {
    if (on) localStorage.setItem(SIGNED_IN_HINT, '1');
    else localStorage.removeItem(SIGNED_IN_HINT);
  } catch {
    // storage blocked: every page load tries the cookie
  }
}
