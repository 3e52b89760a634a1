/**
 * The package ships the product only: `npm pack` of a fresh build lists dist/index.js (the `main` of
 * package.json) and the CLI, and no harness (test/harness/: conformance, bench, fuzz, adversarial, soak)
 * and no test file. The build runs into a temporary copy of the package so the check does not depend on
 * what dist/ holds.
 */

import { execFileSync, spawnSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROOT } from './helpers/built-cli.js';

interface PackedFile {
  readonly path: string;
}

const HARNESS_NAMES = ['conformance', 'bench', 'fuzz', 'adversarial', 'soak', 'live', 'harness'];

describe('npm pack', () => {
  let dir = '';
  let files: string[] = [];
  let main = '';

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'smtpscope-pack-'));
    for (const name of ['package.json', 'README.md']) copyFileSync(join(ROOT, name), join(dir, name));
    // tsc exits non-zero on a type error anywhere but still emits; the listing below is what matters.
    spawnSync(
      join(ROOT, 'node_modules', '.bin', 'tsc'),
      ['-p', join(ROOT, 'tsconfig.build.json'), '--outDir', join(dir, 'dist')],
      { cwd: ROOT, encoding: 'utf8', timeout: 120_000 },
    );
    const out = execFileSync('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], {
      cwd: dir,
      encoding: 'utf8',
      timeout: 60_000,
    });
    const report = JSON.parse(out) as { files: PackedFile[] }[];
    files = report[0]!.files.map((f) => f.path);
    main = (JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { main: string }).main;
  }, 180_000);

  afterAll(() => {
    if (dir !== '') rmSync(dir, { recursive: true, force: true });
  });

  it('lists the library entry point, its types and the CLI', () => {
    expect(main).toBe('dist/index.js');
    expect(files).toContain('dist/index.js');
    expect(files).toContain('dist/index.d.ts');
    expect(files).toContain('dist/cli/bin.js');
    expect(files).toContain('dist/pipeline/analyzer.js');
  });

  it('lists no harness and no test file', () => {
    const harness = files.filter((f) => HARNESS_NAMES.some((name) => f.startsWith(`dist/${name}/`)));
    expect(harness).toEqual([]);
    expect(files.filter((f) => f.startsWith('test/') || f.includes('.test.'))).toEqual([]);
    // Everything shipped is the build, the manifest or the README.
    expect(files.filter((f) => !f.startsWith('dist/') && f !== 'package.json' && f !== 'README.md')).toEqual(
      [],
    );
  });
});
