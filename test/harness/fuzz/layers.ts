/** Every fuzzed layer, in the order `npm run fuzz` runs them. */

import { gzipLayer, pcapLayer, pcapngLayer } from './capture-layers.js';
import type { FuzzLayer } from './layer.js';
import { dsnLayer, mimeLayer } from './model-layers.js';
import { ipLayer, linkLayer, reassemblyLayer, tcpLayer } from './packet-layers.js';
import {
  bdatLayer,
  commandParserLayer,
  dotDecoderLayer,
  lineSplitterLayer,
  replyAssemblerLayer,
  smtpLayer,
  tlsHelloLayer,
} from './smtp-layers.js';
import { tlsDecryptorLayer, tlsKeyLogLayer } from './tls-layers.js';

export const FUZZ_LAYERS: readonly FuzzLayer[] = [
  pcapLayer,
  pcapngLayer,
  gzipLayer,
  linkLayer,
  ipLayer,
  tcpLayer,
  reassemblyLayer,
  lineSplitterLayer,
  commandParserLayer,
  replyAssemblerLayer,
  dotDecoderLayer,
  bdatLayer,
  smtpLayer,
  tlsHelloLayer,
  tlsDecryptorLayer,
  tlsKeyLogLayer,
  mimeLayer,
  dsnLayer,
];

export function findLayer(name: string): FuzzLayer | undefined {
  return FUZZ_LAYERS.find((layer) => layer.name === name);
}
