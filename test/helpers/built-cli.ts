/**
 * A runnable CLI built from the current sources, for tests that need a real process (terminal tests, worker
 * threads, signals). Uses dist/ when it is newer than every source file; otherwise compiles the sources once
 * per test process into node_modules/.cache (never touching dist/). Type errors elsewhere in the tree do not
 * stop tsc from emitting JavaScript.
 */

import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export const ROOT = join(import.meta.dirname, '..', '..');

function newestMtime(dir: string): number {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    newest = Math.max(newest, entry.isDirectory() ? newestMtime(path) : statSync(path).mtimeMs);
  }
  return newest;
}

let built: string | null = null;

/** Path of `cli/bin.js` built from the current sources. */
export function builtCli(): string {
  if (built !== null) return built;
  const dist = join(ROOT, 'dist');
  if (existsSync(join(dist, 'cli', 'bin.js')) && newestMtime(dist) >= newestMtime(join(ROOT, 'src'))) {
    built = join(dist, 'cli', 'bin.js');
    return built;
  }
  const out = join(ROOT, 'node_modules', '.cache', `smtpscope-cli-${process.pid}`);
  rmSync(out, { recursive: true, force: true });
  spawnSync(join(ROOT, 'node_modules', '.bin', 'tsc'), ['-p', 'tsconfig.build.json', '--outDir', out], {
    cwd: ROOT,
  });
  writeFileSync(join(out, 'package.json'), '{"type":"module"}\n');
  const bin = join(out, 'cli', 'bin.js');
  if (!existsSync(bin)) throw new Error('could not build the CLI from the sources');
  built = bin;
  return bin;
}
