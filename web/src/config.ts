/**
 * Where the API is. Same origin by default (the dev server serves this app at `/`); a host
 * that serves the app elsewhere puts `parley-config.json` beside index.html:
 * `{ "apiUrl": "https://api.example.com/graphql" }`.
 */
export interface AppConfig {
  apiUrl: string;
  wsUrl: string;
  uploadUrl: string;
}

function derive(apiUrl: string): AppConfig {
  const api = new URL(apiUrl, window.location.href);
  const ws = new URL(api.href);
  ws.protocol = api.protocol === 'https:' ? 'wss:' : 'ws:';
  return { apiUrl: api.href, wsUrl: ws.href, uploadUrl: new URL('/attachments', api).href };
}

export async function loadConfig(): Promise<AppConfig> {
  try {
    const res = await fetch('/parley-config.json', { cache: 'no-store' });
    if (res.ok) {
      const body = (await res.json()) as { apiUrl?: unknown };
      if (typeof body.apiUrl === 'string') return derive(body.apiUrl);
    }
  } catch {
    // No config file: same origin.
  }
  return derive('/graphql');
}
