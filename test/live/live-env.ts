/**
 * Shared set-up of the live-capture tests: whether they can run here (root, `cap` loads, Linux /proc), and a
 * dist/ build of the CLI that is at least as new as the sources.
 */

import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, rmdirSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadCapModule } from '../../src/capture/cap-module.js';

export const ROOT = join(import.meta.dirname, '..', '..');
export const CLI = join(ROOT, 'dist', 'cli', 'bin.js');

const capLoads = await loadCapModule().then(
  () => true,
  () => false,
);
const isRoot = process.getuid?.() === 0;
const hasProc = existsSync('/proc/net/packet');

/** Why the live tests cannot run here, or null when they can. */
export const liveSkipReason: string | null = !isRoot
  ? 'skipped: live capture needs root'
  : !capLoads
    ? "skipped: the optional 'cap' module cannot load (libpcap addon not built)"
    : !hasProc
      ? 'skipped: needs Linux /proc/net/packet'
      : null;

function newestMtime(dir: string): number {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) newest = Math.max(newest, newestMtime(path));
    else if (entry.name.endsWith('.ts')) newest = Math.max(newest, statSync(path).mtimeMs);
  }
  return newest;
}

/**
 * Builds dist/ when the CLI is missing or older than a source file. Test files run in parallel, so the build
 * is serialised with a lock directory; type errors in files under construction do not stop tsc from emitting.
 */
export async function ensureCliBuilt(): Promise<void> {
  const stale = (): boolean => !existsSync(CLI) || statSync(CLI).mtimeMs < newestMtime(join(ROOT, 'src'));
  if (!stale()) return;
  const lock = join(tmpdir(), 'smtpscope-live-build.lock');
  const deadline = Date.now() + 120_000;
  for (;;) {
    try {
      mkdirSync(lock);
      break;
    } catch {
      if (Date.now() > deadline) throw new Error(`could not take ${lock} within 120 s`);
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  }
  try {
    if (!stale()) return;
    try {
      execFileSync(join(ROOT, 'node_modules', '.bin', 'tsc'), ['-p', 'tsconfig.build.json'], {
        cwd: ROOT,
        stdio: 'ignore',
        timeout: 110_000,
      });
    } catch {
      // tsc exits non-zero on type errors in any file but still emits; the check below decides.
    }
    if (!existsSync(CLI)) throw new Error('tsc did not produce dist/cli/bin.js');
  } finally {
    rmdirSync(lock);
  }
}
