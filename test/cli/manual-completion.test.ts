import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { completionScript } from '../../src/cli/completion.js';
import { manPage } from '../../src/cli/manual.js';
import { OPTIONS } from '../../src/cli/options.js';
import { runMain } from '../helpers/run-main.js';

const ROOT = join(import.meta.dirname, '../..');

describe('manual page', () => {
  it('docs/smtpscope.1 is the page made from the option table, and package.json installs it', () => {
    expect(readFileSync(join(ROOT, 'docs/smtpscope.1'), 'utf8')).toBe(manPage());
    const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as {
      man?: string[];
      files?: string[];
    };
    expect(pkg.man).toContain('./docs/smtpscope.1');
    expect(pkg.files).toContain('docs/smtpscope.1');
  });

  it('lists every option that --help lists', async () => {
    const page = manPage();
    const help = (await runMain(['--help'])).out;
    for (const o of OPTIONS.filter((x) => x.hidden !== true)) {
      expect(page).toContain(`\\-\\-${o.name.replace(/-/g, '\\-')}`);
      if (o.commands.includes('analyze')) expect(help).toContain(`--${o.name}`);
    }
  });

  it('renders with man without warnings', () => {
    const r = spawnSync('man', ['--warnings', '-l', join(ROOT, 'docs/smtpscope.1')], {
      encoding: 'utf8',
      env: { ...process.env, MANWIDTH: '100', PAGER: 'cat' },
    });
    if (r.error !== undefined) return; // man is not installed here
    expect(r.stderr).toBe('');
    expect(r.stdout).toContain('EXIT STATUS');
  });
});

/** What bash completes for the command line `words` (the last word being completed), with the script loaded. */
function bashComplete(words: string[]): string[] {
  const script = completionScript('bash');
  const quoted = words.map((w) => `'${w}'`).join(' ');
  const r = spawnSync(
    'bash',
    [
      '-c',
      `${script}\nCOMP_WORDS=(${quoted}); COMP_CWORD=${words.length - 1}; _smtpscope; printf '%s\\n' "\${COMPREPLY[@]}"`,
    ],
    { encoding: 'utf8', cwd: ROOT },
  );
  expect(r.stderr).toBe('');
  return r.stdout.split('\n').filter((l) => l !== '');
}

describe('shell completion', () => {
  it('is printed by smtpscope completion bash|zsh', async () => {
    expect((await runMain(['completion', 'bash'])).out).toBe(completionScript('bash'));
    expect((await runMain(['completion', 'zsh'])).out).toContain('#compdef smtpscope');
    expect((await runMain(['completion', 'fish'])).code).toBe(2);
  });

  it('bash completes commands, the options of the command typed, and file names after a FILE option', () => {
    expect(bashComplete(['smtpscope', 'boun'])).toEqual(['bounces']);
    const bounces = bashComplete(['smtpscope', 'bounces', '--c']);
    expect(bounces).toContain('--csv');
    expect(bounces).not.toContain('--csv-sessions');
    expect(bashComplete(['smtpscope', 'x.pcap', '--csv-r'])).toEqual(['--csv-recipients']);
    expect(bashComplete(['smtpscope', 'transcript', '--se'])).toEqual(['--session']);
    expect(bashComplete(['smtpscope', '--json', 'READ'])).toEqual(['README.md']);
    expect(bashComplete(['smtpscope', 'completion', ''])).toEqual(['bash', 'zsh']);
  });

  it('zsh reads the script without a syntax error', () => {
    const r = spawnSync('zsh', ['-n', '-c', completionScript('zsh')], { encoding: 'utf8' });
    if (r.error !== undefined) return; // zsh is not installed here
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
  });
});

describe('README', () => {
  it('says how to get the smtpscope command the examples use, and the package provides it', () => {
    const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
    expect(readme).toContain('npm run build && npm install -g .');
    expect(readme).toContain('npm link');
    expect(readme).toContain('npx smtpscope');
    const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as {
      bin: Record<string, string>;
    };
    expect(pkg.bin['smtpscope']).toBe('dist/cli/bin.js');
    expect(readFileSync(join(ROOT, 'src/cli/bin.ts'), 'utf8').startsWith('#!/usr/bin/env node\n')).toBe(true);
  });
});
