import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import reactHooks from 'eslint-plugin-react-hooks';

export default tseslint.config(
  { ignores: ['dist/', 'node_modules/', 'data/', 'coverage/', 'web/generated/', 'test-artifacts/'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    files: ['**/*.ts', '**/*.tsx'],
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/consistent-type-imports': ['error', { fixStyle: 'inline-type-imports' }],
      'no-restricted-imports': 'off',
    },
  },
  {
    // A facade reaches storage only through the core.
    files: ['src/facades/**/*.ts'],
    rules: {
      '@typescript-eslint/no-restricted-imports': [
        'error',
        { patterns: [{ group: ['**/db/*', '**/*.repository.js'], message: 'facades call core use cases, never db/ or a repository', allowTypeImports: true }] },
      ],
    },
  },
  {
    // The core knows nothing of HTTP, XML or argv.
    files: ['src/core/**/*.ts'],
    rules: {
      '@typescript-eslint/no-restricted-imports': [
        'error',
        { patterns: [{ group: ['fastify', 'fastify/*', '@fastify/*', 'commander', '**/facades/**', '**/http/**'], message: 'the core must not depend on a transport' }] },
      ],
    },
  },
  {
    // The agent runs on hosting nodes: the wire contract is all it shares with the control plane.
    files: ['src/agent/**/*.ts'],
    rules: {
      '@typescript-eslint/no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              // `./db/…` is the agent's own db-role drivers (src/agent/drivers/db), not src/db.
              group: ['**/core/*.js', '**/core/*/*.js', '**/core/*/*/*.js', '!**/core/nodes/agent-wire.schema.js', '**/facades/**', '**/db/**', '!./db/**', '**/errors/**', '**/config/**', '**/http/**', '**/jobs/**', '**/doctor/**', '**/app.js', '**/version.js', '**/main.js'],
              message: 'src/agent/ imports only the wire contract (src/core/nodes/agent-wire.schema.ts) from the rest of src',
            },
          ],
        },
      ],
    },
  },
  {
    // The relay drivers run in the control plane (one machine) and in relay nodes' agents: a leaf that
    // imports nothing else of src, so the agent may share it.
    files: ['src/relay/**/*.ts'],
    rules: {
      '@typescript-eslint/no-restricted-imports': [
        'error',
        { patterns: [{ group: ['../*', '!../relay/*'], message: 'src/relay/ is shared with the agent: it imports nothing else of src' }] },
      ],
    },
  },
  {
    files: ['**/*.mjs', 'bin/*'],
    languageOptions: { globals: { process: 'readonly', console: 'readonly', Buffer: 'readonly', setTimeout: 'readonly', clearTimeout: 'readonly', URL: 'readonly', fetch: 'readonly', setInterval: 'readonly', clearInterval: 'readonly', performance: 'readonly' } },
  },
  {
    // The web console: browser code, React's rules of hooks, and the admin API only through the generated client.
    files: ['web/src/**/*.{ts,tsx}'],
    plugins: { 'react-hooks': reactHooks },
    rules: {
      ...reactHooks.configs.recommended.rules,
      '@typescript-eslint/no-restricted-imports': [
        'error',
        { patterns: [{ group: ['**/src/core/**', '**/src/facades/**', '**/src/db/**', 'node:*'], message: 'the console talks to the server over its public HTTP API (the generated client in web/src/api)' }] },
      ],
    },
  },
);
