import 'reflect-metadata';
import fs from 'node:fs';
import path from 'node:path';
import { buildAppSchema, printAppSchema } from './schema';

/** Writes schema.graphql at the repository root from the resolvers. */
async function main(): Promise<void> {
  const target = path.resolve(process.argv[2] ?? 'schema.graphql');
  fs.writeFileSync(target, printAppSchema(await buildAppSchema()));
  console.log(`wrote ${target}`);
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
