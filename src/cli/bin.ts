#!/usr/bin/env node
import { exitQuietlyOnClosedStdout } from './closed-stdout.js';
import { main } from './main.js';

exitQuietlyOnClosedStdout(process.stdout);

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    process.stderr.write(
      `smtpscope: internal error: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
    );
    process.exitCode = 70;
  },
);
