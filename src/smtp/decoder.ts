/**
 * The SMTP decoder of one TCP connection: a {@link SmtpDialogue} (src/smtp/dialogue/, after Zeek's SMTP
 * analyzer) behind the reassembler's stream-handler interface. docs/SMTP.md has the modes, the transitions table
 * and the anomaly catalogue.
 */

import type { FlowKey, StreamHandler } from '../reassembly/types.js';
import { SmtpDialogue } from './dialogue/dialogue.js';
import type { SmtpDecoderOptions, SmtpHandler, SmtpState } from './types.js';

export { REDACTED } from './dialogue/auth-steps.js';
export { looksLikeCommand } from './dialogue/looks-like-command.js';

export interface SmtpDecoder extends StreamHandler {
  readonly state: SmtpState;
}

export function createSmtpDecoder(
  flow: FlowKey,
  out: SmtpHandler,
  options?: Partial<SmtpDecoderOptions>,
): SmtpDecoder {
  return new SmtpDialogue(flow, out, options);
}
