import { type CliIo, main } from '../../src/cli/main.js';

export interface MainResult {
  readonly code: number;
  readonly out: string;
  readonly err: string;
}

/** Runs the CLI in-process with captured standard output and error, as when they are not a terminal. */
export async function runMain(argv: readonly string[]): Promise<MainResult> {
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
  };
  const code = await main(argv, io);
  return { code, out: out.join(''), err: err.join('') };
}
