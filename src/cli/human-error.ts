/**
 * File-system errors said as a person would ("cannot open x.pcap: no such file") instead of Node's
 * "ENOENT: no such file or directory, open 'x.pcap'". The CLI's own words for the codes a user can cause;
 * anything else keeps Node's message.
 */

import { statSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';

/** What went wrong, in a few words, for an errno code met while reading. */
const READ_REASONS: Readonly<Record<string, string>> = {
  ENOENT: 'no such file',
  EACCES: 'permission denied',
  EPERM: 'permission denied',
  EISDIR: 'it is a folder',
  ENOTDIR: 'a part of the path is not a folder',
  ELOOP: 'too many symbolic links',
  EMFILE: 'too many open files',
  ENFILE: 'too many open files',
  EIO: 'input/output error (a failing disk or network share?)',
  ENAMETOOLONG: 'the name is too long',
};

const WRITE_REASONS: Readonly<Record<string, string>> = {
  ...READ_REASONS,
  ENOSPC: 'no space left on the device',
  EDQUOT: 'disk quota exceeded',
  EROFS: 'the file system is read-only',
  EEXIST: 'a file with that name is in the way',
  EFBIG: 'the file is too large for this file system',
};

export function isErrnoError(error: unknown): error is NodeJS.ErrnoException & { code: string } {
  return error instanceof Error && typeof (error as NodeJS.ErrnoException).code === 'string';
}

/** The reason for `code` when reading (`mode: 'read'`) or writing; null when the CLI has no words of its own. */
export function reasonFor(code: string, mode: 'read' | 'write'): string | null {
  return (mode === 'read' ? READ_REASONS : WRITE_REASONS)[code] ?? null;
}

/**
 * The name the user gave for a path an output wrote through: report files are written to a hidden temporary
 * name beside the final one (`.x.ndjson.<pid>.<hex>.tmp`), which means nothing to the user.
 */
export function userPath(path: string): string {
  const m = /^\.(.+)\.\d+\.[0-9a-f]+\.tmp$/.exec(basename(path));
  return m?.[1] === undefined ? path : join(dirname(path), m[1]);
}

/** Why `path` cannot be created: its folder is missing or is not a folder; null when it looks writable. */
export function missingFolder(path: string): string | null {
  const folder = dirname(path);
  const stat = statSync(folder, { throwIfNoEntry: false });
  if (stat === undefined) return `the folder ${folder} does not exist`;
  if (!stat.isDirectory()) return `${folder} is not a folder`;
  return null;
}

/**
 * One line for a file-system error: "cannot open PATH: REASON" when reading, "cannot write PATH: REASON"
 * when writing (a missing folder named as such). Errors without a code keep their message.
 */
export function describeFsError(error: unknown, mode: 'read' | 'write', givenPath?: string): string {
  if (!isErrnoError(error)) return error instanceof Error ? error.message : String(error);
  const path = givenPath ?? (error.path === undefined ? null : userPath(error.path));
  const verb = mode === 'read' ? 'cannot open' : 'cannot write';
  let reason = reasonFor(error.code, mode) ?? error.message;
  if (mode === 'write' && error.code === 'ENOENT' && path !== null) reason = missingFolder(path) ?? reason;
  return path === null ? `${verb}: ${reason}` : `${verb} ${path}: ${reason}`;
}

/** An output that cannot be created, found before the analysis starts (exit 1). */
export class OutputPathError extends Error {
  override readonly name = 'OutputPathError';
}
