/**
 * A TCP port of 127.0.0.1 that was free a moment ago and has nothing listening on it now: where a stopped
 * server (ClickHouse in the adversarial runs and the spill test) would be.
 */

import { createServer } from 'node:net';

export function closedPort(): Promise<number> {
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
