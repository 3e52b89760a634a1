import { type CliIo, main } from '../../src/cli/main.js';

export interface MainResult {
  readonly code: number;
  readonly out: string;
  readonly err: string;
}

/**
 * Runs the CLI in-process with captured standard output and error, as when they are not a terminal
 * (`stdinIsTty`: as if standard input were one).
 */
export async function runMain(
  argv: readonly string[],
  options: { readonly stdinIsTty?: boolean } = {},
): Promise<MainResult> {
  const out: string[] = [];
  const err: string[] = [];
  const io: CliIo = {
    stdout: (text) => {
      out.push(text);
    },
    stderr: (text) => {
      err.push(text);
    },
    isTty: false,
    stdinIsTty: options.stdinIsTty === true,
  };
  const code = await main(argv, io);
  return { code, out: out.join(''), err: err.join('') };
}
