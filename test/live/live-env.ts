/**
 * Shared set-up of the live-capture tests: whether they can run here (root, `cap` loads, Linux /proc), and the
 * CLI built once for the run (test/helpers/built-cli.ts).
 */

import { existsSync } from 'node:fs';
import { loadCapModule } from '../../src/capture/cap-module.js';
import { builtCli, ROOT } from '../helpers/built-cli.js';

export { ROOT };
export const CLI = builtCli();

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

/**
 * Kept for the live tests' set-up: the CLI is built once per run by the system project's globalSetup
 * (test/helpers/build-once.ts), so there is nothing left to build here.
 */
export async function ensureCliBuilt(): Promise<void> {}
