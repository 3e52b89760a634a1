/**
 * vitest globalSetup of the system project: builds the package once for every test that needs a runnable
 * smtpscope (the CLI as a child process, worker threads, `npm pack`). It compiles tsconfig.build.json into a
 * temporary package folder (package.json and README.md copied, node_modules linked, the build in dist/), never
 * into the repository's dist/, so a test never runs a stale build nor changes what `npm run build` made.
 * Tests get the folder with `inject('builtPackage')` (test/helpers/built-cli.ts). The folder is removed at
 * the end of the run.
 */

import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { TestProject } from 'vitest/node';

declare module 'vitest' {
  export interface ProvidedContext {
    /** A package folder holding package.json, README.md, node_modules (a link) and the build in dist/. */
    builtPackage: string;
  }
}

const ROOT = resolve(import.meta.dirname, '..', '..');

export default function setup(project: TestProject): () => void {
  const dir = mkdtempSync(join(tmpdir(), 'smtpscope-test-build-'));
  for (const name of ['package.json', 'README.md']) copyFileSync(join(ROOT, name), join(dir, name));
  symlinkSync(join(ROOT, 'node_modules'), join(dir, 'node_modules'));
  // tsc exits non-zero on a type error anywhere but still emits; a missing CLI is the failure that matters.
  const result = spawnSync(
    join(ROOT, 'node_modules', '.bin', 'tsc'),
    ['-p', join(ROOT, 'tsconfig.build.json'), '--outDir', join(dir, 'dist')],
    { cwd: ROOT, encoding: 'utf8', timeout: 300_000 },
  );
  if (!existsSync(join(dir, 'dist', 'cli', 'bin.js')))
    throw new Error(`could not build smtpscope for the system tests: ${result.stdout}${result.stderr}`);
  project.provide('builtPackage', dir);
  return () => rmSync(dir, { recursive: true, force: true });
}
