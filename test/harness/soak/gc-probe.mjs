/**
 * A probe the soak preloads into the smtpscope process (`node --expose-gc --import <this module>`): on
 * SIGUSR2 it runs a full garbage collection and writes the heap still in use to standard error as one line,
 * `smtpscope-gc-probe heap-used-bytes N`. The soak thus reads what the process keeps alive at the moment it
 * asks, instead of waiting for V8 to run a full collection of its own.
 *
 * Plain JavaScript so that the built CLI can preload it whether the soak runs compiled or as TypeScript. It
 * changes nothing else: without `--expose-gc` the line reports no collection (`no-gc`), and a signal
 * listener does not keep the process alive.
 */

/** @type {(() => void) | undefined} */
const collect = globalThis.gc;

process.on('SIGUSR2', () => {
  if (collect === undefined) {
    process.stderr.write('smtpscope-gc-probe no-gc\n');
    return;
  }
  collect();
  process.stderr.write(`smtpscope-gc-probe heap-used-bytes ${process.memoryUsage().heapUsed}\n`);
});
