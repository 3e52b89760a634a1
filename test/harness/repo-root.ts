/**
 * Where the repository is, for the harnesses: they read captures/, docs/ and test/ fixtures and run the
 * product's build (dist/cli/bin.js). A harness runs either as TypeScript (test/harness/<name>/, under vitest)
 * or compiled (dist-harness/test/harness/<name>/), so the root is found by walking up to the package.json
 * rather than by a fixed number of `..`.
 */

import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

function findRepoRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    if (existsSync(join(dir, 'package.json')) && existsSync(join(dir, 'captures'))) return dir;
    const parent = dirname(dir);
    if (parent === dir)
      throw new Error('harness: no repository (package.json beside captures/) above this file');
    dir = parent;
  }
}

/** The repository root (absolute, no trailing slash). */
export const REPO_ROOT = findRepoRoot();

/** The product's CLI as `npm run build` writes it: the harnesses measure what ships. */
export const PRODUCT_CLI = join(REPO_ROOT, 'dist', 'cli', 'bin.js');
