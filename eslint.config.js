// Lint: typescript-eslint's recommended rules, plus the import direction of DESIGN.md:
// src/core is pure (no node:* modules, nothing of the project outside core).
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'schema/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { globals: { process: 'readonly', console: 'readonly', URL: 'readonly', AbortController: 'readonly' } },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_' }],
    },
  },
  {
    // The dashboard: a plain browser script (no build step), uPlot loaded before it.
    files: ['web/**/*.js'],
    languageOptions: {
      sourceType: 'script',
      globals: Object.fromEntries(['window', 'document', 'location', 'history', 'sessionStorage', 'fetch', 'setInterval', 'setTimeout', 'URLSearchParams', 'uPlot'].map((g) => [g, 'readonly'])),
    },
  },
  {
    files: ['src/core/**/*.ts'],
    ignores: ['src/core/**/*.test.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            { group: ['node:*', 'fs', 'path', 'os', 'child_process', 'http', 'net', 'worker_threads'], message: 'src/core is pure: no I/O modules (DESIGN.md, STYLE.md rule 1).' },
            { group: ['../*', '!./*'], message: 'src/core imports nothing of the project but itself.' },
          ],
        },
      ],
      'no-restricted-properties': [
        'error',
        { object: 'Date', property: 'now', message: 'src/core never reads the clock: pass `now` in.' },
        { object: 'Math', property: 'random', message: 'src/core uses seeded randomness (core/random.ts).' },
        { object: 'performance', property: 'now', message: 'src/core never reads the clock.' },
      ],
      'no-restricted-syntax': ['error', { selector: "NewExpression[callee.name='Date'][arguments.length=0]", message: 'src/core never reads the clock: pass `now` in.' }],
    },
  },
);
