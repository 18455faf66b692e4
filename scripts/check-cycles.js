// Lint step: the module graph of src/ stays a tree of layers. Walks the relative imports of every
// src/**/*.ts file (static, `import type`, `export … from`, `await import(…)` and `import('…').T` types:
// a cycle through a type or a lazy import is still a cycle) and fails on
//   1. an import cycle, printed as the chain of files that closes it;
//   2. a command importing another command: a file under src/commands/ may import only
//      src/commands/common.ts from there (cli.ts loads the commands; shared code lives in a domain module).
// Generic on purpose: no list of today's files. Silent when the graph is clean, like eslint.
// Usage: node scripts/check-cycles.js [srcDir]   (exit 1 on a finding)
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const srcDir = process.argv[2] === undefined ? join(root, 'src') : resolve(process.argv[2]);
const commandsDir = join(srcDir, 'commands');
const COMMANDS_SHARED = new Set([join(commandsDir, 'common.ts')]);

/** Every .ts file under dir, sorted so the report is stable. */
function sourceFiles(dir) {
  return readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter((entry) => entry.isFile() && entry.name.endsWith('.ts'))
    .map((entry) => join(entry.parentPath ?? entry.path, entry.name))
    .sort();
}

/** The module specifiers a file names, from its syntax tree (so comments and strings never count). */
function specifiers(file) {
  const source = ts.createSourceFile(file, readFileSync(file, 'utf8'), ts.ScriptTarget.Latest, true);
  const found = [];
  const visit = (node) => {
    if ((ts.isImportDeclaration(node) || ts.isExportDeclaration(node)) && node.moduleSpecifier && ts.isStringLiteral(node.moduleSpecifier)) {
      found.push(node.moduleSpecifier.text);
    } else if (ts.isCallExpression(node) && node.expression.kind === ts.SyntaxKind.ImportKeyword) {
      const [arg] = node.arguments;
      if (arg && ts.isStringLiteralLike(arg)) found.push(arg.text);
    } else if (ts.isImportTypeNode(node) && ts.isLiteralTypeNode(node.argument) && ts.isStringLiteral(node.argument.literal)) {
      found.push(node.argument.literal.text);
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  return found;
}

/** './x.js' from a/b.ts → a/x.ts (or x.d.ts, x/index.ts); null for packages and non-TS files. */
function resolveImport(from, specifier) {
  if (!specifier.startsWith('.')) return null;
  const base = resolve(dirname(from), specifier).replace(/\.(js|ts|mjs|cjs)$/, '');
  for (const candidate of [`${base}.ts`, `${base}.d.ts`, join(base, 'index.ts')]) {
    if (existsSync(candidate)) return candidate;
  }
  return null;
}

const show = (file) => relative(dirname(srcDir), file).split(sep).join('/');
const files = sourceFiles(srcDir);
const graph = new Map(files.map((file) => [file, [...new Set(specifiers(file).map((s) => resolveImport(file, s)).filter(Boolean))]]));
const problems = [];

// Rule 2: commands are wiring; they do not reach into each other.
for (const [file, imports] of graph) {
  if (!file.startsWith(commandsDir + sep)) continue;
  for (const target of imports) {
    if (target.startsWith(commandsDir + sep) && !COMMANDS_SHARED.has(target)) {
      problems.push(`command imports command: ${show(file)} → ${show(target)} (share code through src/commands/common.ts or a domain module)`);
    }
  }
}

// Rule 1: depth-first search; an edge back to a file still on the stack closes a cycle.
const state = new Map(); // file → 'open' while on the stack, 'done' after
const stack = [];
const seen = new Set();
function visit(file) {
  state.set(file, 'open');
  stack.push(file);
  for (const target of graph.get(file) ?? []) {
    if (state.get(target) === 'open') {
      const cycle = stack.slice(stack.indexOf(target));
      // The same cycle found from another entry point is one cycle: key it by its smallest rotation.
      const start = cycle.indexOf([...cycle].sort()[0]);
      const key = [...cycle.slice(start), ...cycle.slice(0, start)].join('\n');
      if (!seen.has(key)) {
        seen.add(key);
        problems.push(`import cycle: ${[...cycle, target].map(show).join(' → ')}`);
      }
    } else if (!state.has(target)) {
      visit(target);
    }
  }
  stack.pop();
  state.set(file, 'done');
}
for (const file of files) if (!state.has(file)) visit(file);

if (problems.length > 0) {
  for (const problem of problems) console.error(`check-cycles: ${problem}`);
  process.exit(1);
}
