#!/usr/bin/env python3
"""Python smtplib dialogues for make-dialogue-captures.sh (issue items of captures/README.md).

Usage: dialogue-smtplib.py MODE HOST PORT TRANSCRIPT

  ehlo-refused    HELO, MAIL, then EHLO with no argument (refused 501), RCPT, DATA, QUIT
  rcpt-after-data MAIL, RCPT, DATA, then RCPT again with no new MAIL (refused 503), QUIT
  early-ehlo      EHLO sent right after connecting, before the (delayed) greeting; then the greeting and the
                  EHLO reply are read, and MAIL, RCPT, DATA, QUIT follow

smtplib's own debug output (every line sent and every reply line read) goes to TRANSCRIPT as "-> " and
"<- " lines. Exits 0 when the server answered as expected, 1 otherwise.
"""

import socket
import sys

from smtplib_recorded import Recorded


def message(msg_id: str) -> str:
    return (
        "From: alice@sender.test\r\nTo: bob@sink.test\r\nDate: Wed, 01 May 2024 12:00:00 +0000\r\n"
        f"Message-Id: <{msg_id}@smtpscope.test>\r\nSubject: smtpscope capture {msg_id}\r\n\r\n"
        f"Body of {msg_id}.\r\n"
    )


def main() -> int:
    mode, host, port, transcript = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
    if mode == "early-ehlo":
        smtp = Recorded(timeout=10)
        smtp._host = host
        smtp.sock = socket.create_connection((host, port), timeout=10)
        smtp.send("EHLO client.smtpscope.test\r\n")
        greeting = smtp.getreply()
        ehlo = smtp.getreply()
        smtp.ehlo_resp = ehlo[1]
        smtp.does_esmtp = True
        ok = greeting[0] == 220 and ehlo[0] == 250
    else:
        smtp = Recorded(host, port, timeout=10)
        ok = True
    try:
        if mode == "ehlo-refused":
            ok = ok and smtp.helo("client.smtpscope.test")[0] == 250
            ok = ok and smtp.mail("alice@sender.test")[0] == 250
            ok = ok and smtp.docmd("EHLO")[0] == 501
            ok = ok and smtp.rcpt("bob@sink.test")[0] == 250
            ok = ok and smtp.data(message("ehlo-refused-1"))[0] == 250
        elif mode == "rcpt-after-data":
            ok = ok and smtp.mail("alice@sender.test")[0] == 250
            ok = ok and smtp.rcpt("bob@sink.test")[0] == 250
            ok = ok and smtp.data(message("rcpt-after-data-1"))[0] == 250
            ok = ok and smtp.rcpt("carol@sink.test")[0] == 503
        elif mode == "early-ehlo":
            ok = ok and smtp.mail("alice@sender.test")[0] == 250
            ok = ok and smtp.rcpt("bob@sink.test")[0] == 250
            ok = ok and smtp.data(message("early-ehlo-1"))[0] == 250
        else:
            raise SystemExit(__doc__)
        smtp.quit()
    finally:
        smtp.write_transcript(transcript)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
