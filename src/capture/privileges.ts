/**
 * `-Z USER`: give up root after the capture device is open, like tcpdump -Z.
 *
 * Order: supplementary groups (initgroups), then the primary group (setgid), then the user (setuid); the
 * user last, because once it is not root the process may no longer change its groups. Afterwards the drop
 * is verified, including that root cannot be regained.
 */

import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';

export interface PasswdEntry {
  readonly name: string;
  readonly uid: number;
  readonly gid: number;
}

export type DropPrivilegesResult =
  | { readonly kind: 'dropped'; readonly user: string; readonly uid: number; readonly gid: number }
  /** Not running as root: nothing to drop; `warning` is for the user. */
  | { readonly kind: 'not-root'; readonly warning: string };

/** Thrown when the user is unknown or a step of the drop fails; the process must not go on capturing. */
export class PrivilegeDropError extends Error {
  override readonly name = 'PrivilegeDropError';
}

/** Parses one passwd(5) line (`name:x:uid:gid:...`); null when it is not one. */
export function parsePasswdLine(line: string): PasswdEntry | null {
  const fields = line.split(':');
  const [name, , uid, gid] = fields;
  if (fields.length < 4 || name === undefined || name === '' || uid === undefined || gid === undefined) {
    return null;
  }
  if (!/^\d+$/.test(uid) || !/^\d+$/.test(gid)) return null;
  return { name, uid: Number(uid), gid: Number(gid) };
}

const GETENT_PATHS = ['/usr/bin/getent', '/bin/getent'];

/**
 * Finds a user by name or numeric uid: through getent (so NSS sources such as LDAP count), falling back to
 * /etc/passwd where getent does not exist. getent is run by absolute path, never looked up in PATH.
 */
export function lookupUser(user: string): PasswdEntry | null {
  const getent = GETENT_PATHS.find((p) => existsSync(p));
  if (getent !== undefined) {
    try {
      const out = execFileSync(getent, ['passwd', user], {
        encoding: 'utf8',
        stdio: ['ignore', 'pipe', 'ignore'],
      });
      return parsePasswdLine(out.split('\n')[0] ?? '');
    } catch {
      return null; // getent exits 2 for an unknown key
    }
  }
  let text: string;
  try {
    text = readFileSync('/etc/passwd', 'utf8');
  } catch {
    return null;
  }
  for (const line of text.split('\n')) {
    const entry = parsePasswdLine(line);
    if (entry !== null && (entry.name === user || String(entry.uid) === user)) return entry;
  }
  return null;
}

function describe(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/**
 * Switches the process to `user` (name or numeric uid) and that user's groups. A no-op returning a warning
 * when the process is not root (for example when node has the capture capabilities instead).
 * @throws PrivilegeDropError when the user is unknown, a step fails, or root could be regained.
 */
export function dropPrivileges(user: string): DropPrivilegesResult {
  // process.initgroups exists on POSIX but is missing from the @types/node 20 declarations.
  const initgroups: unknown = Reflect.get(process, 'initgroups');
  if (
    typeof process.getuid !== 'function' ||
    typeof process.setuid !== 'function' ||
    typeof process.setgid !== 'function' ||
    typeof initgroups !== 'function'
  ) {
    throw new PrivilegeDropError('-Z is not supported on this platform');
  }
  if (process.getuid() !== 0 && process.geteuid?.() !== 0) {
    return {
      kind: 'not-root',
      warning: `-Z ${user}: not running as root (uid ${process.getuid()}), so there are no privileges to drop`,
    };
  }
  const entry = lookupUser(user);
  if (entry === null) throw new PrivilegeDropError(`-Z ${user}: no such user`);
  if (entry.uid === 0)
    throw new PrivilegeDropError(`-Z ${user}: that user is root; nothing would be dropped`);
  try {
    Reflect.apply(initgroups, process, [entry.name, entry.gid]);
  } catch (err) {
    throw new PrivilegeDropError(`-Z ${user}: cannot set supplementary groups: ${describe(err)}`, {
      cause: err,
    });
  }
  try {
    process.setgid(entry.gid);
  } catch (err) {
    throw new PrivilegeDropError(`-Z ${user}: cannot set group ${entry.gid}: ${describe(err)}`, {
      cause: err,
    });
  }
  try {
    process.setuid(entry.uid);
  } catch (err) {
    throw new PrivilegeDropError(`-Z ${user}: cannot set user ${entry.uid}: ${describe(err)}`, {
      cause: err,
    });
  }
  if (
    process.getuid() !== entry.uid ||
    process.geteuid?.() !== entry.uid ||
    process.getgid?.() !== entry.gid
  ) {
    throw new PrivilegeDropError(`-Z ${user}: the process ids did not change as requested`);
  }
  let regained = false;
  try {
    process.setuid(0);
    regained = true;
  } catch {
    // expected: an unprivileged process cannot become root again
  }
  if (regained) throw new PrivilegeDropError(`-Z ${user}: root could be regained after dropping privileges`);
  return { kind: 'dropped', user: entry.name, uid: entry.uid, gid: entry.gid };
}
