/**
 * Tests in two speeds (test/system-tests.ts, vitest.config.ts): every test file that starts a process, a
 * server or a worker thread, or needs the built CLI, is in the system project; the unit project stays pure
 * and fast. Checked on the text of each test file.
 */

import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { isSystemTest, SYSTEM_TESTS } from '../system-tests.js';

const ROOT = resolve(import.meta.dirname, '..', '..');

/** What only a system test may do. */
const SYSTEM_ONLY: readonly [RegExp, string][] = [
  [/from 'node:child_process'/, 'starts a process'],
  [/from 'node:worker_threads'|createParallelAnalyzer/, 'starts worker threads'],
  [/\bcreateServer\(|new SMTPServer\(/, 'starts a server'],
  [/\bbuiltCli\(|\bbuiltPackage\(|from '\.\/live-env\.js'/, 'runs the built CLI'],
];

function testFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory()
      ? testFiles(join(dir, e.name))
      : e.name.endsWith('.test.ts')
        ? [relative(ROOT, join(dir, e.name)).split('\\').join('/')]
        : [],
  );
}

describe('test speeds', () => {
  const files = testFiles(join(ROOT, 'test'));

  it('names only test files and folders that exist as system tests', () => {
    expect(SYSTEM_TESTS.filter((p) => !existsSync(join(ROOT, p)))).toEqual([]);
    expect(files.filter(isSystemTest).length).toBeGreaterThan(10);
  });

  it('keeps processes, servers, worker threads and the built CLI out of the unit tests', () => {
    const offenders = files
      // This file names the patterns it looks for.
      .filter((f) => !isSystemTest(f) && f !== 'test/architecture/test-speeds.test.ts')
      .flatMap((f) => {
        const text = readFileSync(join(ROOT, f), 'utf8');
        return SYSTEM_ONLY.filter(([re]) => re.test(text)).map(([, what]) => `${f} ${what}`);
      });
    expect(offenders).toEqual([]);
  });
});
