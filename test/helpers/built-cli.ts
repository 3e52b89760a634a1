/**
 * The runnable smtpscope of the system tests, built once per run by the system project's globalSetup
 * (test/helpers/build-once.ts) into a temporary package folder: never dist/, never rebuilt per test file.
 * Only system tests (test/system-tests.ts) may use it.
 */

import { join } from 'node:path';
import { inject } from 'vitest';

export const ROOT = join(import.meta.dirname, '..', '..');

/** The temporary package folder: package.json, README.md, node_modules and the build in dist/. */
export function builtPackage(): string {
  const dir = inject('builtPackage');
  if (dir === undefined)
    throw new Error('no build: only tests of the system project (test/system-tests.ts) get one');
  return dir;
}

/** Path of `cli/bin.js` built from the current sources. */
export function builtCli(): string {
  return join(builtPackage(), 'dist', 'cli', 'bin.js');
}
