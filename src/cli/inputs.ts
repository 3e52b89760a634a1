/**
 * The capture files named on the command line, checked before the analysis starts so that one bad file in a
 * list does not stop the others (tcpdump-style tools stop at the first; an analysis of a hundred files should
 * not). A folder stands for the capture files inside it and, unless `recurse` is false, inside its sub-folders
 * (symbolic links to folders are not followed, so a link loop cannot make the walk endless), in name order.
 *
 * A file is a capture when its first bytes are a pcap, pcapng or gzip magic number. What is skipped:
 * - a file named on the command line that cannot be read or is not a capture: an error (the run goes on, and
 *   exits 1 at the end);
 * - a file inside a folder that is not a capture (notes, logs): a note, not an error, since a folder of captures
 *   often holds other files too; one inside a folder that cannot be read: an error.
 */

import { closeSync, openSync, readdirSync, readSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { sniffFormat } from '../capture/open-file.js';
import type { InputSpec } from '../pipeline/analyzer.js';
import { describeFsError } from './human-error.js';

export interface SkippedInput {
  readonly path: string;
  /** Why, in words ("not a pcap, pcapng or gzip file", "no such file"). */
  readonly reason: string;
  /** It could not be read at all (else it was read and is not a capture). */
  readonly unreadable: boolean;
  /** Named on the command line (true) or found in a folder. */
  readonly named: boolean;
  /** A failure that makes the run exit 1 (false: a non-capture file found in a folder). */
  readonly error: boolean;
}

export interface ScannedInputs {
  readonly inputs: InputSpec[];
  readonly skipped: SkippedInput[];
  /** Folders named that held no capture file. */
  readonly emptyFolders: string[];
}

/** Bytes read to tell a capture from anything else (the longest magic number). */
const HEAD_BYTES = 8;

function readHead(file: string): Uint8Array {
  const head = Buffer.alloc(HEAD_BYTES);
  const fd = openSync(file, 'r');
  try {
    return head.subarray(0, readSync(fd, head, 0, head.length, 0));
  } finally {
    closeSync(fd);
  }
}

/** Null when `file` starts like a capture, else why it is skipped. */
function readReason(error: unknown, path: string): string {
  return describeFsError(error, 'read', path).slice(`cannot open ${path}: `.length);
}

function captureProblem(file: string): { reason: string; error: boolean; unreadable: boolean } | null {
  let head: Uint8Array;
  try {
    head = readHead(file);
  } catch (error) {
    return { reason: readReason(error, file), error: true, unreadable: true };
  }
  if (head.length === 0) return { reason: 'empty file', error: false, unreadable: false };
  return sniffFormat(head) === null
    ? { reason: 'not a pcap, pcapng or gzip file', error: false, unreadable: false }
    : null;
}

function walk(dir: string, recurse: boolean, found: string[], skipped: SkippedInput[]): void {
  let entries: import('node:fs').Dirent[];
  try {
    entries = readdirSync(dir, { withFileTypes: true });
  } catch (error) {
    skipped.push({ path: dir, reason: readReason(error, dir), unreadable: true, named: false, error: true });
    return;
  }
  for (const entry of entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) {
      if (recurse) walk(path, recurse, found, skipped);
      continue;
    }
    // A symbolic link to a file is followed; one to a folder is not (no loops).
    const stat = entry.isSymbolicLink() ? statSync(path, { throwIfNoEntry: false }) : null;
    if (entry.isSymbolicLink() && (stat === undefined || stat === null || !stat.isFile())) continue;
    if (!entry.isFile() && !entry.isSymbolicLink()) continue;
    found.push(path);
  }
}

export function scanInputs(paths: readonly string[], options: { readonly recurse: boolean }): ScannedInputs {
  const inputs: InputSpec[] = [];
  const skipped: SkippedInput[] = [];
  const emptyFolders: string[] = [];
  for (const path of paths) {
    if (path === '-') {
      inputs.push({ kind: 'file', path });
      continue;
    }
    let stat: import('node:fs').Stats | undefined;
    try {
      stat = statSync(path);
    } catch (error) {
      skipped.push({ path, reason: readReason(error, path), unreadable: true, named: true, error: true });
      continue;
    }
    if (stat.isDirectory()) {
      const files: string[] = [];
      walk(path, options.recurse, files, skipped);
      const before = inputs.length;
      for (const file of files) {
        const problem = captureProblem(file);
        if (problem === null) inputs.push({ kind: 'file', path: file });
        else skipped.push({ path: file, ...problem, named: false });
      }
      if (inputs.length === before) emptyFolders.push(path);
      continue;
    }
    if (!stat.isFile()) {
      // A FIFO or device (`<(tcpdump -w - ...)`): it cannot be sniffed without consuming it.
      inputs.push({ kind: 'file', path });
      continue;
    }
    const problem = captureProblem(path);
    if (problem === null) inputs.push({ kind: 'file', path });
    else skipped.push({ path, ...problem, named: true, error: true });
  }
  return { inputs, skipped, emptyFolders };
}

/** Names listed in a count line before "and N more". */
export const SKIP_NAMES_SHOWN = 3;

/**
 * The warning lines for the skipped inputs: one per file named on the command line (the user asked for it by
 * name), and one count line per reason for the files found in folders, with the first few names.
 */
export function formatSkipped(skipped: readonly SkippedInput[], othersRemain: boolean): string[] {
  const lines: string[] = [];
  const byReason = new Map<string, string[]>();
  const tail = othersRemain ? ' (skipped; the other inputs are analysed)' : '';
  for (const s of skipped) {
    if (s.named) {
      lines.push(
        s.unreadable ? `cannot open ${s.path}: ${s.reason}${tail}` : `${s.path}: ${s.reason}${tail}`,
      );
      continue;
    }
    const list = byReason.get(s.reason) ?? [];
    list.push(s.path);
    byReason.set(s.reason, list);
  }
  for (const [reason, list] of byReason) {
    const shown = list.slice(0, SKIP_NAMES_SHOWN).join(', ');
    const more = list.length > SKIP_NAMES_SHOWN ? ` and ${list.length - SKIP_NAMES_SHOWN} more` : '';
    lines.push(`skipped ${list.length} file(s) in the folder(s) given (${reason}): ${shown}${more}`);
  }
  return lines;
}
