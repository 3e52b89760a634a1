/**
 * The bundled captures whose traffic is their own: every `.pcap` and `.pcapng` in captures/ except those that
 * repeat another capture's packets. `tls-injected-secrets.pcapng` is `tls-postfix-preload.pcap` with its key log
 * injected (captures/README.md), so its sessions have the same start times and endpoints, and therefore the same
 * ClickHouse row keys: the same session seen twice, which the row ids are meant to merge.
 */

import { readdirSync } from 'node:fs';
import { join } from 'node:path';

const COPIES = new Set(['tls-injected-secrets.pcapng']);

export function distinctCaptureInputs(capturesDir: string): { kind: 'file'; path: string }[] {
  return readdirSync(capturesDir)
    .filter((f) => /\.pcap(ng)?$/.test(f) && !COPIES.has(f))
    .sort()
    .map((f) => ({ kind: 'file' as const, path: join(capturesDir, f) }));
}
