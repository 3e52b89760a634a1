/**
 * The package ships the product only: `npm pack` of a fresh build lists dist/index.js (the `main` of
 * package.json) and the CLI, and no harness (test/harness/: conformance, bench, fuzz, adversarial, soak)
 * and no test file. It packs the system tests' build (test/helpers/build-once.ts: tsconfig.build.json into a
 * temporary copy of the package), so the check does not depend on what dist/ holds.
 */

import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { builtPackage } from './helpers/built-cli.js';

interface PackedFile {
  readonly path: string;
}

const HARNESS_NAMES = ['conformance', 'bench', 'fuzz', 'adversarial', 'soak', 'live', 'harness'];

describe('npm pack', () => {
  let files: string[] = [];
  let main = '';

  beforeAll(() => {
    const dir = builtPackage();
    const out = execFileSync('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], {
      cwd: dir,
      encoding: 'utf8',
      timeout: 60_000,
    });
    const report = JSON.parse(out) as { files: PackedFile[] }[];
    files = report[0]!.files.map((f) => f.path);
    main = (JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { main: string }).main;
  }, 120_000);

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
