import { createClient, type Client, type ClientOptions } from 'graphql-ws';
import WebSocket from 'ws';

/** A graphql-ws client over the `ws` package, as an integrator's Node program would use it. */
export function wsClient(url: string, opts: Partial<ClientOptions> = {}): Client {
  return createClient({ url, webSocketImpl: WebSocket, retryAttempts: 0, lazy: false, onNonLazyError: () => undefined, ...opts });
}

/** Runs one operation over the socket and collects every result until it completes. */
export function wsRun<T = unknown>(client: Client, query: string, variables?: Record<string, unknown>): Promise<T[]> {
  return new Promise((resolve, reject) => {
    const results: T[] = [];
    client.subscribe<T>(
      { query, variables },
      {
        next: (r) => results.push(r as T),
        error: reject,
        complete: () => resolve(results),
      },
    );
  });
}
