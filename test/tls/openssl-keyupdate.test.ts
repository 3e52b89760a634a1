/**
 * TLS 1.3 KeyUpdate made by OpenSSL itself: `openssl s_client` (commands `k`: update its own keys, `K`: also ask
 * the server to update its keys) against `openssl s_server` on 127.0.0.1, through a recording proxy in the
 * test. OpenSSL logs no usable line for the new secrets (3.0 writes `CLIENT_TRAFFIC_SECRET_N`), so decrypting
 * what follows each KeyUpdate proves the "traffic upd" derivation in both directions.
 */

import { type ChildProcessWithoutNullStreams, execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server, Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createTlsKeyStore } from '../../src/tls/key-store.js';
import { mergeRuns, rechunk, replay } from './replay.js';
import { testCertificate, type WireChunk } from './tls-peers.js';

function hasOpenssl(): boolean {
  try {
    execFileSync('openssl', ['version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  await new Promise((resolve) => server.close(resolve));
  return typeof address === 'object' && address !== null ? address.port : 0;
}

/** Resolves once `read()` satisfies `test`, polling; rejects after 8 s. */
async function until(test: () => boolean, what: string): Promise<void> {
  const started = Date.now();
  while (!test()) {
    if (Date.now() - started > 8000) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** Both output streams of a child, as one text (s_client reports KEYUPDATE on standard error). */
function output(child: ChildProcessWithoutNullStreams): () => string {
  let text = '';
  child.stdout.on('data', (d: Buffer) => {
    text += d.toString('latin1');
  });
  child.stderr.on('data', (d: Buffer) => {
    text += d.toString('latin1');
  });
  return () => text;
}

describe.runIf(hasOpenssl())('KeyUpdate from OpenSSL s_client / s_server', () => {
  const dir = mkdtempSync(join(tmpdir(), 'smtpscope-ku-'));
  const children: ChildProcessWithoutNullStreams[] = [];
  let proxy: Server | null = null;
  afterAll(() => {
    for (const c of children) c.kill();
    proxy?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('decrypts both directions across client and server KeyUpdates', async () => {
    const cert = testCertificate('ec');
    writeFileSync(join(dir, 'key.pem'), cert.key);
    writeFileSync(join(dir, 'cert.pem'), cert.cert);
    const keylog = join(dir, 'keys.log');
    const serverPort = await freePort();
    const server = spawn('openssl', [
      's_server',
      '-accept',
      `127.0.0.1:${serverPort}`,
      '-naccept',
      '1',
      '-tls1_3',
      '-cert',
      join(dir, 'cert.pem'),
      '-key',
      join(dir, 'key.pem'),
    ]);
    children.push(server);
    const serverOut = output(server);
    await until(() => serverOut().includes('ACCEPT'), 's_server to listen');

    const wire: WireChunk[] = [];
    proxy = createServer((inbound) => {
      const outbound = new Socket();
      outbound.connect(serverPort, '127.0.0.1');
      inbound.on('data', (d: Buffer) => {
        wire.push({ direction: 'c2s', bytes: Uint8Array.from(d) });
        outbound.write(d);
      });
      outbound.on('data', (d: Buffer) => {
        wire.push({ direction: 's2c', bytes: Uint8Array.from(d) });
        inbound.write(d);
      });
      inbound.on('end', () => outbound.end());
      outbound.on('end', () => inbound.end());
      inbound.on('error', () => outbound.destroy());
      outbound.on('error', () => inbound.destroy());
    });
    await new Promise<void>((resolve) => proxy?.listen(0, '127.0.0.1', resolve));
    const proxyAddress = proxy.address();
    const proxyPort = typeof proxyAddress === 'object' && proxyAddress !== null ? proxyAddress.port : 0;

    const client = spawn('openssl', [
      's_client',
      '-connect',
      `127.0.0.1:${proxyPort}`,
      '-tls1_3',
      '-keylogfile',
      keylog,
    ]);
    children.push(client);
    const clientOut = output(client);
    await until(() => clientOut().includes('Verify return code'), 'the handshake');

    const keyUpdates = (): number => clientOut().split('KEYUPDATE').length - 1;
    client.stdin.write('hello one\n');
    await until(() => serverOut().includes('hello one'), 'the first line');
    client.stdin.write('k\n');
    await until(() => keyUpdates() === 1, "the client's KeyUpdate");
    client.stdin.write('hello two\n');
    await until(() => serverOut().includes('hello two'), 'the second line');
    client.stdin.write('K\n');
    await until(() => keyUpdates() === 2, "the client's KeyUpdate requesting the server's");
    client.stdin.write('hello three\n');
    await until(() => serverOut().includes('hello three'), 'the third line');
    server.stdin.write('from the server\n');
    await until(() => clientOut().includes('from the server'), "the server's line");
    client.stdin.write('Q\n');
    await until(() => client.exitCode !== null && server.exitCode !== null, 'both to exit');

    const text = readFileSync(keylog, 'latin1');
    expect(text).not.toMatch(/TRAFFIC_SECRET_1 /);
    const store = createTlsKeyStore();
    store.addKeyLog('keys.log', text);
    const expectedClient = 'hello one\nhello two\nhello three\n';
    for (const chunks of [wire, mergeRuns(wire), rechunk(wire, 5, 7)]) {
      const result = replay(store, chunks);
      expect(result.final).toMatchObject({ kind: 'decrypted', version: 'TLS 1.3' });
      expect(Buffer.from(result.c2s).toString('latin1')).toBe(expectedClient);
      expect(Buffer.from(result.s2c).toString('latin1')).toBe('from the server\n');
    }
    // Without the derivation the records after the first KeyUpdate could not open: check that one did follow.
    const clientRecords = mergeRuns(wire).filter((c) => c.direction === 'c2s').length;
    expect(clientRecords).toBeGreaterThan(2);
  }, 30_000);
});
