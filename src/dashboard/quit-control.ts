/**
 * When the dashboard quits, and when it leaves at once.
 *
 * The first quit request (`q`, Ctrl-C, SIGINT, SIGTERM) starts the orderly stop: the analysis stops, every
 * output is flushed, the terminal is restored. A second request while that is still going on leaves at
 * once, with the status of a process killed by that signal: 143 after SIGTERM, 130 after SIGINT and after a
 * key (in raw mode Ctrl-C arrives as a key, not as SIGINT; `q` counts the same). Outputs may then be
 * incomplete.
 */

/** Exit status when a second request leaves at once: 128 + the signal number. */
export const EXIT_AT_ONCE = { SIGINT: 130, SIGTERM: 143 } as const;

export type QuitRequest = 'key' | 'SIGINT' | 'SIGTERM';

export interface QuitControl {
  /** A quit key, SIGINT or SIGTERM: the first starts `quit`; any later one calls `exitNow`. */
  request(from: QuitRequest): void;
  /** Whether the orderly stop has begun. */
  readonly quitting: boolean;
}

/**
 * `quit` begins the orderly stop (called once); `exitNow(code)` must end the process (restoring the
 * terminal first).
 */
export function createQuitControl(quit: () => void, exitNow: (code: number) => void): QuitControl {
  let quitting = false;
  return {
    request(from) {
      if (quitting) {
        exitNow(from === 'SIGTERM' ? EXIT_AT_ONCE.SIGTERM : EXIT_AT_ONCE.SIGINT);
        return;
      }
      quitting = true;
      quit();
    },
    get quitting() {
      return quitting;
    },
  };
}
