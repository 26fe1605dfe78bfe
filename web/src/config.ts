/**
 * Where the API is: the same origin by default (the dev server serves this app at `/`). A build
 * for hosting elsewhere names it: `VITE_PARLEY_API_URL=https://api.example.com/graphql npm run build`.
 */
export interface AppConfig {
  apiUrl: string;
  wsUrl: string;
  uploadUrl: string;
}

export function loadConfig(): AppConfig {
  const configured = import.meta.env.VITE_PARLEY_API_URL as string | undefined;
  const api = new URL(configured || '/graphql', window.location.href);
  const ws = new URL(api.href);
  ws.protocol = api.protocol === 'https:' ? 'wss:' : 'ws:';
  return { apiUrl: api.href, wsUrl: ws.href, uploadUrl: new URL('/attachments', api).href };
}
