/**
 * The normalisation rules: known, explained peer behaviours that the comparisons judge by rule rather than by a
 * per-capture expectation, so that a new capture of the same kind is judged the same way. Each rule is applied by
 * the comparison of its peer (tshark-compare.ts, suricata-compare.ts) and has a unit test there; this table gives
 * the reason written into docs/CONFORMANCE.md.
 */

import { ARKIME_RULES } from './arkime-compare.js';
import { SURICATA_RULES } from './suricata-compare.js';
import { TSHARK_RULES } from './tshark-compare.js';

export const NORMALISATION_RULES: Readonly<Record<string, string>> = {
  [TSHARK_RULES.authLine]:
    'tshark labels an AUTH continuation line (base64, e.g. `cHVuamFiQDEyMw==` shown as `CHVU`) as a command: an AUTH response of smtpscope at that place matches any tshark token that is not an SMTP verb (one tshark shows empty is not compared).',
  [TSHARK_RULES.oneSegment]:
    'tshark lacks a command that came in one client segment with other commands or with the end of a message (same packet time: pipelined MAIL/RCPT/DATA, `.\\r\\nQUIT`): it takes the segment as message data.',
  [TSHARK_RULES.preGreeting]:
    "tshark lacks a command the client sent before the server's greeting: it does not dissect that client data as commands.",
  [TSHARK_RULES.afterBdat]:
    'tshark lacks a command at or after a BDAT command: it takes the bytes after a BDAT line as chunk data to the end of the segment, and takes a BDAT line whose size it cannot read (negative, overflowing) and what follows as data.',
  [TSHARK_RULES.rejectedData]:
    'tshark lacks a command sent after a DATA that was not answered 354: it enters message mode on the DATA command whatever the reply, and reads the later commands as message text.',
  [TSHARK_RULES.splitReply]:
    "tshark repeats a reply code right after the same code when a multi-line reply's lines came in several segments: it gives a code per segment; smtpscope has one reply.",
  [TSHARK_RULES.implicitTls]:
    "a session smtpscope saw as implicit TLS (port 465, no plaintext) is not SMTP to tshark's dissector, so tshark has no stream for it.",
  [ARKIME_RULES.emptyRecord]:
    'Arkime writes a second record for a connection it already recorded, with no packets (empty `packetPos`) and a `rootId` naming the first: it is not a session and is not compared.',
  [ARKIME_RULES.statuscodeData]:
    "Arkime tags `smtp:statuscode:NNN` from the server line that follows the final dot of a DATA body only (its parser sets the flag on the `.` line, which a BDAT message does not have): smtpscope's final reply to a BDAT message is not compared with a missing tag.",
  [ARKIME_RULES.subjectSpace]:
    'Arkime takes the subject from the ninth character of the `Subject:` line, skipping exactly one space: further leading white space stays in its value. Subjects are compared without leading white space.',
  [SURICATA_RULES.firewallBlocked]:
    "in a test whose stats say `firewall.blocked` above 0, Suricata ran as a firewall with the test's drop rules and stopped the flow: it logs fewer smtp transactions than the capture holds, smtpscope (passive) sees them all. Only fewer, never more.",
  [SURICATA_RULES.receivedUnfold]:
    "Suricata's MIME parser (rust/src/mime/smtp.rs) unfolds a header by appending the continuation line without its first white-space character and without the line break, so a fold indented by one tab or space joins the words around it; smtpscope unfolds as RFC 5322 2.2.3 says (the white space stays). A Received value that differs only there agrees when both are compared without white space.",
  [SURICATA_RULES.filenameCut]:
    "Suricata's MIME decoder keeps the first 255 characters of a file name (and raises MIME_LONG_FILENAME): file names are compared on their first 255 characters.",
};
