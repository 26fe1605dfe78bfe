import { useSyncExternalStore } from 'react';

/**
 * Hash routes (`#/chat/<id>`, `#/account`, `#/admin`): the server only ever serves `/`, so any
 * static host can serve the app without rewrite rules, and a reload keeps the screen.
 */
function subscribe(fn: () => void): () => void {
  window.addEventListener('hashchange', fn);
  return () => window.removeEventListener('hashchange', fn);
}

function snapshot(): string {
  return window.location.hash.replace(/^#\/?/, '');
}

export function useRoute(): string[] {
  const path = useSyncExternalStore(subscribe, snapshot);
  return path.split('/').filter(Boolean).map(decodeURIComponent);
}

export function navigate(...parts: string[]): void {
  window.location.hash = `/${parts.map(encodeURIComponent).join('/')}`;
}

export function href(...parts: string[]): string {
  return `#/${parts.map(encodeURIComponent).join('/')}`;
}
