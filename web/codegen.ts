import type { CodegenConfig } from '@graphql-codegen/cli';
import { addTypenameSelectionDocumentTransform } from '@graphql-codegen/client-preset';

/**
 * Typed documents from the server's committed schema, and the trusted-documents manifest
 * (`src/gql/persisted-documents.json`, `{ sha256: document }`) that `scripts/manifest.mjs`
 * copies to the server's `persisted-queries.json`. `__typename` is added to every selection
 * here, at build time, so the text the server trusts is exactly what Apollo Client's cache needs.
 */
const config: CodegenConfig = {
  schema: '../schema.graphql',
  documents: ['src/**/*.{ts,tsx}', '!src/gql/**/*'],
  ignoreNoDocuments: false,
  generates: {
    './src/gql/': {
      preset: 'client',
      presetConfig: { fragmentMasking: false, persistedDocuments: { hashAlgorithm: 'sha256' } },
      documentTransforms: [addTypenameSelectionDocumentTransform],
      config: {
        useTypeImports: true,
        enumsAsTypes: true,
        skipTypeNameForRoot: true,
        nonOptionalTypename: true,
        defaultScalarType: 'unknown',
        scalars: { DateTime: 'string', JSON: 'unknown', ID: 'string' },
      },
    },
  },
};
export default config;
