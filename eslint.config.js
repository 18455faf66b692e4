// ESLint flat config. The rules we keep are the ones that catch bugs a CLI like this one ships:
// promises nobody awaits (a lost exit code, an unhandled rejection after the run "ended"), unused
// code, loose equality, and type-unsafe `any` flowing out of parsed headers. Style is left to review.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import globals from 'globals';

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', '.tmp/**'] },
  js.configs.recommended,
  // This tool reads and neutralises terminal control characters on purpose: regexes over \x00-\x1f are its job.
  { rules: { 'no-control-regex': 'off' } },
  {
    files: ['src/**/*.ts'],
    extends: [tseslint.configs.recommendedTypeChecked],
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': 'error',
      // A switch without a default must name every case; a default is a deliberate catch-all.
      '@typescript-eslint/switch-exhaustiveness-check': ['error', { considerDefaultExhaustiveForUnions: true }],
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', caughtErrors: 'none' }],
      eqeqeq: ['error', 'always', { null: 'ignore' }],
      // An async function without await is how a throw becomes a rejection the caller's .catch sees.
      '@typescript-eslint/require-await': 'off',
      // Passing a caught error or an abort reason on, as it came, is fine; inventing a non-Error is not.
      '@typescript-eslint/prefer-promise-reject-errors': ['error', { allowThrowingAny: true, allowThrowingUnknown: true }],
    },
  },
  {
    files: ['test/**/*.js', 'bench/**/*.js', 'scripts/**/*.js', 'bin/**/*.js', 'eslint.config.js'],
    languageOptions: { globals: { ...globals.node } },
    rules: {
      'no-unused-vars': ['error', { argsIgnorePattern: '^_', caughtErrors: 'none' }],
      eqeqeq: ['error', 'always', { null: 'ignore' }],
    },
  },
);
