// Copies the trusted-documents manifest codegen wrote to the server's PERSISTED_QUERIES_FILE
// default (../persisted-queries.json), checking every hash, so the server with
// PERSISTED_QUERIES_ONLY=true runs exactly this app's operations and nothing else.
import { createHash } from 'node:crypto';
import fs from 'node:fs';

const source = new URL('../src/gql/persisted-documents.json', import.meta.url);
const target = new URL('../../persisted-queries.json', import.meta.url);
const manifest = JSON.parse(fs.readFileSync(source, 'utf8'));
// Codegen names each document `sha256:<hex>`; the server's manifest is keyed by the bare hex.
const entries = Object.entries(manifest).map(([key, text]) => [key.replace(/^sha256:/, ''), text]);
for (const [hash, text] of entries) {
  if (createHash('sha256').update(text).digest('hex') !== hash) throw new Error(`manifest: ${hash} does not match its document`);
}
const sorted = Object.fromEntries(entries.sort(([a], [b]) => a.localeCompare(b)));
fs.writeFileSync(target, `${JSON.stringify(sorted, null, 2)}\n`);
console.log(`persisted-queries.json: ${Object.keys(sorted).length} trusted documents`);
