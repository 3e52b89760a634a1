/**
 * A TCP port of 127.0.0.1 that was free a moment ago (bound and released): for a test server to listen on, or,
 * left alone, a port where nothing listens (a stopped ClickHouse server in the adversarial runs and the spill
 * test). Good enough on a quiet machine.
 */

import { createServer } from 'node:net';

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}
