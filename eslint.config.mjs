// ESLint: typescript-eslint's type-checked recommended rules over src/, test/ and bench/.
// Formatting is Prettier's job (npm run lint runs both), so no stylistic rules here.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['eslint.config.mjs', 'dist/**', 'node_modules/**', 'coverage/**', '.data/**', '.test-data/**', 'web/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      // Interface implementations (Apollo plugin hooks, MikroORM migrations, graphql-ws hooks)
      // are async because their callers await them, whether or not this one awaits anything.
      '@typescript-eslint/require-await': 'off',
      // A leading underscore marks a parameter kept for its position or its decorator (type-graphql args).
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none' }],
    },
  },
  {
    // House rule (ARCHITECTURE.md): no function in src/ over 80 lines, blank lines and comments included.
    files: ['src/**/*.ts'],
    rules: { 'max-lines-per-function': ['error', { max: 80, skipBlankLines: false, skipComments: false, IIFEs: true }] },
  },
  {
    // Tests read GraphQL responses as untyped JSON and assert on their shape: the `any`-flow
    // rules would demand a type for every response, which the assertions already check.
    files: ['test/**/*.ts'],
    rules: {
      '@typescript-eslint/no-explicit-any': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-argument': 'off',
      '@typescript-eslint/no-unsafe-return': 'off',
      '@typescript-eslint/no-unsafe-call': 'off',
      // Tests stringify ws frames (Buffers), reject with a response's GraphQL error list so the
      // failure shows it, and read helpers off a Proxy-backed test server.
      '@typescript-eslint/no-base-to-string': 'off',
      '@typescript-eslint/prefer-promise-reject-errors': 'off',
      '@typescript-eslint/unbound-method': 'off',
    },
  },
  {
    // Benchmarks, examples and tool configs are plain CommonJS run by Node.
    files: ['**/*.js', '**/*.cjs'],
    ...tseslint.configs.disableTypeChecked,
    languageOptions: {
      parserOptions: { projectService: false, program: null, project: false },
      sourceType: 'commonjs',
      globals: Object.fromEntries(
        [
          'require',
          'module',
          'exports',
          'process',
          'console',
          '__dirname',
          '__filename',
          'Buffer',
          'URL',
          'URLSearchParams',
          'fetch',
          'global',
          'globalThis',
          'setTimeout',
          'clearTimeout',
          'setInterval',
          'clearInterval',
          'setImmediate',
          'clearImmediate',
          'AbortController',
          'TextEncoder',
          'TextDecoder',
          'structuredClone',
        ].map((name) => [name, 'readonly']),
      ),
    },
    rules: { ...tseslint.configs.disableTypeChecked.rules, '@typescript-eslint/no-require-imports': 'off' },
  },
);
