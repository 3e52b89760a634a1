/**
 * Creates one SMTP decoder per connection for the assembler. Port 465 (submissions) means TLS from the first
 * byte; port 24 means LMTP. Explicit options win over the port rules only when set to true.
 */

import type { FlowKey, StreamHandler, StreamHandlerFactory } from '../reassembly/types.js';
import { createSmtpDecoder } from './decoder.js';
import type { SmtpDecoderOptions, SmtpEvent } from './types.js';

export const IMPLICIT_TLS_PORT = 465;
export const LMTP_PORT = 24;

export function createSmtpStreamFactory(
  emitFor: (flow: FlowKey) => (event: SmtpEvent) => void,
  options?: Partial<SmtpDecoderOptions>,
): StreamHandlerFactory {
  return {
    create(flow: FlowKey): StreamHandler {
      const port = flow.server.port;
      return createSmtpDecoder(flow, emitFor(flow), {
        ...options,
        implicitTls: options?.implicitTls === true || port === IMPLICIT_TLS_PORT,
        lmtp: options?.lmtp === true || port === LMTP_PORT,
      });
    },
  };
}
