/**
 * Fuzzed TLS layers: the decryptor (src/tls/decryptor.ts) on the TLS part of the captures' dialogues, mutated,
 * with every key log of captures/ loaded; and the key log parser on the captures' key logs, mutated. Invariants:
 * no exception; the same statuses, plaintext and gaps (or entries and problems) for any chunking; a status the
 * contract names; no hex run that could be a secret in a status or problem text.
 */

import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createTlsDecryptorFactory } from '../../../src/tls/decryptor.js';
import { createTlsKeyStore, type MutableTlsKeyStore } from '../../../src/tls/key-store.js';
import { createKeyLogParser } from '../../../src/tls/keylog-parser.js';
import type { DialogueStep } from './corpus.js';
import { defaultCapturesDir } from './corpus.js';
import { type FuzzLayer, hashBytes, latin1Bytes, latin1Text } from './layer.js';
import { mutate } from './mutate.js';
import { type Random, randomChunking } from './random.js';

const STATUS_KINDS = new Set([
  'pending',
  'decrypted',
  'no-key',
  'bad-key',
  'unsupported',
  'not-tls',
  'incomplete',
]);
/** 16 hex digits in a row: a text that long could be part of a secret. */
const SECRET_LIKE = /[0-9a-f]{16}/i;

let keyLogs: { texts: string[]; store: MutableTlsKeyStore } | null = null;

/** Every key log of captures/, once. */
function captureKeyLogs(): { texts: string[]; store: MutableTlsKeyStore } {
  if (keyLogs !== null) return keyLogs;
  const dir = defaultCapturesDir();
  const store = createTlsKeyStore();
  const texts: string[] = [];
  for (const name of readdirSync(dir).sort()) {
    if (!name.endsWith('.keys')) continue;
    const text = readFileSync(join(dir, name), 'latin1');
    texts.push(text);
    store.addKeyLog(name, text);
  }
  keyLogs = { texts, store };
  return keyLogs;
}

/** The steps from the ClientHello on (the first client bytes that start a TLS handshake record). */
function tlsPart(steps: readonly DialogueStep[]): DialogueStep[] | null {
  for (let i = 0; i < steps.length; i++) {
    const b = steps[i]!.bytes;
    if (steps[i]!.direction === 'c2s' && b[0] === 0x16 && b[1] === 0x03 && b[5] === 0x01)
      return steps.slice(i);
  }
  return null;
}

function runDecryptor(steps: readonly DialogueStep[], random: Random | null, maxChunk: number): string[] {
  const log: string[] = [];
  const plain = { c2s: 0x811c9dc5, s2c: 0x811c9dc5 };
  const lengths = { c2s: 0, s2c: 0 };
  const decryptor = createTlsDecryptorFactory(captureKeyLogs().store, { maxKeyWaitMs: 0 }).create(
    { id: 'fuzz', client: { ip: '192.0.2.1', port: 1 }, server: { ip: '192.0.2.2', port: 25 } } as never,
    {
      onPlaintext(direction, bytes) {
        plain[direction] = hashBytes(bytes, plain[direction]);
        lengths[direction] += bytes.length;
      },
      onHello(hello) {
        log.push(`hello ${hello.side} ${hello.cipher ?? '-'}`);
      },
      onStatus(status) {
        log.push(`status ${JSON.stringify(status)}`);
      },
      onPlaintextGap(direction) {
        log.push(`gap ${direction} after ${lengths[direction]}`);
      },
    },
  );
  let ts = 1;
  for (const step of steps) {
    const chunks = random === null ? [step.bytes] : randomChunking(step.bytes, random, maxChunk);
    for (const chunk of chunks) decryptor.push(step.direction, chunk, ts++);
  }
  decryptor.close(ts);
  log.push(
    `plaintext ${lengths.c2s}/${plain.c2s} ${lengths.s2c}/${plain.s2c} final ${JSON.stringify(decryptor.status)}`,
  );
  return log;
}

export const tlsDecryptorLayer: FuzzLayer = {
  name: 'tls-decryptor',
  description: "TLS decryptor on the captures' TLS sessions with their key logs: mutations, any chunking",
  runCase(random, corpus) {
    const sessions = corpus.dialogues
      .map((d) => tlsPart(d.steps))
      .filter((s): s is DialogueStep[] => s !== null);
    if (sessions.length === 0) return null;
    const session = random.pick(sessions);
    const steps = session.map((s) => ({ direction: s.direction, bytes: s.bytes }));
    if (random.chance(0.8)) {
      const at = random.int(steps.length);
      const other = random.pick(session).bytes;
      steps[at] = { direction: steps[at]!.direction, bytes: mutate(steps[at]!.bytes, other, random, 65_536) };
    }
    const whole = runDecryptor(steps, null, 0);
    const maxChunk = 1 + random.int(64);
    const chunked = runDecryptor(steps, random, maxChunk);
    if (whole.join('\n') !== chunked.join('\n'))
      return `whole steps gave ${whole.join(' | ').slice(0, 300)}; chunks of at most ${maxChunk} gave ${chunked.join(' | ').slice(0, 300)}`;
    const final = whole[whole.length - 1] ?? '';
    const kind = /"kind":"([a-z-]+)"/.exec(final)?.[1] ?? '';
    if (!STATUS_KINDS.has(kind) || kind === 'pending') return `final status ${final.slice(0, 200)}`;
    for (const line of whole) {
      if (line.startsWith('status ') && SECRET_LIKE.test(line))
        return `status text may hold a secret: ${line}`;
    }
    return null;
  },
};

function runKeyLog(chunks: readonly Uint8Array[]): string[] {
  const log: string[] = [];
  const parser = createKeyLogParser({
    onEntry: (e) => log.push(`entry ${e.label} ${hashBytes(e.id)} ${hashBytes(e.secret)}`),
    onMalformed: (p) => log.push(`malformed ${p.line} ${p.reason}`),
    onIgnored: (label) => log.push(`ignored ${label}`),
    maxLineBytes: 300,
  });
  for (const c of chunks) parser.push(c);
  parser.end();
  log.push(`lines ${parser.lines}`);
  return log;
}

export const tlsKeyLogLayer: FuzzLayer = {
  name: 'tls-keylog',
  description: "NSS key log parser on the captures' key logs: mutations, any chunking, no secret in reasons",
  runCase(random) {
    const { texts } = captureKeyLogs();
    if (texts.length === 0) return null;
    const input = mutate(latin1Bytes(random.pick(texts)), latin1Bytes(random.pick(texts)), random, 65_536);
    const whole = runKeyLog([input]);
    const maxChunk = 1 + random.int(200);
    const chunked = runKeyLog(randomChunking(input, random, maxChunk));
    if (whole.join('\n') !== chunked.join('\n'))
      return `one chunk and chunks of at most ${maxChunk} differ: ${whole.length} vs ${chunked.length} entries (${latin1Text(input.subarray(0, 40))}...)`;
    for (const line of whole) {
      if (line.startsWith('malformed ') && SECRET_LIKE.test(line))
        return `a reason may hold a secret: ${line}`;
    }
    return null;
  },
};
