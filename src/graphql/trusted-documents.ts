import { createHash } from 'node:crypto';
import fs from 'node:fs';

/** Loads a trusted-documents manifest: `{ "<sha256 hex>": "<query>" }`, every hash checked. */
export function loadManifest(file: string): Map<string, string> {
  const raw = JSON.parse(fs.readFileSync(file, 'utf8')) as Record<string, string>;
  const manifest = new Map<string, string>();
  for (const [hash, query] of Object.entries(raw)) {
    if (createHash('sha256').update(query).digest('hex') !== hash)
      throw new Error(`persisted query manifest ${file}: the hash ${hash} does not match its document`);
    manifest.set(hash, query);
  }
  return manifest;
}

/**
 * With PERSISTED_QUERIES_ONLY, on HTTP and WebSocket alike: the manifest document a request
 * names, or undefined (PERSISTED_QUERY_NOT_FOUND). A request that sends a hash
 * (`extensions.persistedQuery.sha256Hash`, Apollo's APQ shape) is judged by the hash alone: it
 * must be in the manifest, and a text sent along must be that very document. A request with
 * no hash runs only a text that is itself a manifest document.
 */
export function trustedDocument(manifest: Map<string, string>, extensions: unknown, query: unknown): string | undefined {
  const hash = (extensions as { persistedQuery?: { sha256Hash?: unknown } } | null | undefined)?.persistedQuery?.sha256Hash;
  const known =
    hash !== undefined
      ? typeof hash === 'string'
        ? manifest.get(hash)
        : undefined
      : typeof query === 'string'
        ? manifest.get(createHash('sha256').update(query).digest('hex'))
        : undefined;
  if (!known || (query !== undefined && query !== known)) return undefined;
  return known;
}

/** A read-only persisted-query cache over the manifest (Apollo asks for `apq:<hash>`). */
export function manifestCache(manifest: Map<string, string>) {
  return {
    async get(key: string) {
      return manifest.get(key.replace(/^apq:/, ''));
    },
    async set() {},
    async delete() {},
  };
}
