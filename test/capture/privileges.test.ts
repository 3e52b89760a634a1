import { execFileSync } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  dropPrivileges,
  lookupUser,
  PrivilegeDropError,
  parsePasswdLine,
} from '../../src/capture/privileges.js';

const isRoot = process.getuid?.() === 0;
const nobody = lookupUser('nobody');

describe('privileges', () => {
  it('parses passwd lines and rejects anything else', () => {
    expect(parsePasswdLine('nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin')).toEqual({
      name: 'nobody',
      uid: 65534,
      gid: 65534,
    });
    expect(parsePasswdLine('')).toBeNull();
    expect(parsePasswdLine('# comment')).toBeNull();
    expect(parsePasswdLine('name:x:abc:0')).toBeNull();
    expect(parsePasswdLine(':x:1:1:')).toBeNull();
  });

  it('looks up users by name and by uid', () => {
    expect(lookupUser('root')).toEqual({ name: 'root', uid: 0, gid: 0 });
    expect(lookupUser('0')).toEqual({ name: 'root', uid: 0, gid: 0 });
    expect(lookupUser('smtpscope-no-such-user')).toBeNull();
  });

  it.skipIf(!isRoot)('refuses an unknown user and root itself without changing anything (needs root)', () => {
    expect(() => dropPrivileges('smtpscope-no-such-user')).toThrow(PrivilegeDropError);
    expect(() => dropPrivileges('smtpscope-no-such-user')).toThrow(/no such user/);
    expect(() => dropPrivileges('root')).toThrow(/that user is root/);
    expect(process.getuid?.()).toBe(0);
  });
});

// The drop itself must happen in a separate process: this one has to stay root for the other tests.
describe.skipIf(!isRoot || nobody === null)(
  'privileges in a child process (needs root and user nobody)',
  () => {
    let dir: string;
    let modulePath: string;

    beforeAll(async () => {
      dir = mkdtempSync(join(tmpdir(), 'privileges-'));
      const source = fileURLToPath(new URL('../../src/capture/privileges.ts', import.meta.url));
      // Type stripping by the transformer vitest itself runs on (privileges.ts imports only node: modules).
      const { transformWithOxc } = await import('vite');
      const { code } = await transformWithOxc(readFileSync(source, 'utf8'), source, { lang: 'ts' });
      modulePath = join(dir, 'privileges.mjs');
      writeFileSync(modulePath, code, { mode: 0o644 });
      chmodSync(dir, 0o755); // the unprivileged child must be able to import it
    });
    afterAll(() => {
      rmSync(dir, { recursive: true, force: true });
    });

    function runChild(script: string, options: { uid?: number; gid?: number } = {}): unknown {
      const driver = `import { dropPrivileges } from ${JSON.stringify(modulePath)};\n${script}`;
      const out = execFileSync(process.execPath, ['--input-type=module', '-e', driver], {
        encoding: 'utf8',
        cwd: dir,
        timeout: 10_000,
        ...options,
      });
      return JSON.parse(out);
    }

    it('switches user, group and supplementary groups, and root cannot be regained', () => {
      const result = runChild(`
      const result = dropPrivileges('nobody');
      let regained = true;
      try { process.setuid(0); } catch { regained = false; }
      console.log(JSON.stringify({ result, uid: process.getuid(), euid: process.geteuid(), gid: process.getgid(),
        groups: process.getgroups(), regained }));
    `);
      expect(result).toEqual({
        result: { kind: 'dropped', user: 'nobody', uid: nobody?.uid, gid: nobody?.gid },
        uid: nobody?.uid,
        euid: nobody?.uid,
        gid: nobody?.gid,
        groups: expect.not.arrayContaining([0]),
        regained: false,
      });
    });

    it('leaves an unprivileged process alone and says why', () => {
      const result = runChild(`console.log(JSON.stringify(dropPrivileges('nobody')));`, {
        uid: nobody?.uid ?? 65534,
        gid: nobody?.gid ?? 65534,
      });
      expect(result).toEqual({
        kind: 'not-root',
        warning: `-Z nobody: not running as root (uid ${nobody?.uid}), so there are no privileges to drop`,
      });
    });
  },
);
