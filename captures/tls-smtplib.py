#!/usr/bin/env python3
"""Python smtplib over STARTTLS with SSLContext.keylog_filename, for make-tls-captures.sh.

Usage: tls-smtplib.py HOST PORT KEYS TRANSCRIPT

Three transactions on one connection: one sent with sendmail(), one with MAIL, both RCPT and DATA
written in a single send (PIPELINING, RFC 2920) and the four replies read afterwards, and one more
sendmail() with a recipient the server refuses. The key log goes to KEYS (Python's keylog_filename);
smtplib's own debug output (every line sent and every reply line read, before and after STARTTLS) goes to
TRANSCRIPT as "-> " and "<- " lines.
"""

import smtplib
import ssl
import sys

from smtplib_recorded import Recorded

HEADERS = "From: alice@sender.test\r\nDate: Wed, 01 May 2024 12:00:00 +0000\r\n"


def message(msg_id: str, to: str) -> str:
    return (
        f"{HEADERS}To: {to}\r\nMessage-Id: <{msg_id}@smtpscope.test>\r\n"
        f"Subject: smtpscope capture {msg_id}\r\n\r\nBody of {msg_id}, sent by smtplib inside TLS.\r\n"
    )


def main() -> int:
    host, port, keys, transcript = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    context.keylog_filename = keys
    smtp = Recorded(host, port, local_hostname="client.smtpscope.test", timeout=10)
    try:
        smtp.ehlo()
        smtp.starttls(context=context)
        smtp.ehlo()
        smtp.sendmail("alice@sender.test", ["bob@sink.test"], message("tls-python-1", "bob@sink.test"))
        # Pipelined envelope: MAIL, RCPT, RCPT, DATA in one write, then the four replies.
        smtp.send(
            "MAIL FROM:<alice@sender.test>\r\nRCPT TO:<carol@sink.test>\r\n"
            "RCPT TO:<dave@sink.test>\r\nDATA\r\n"
        )
        codes = [smtp.getreply()[0] for _ in range(4)]
        if codes != [250, 250, 250, 354]:
            raise RuntimeError(f"pipelined replies {codes}")
        body = message("tls-python-2", "carol@sink.test, dave@sink.test")
        smtp.send(body + ".\r\n")
        if smtp.getreply()[0] != 250:
            raise RuntimeError("pipelined message refused")
        try:
            smtp.sendmail(
                "alice@sender.test",
                ["erin@sink.test", "nosuchuser@sink.test"],
                message("tls-python-3", "erin@sink.test, nosuchuser@sink.test"),
            )
        except smtplib.SMTPRecipientsRefused:
            return 1
        smtp.quit()
    finally:
        smtp.write_transcript(transcript)
    return 0


if __name__ == "__main__":
    sys.exit(main())
