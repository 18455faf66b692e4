// Runs a recommendation snippet as the user would paste it: written as a module inside the repository (so
// its bare imports — openai, bottleneck, p-queue — resolve from node_modules) and imported fresh, with
// its own limiter state. Shared by the executed-snippet tests and the real-limiter bench's recommend stage.
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';

/**
 * A folder under node_modules/.cache for one process's snippets: `load(code, names)` writes the snippet
 * with `export { ...names }` appended and imports it; `clean()` removes the folder.
 * @param {string} tag
 */
export function snippetModules(tag) {
  const dir = fileURLToPath(new URL(`../../node_modules/.cache/chutes-diag-${tag}-${process.pid}/`, import.meta.url));
  let counter = 0;
  return {
    dir,
    /** @param {string} code @param {string[]} names @returns {Promise<Record<string, any>>} */
    async load(code, names) {
      mkdirSync(dir, { recursive: true });
      counter += 1;
      const file = `${dir}snippet-${counter}.mjs`;
      writeFileSync(file, `${code}\nexport { ${names.join(', ')} };\n`);
      return import(pathToFileURL(file).href);
    },
    clean() {
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
