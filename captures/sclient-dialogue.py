#!/usr/bin/env python3
"""Drives `openssl s_client` through a scripted SMTP dialogue and writes what went on inside TLS.

Usage: sclient-dialogue.py PROFILE ID TRANSCRIPT -- openssl s_client ARGS...

The client sends each step's line, then waits for that many complete replies ("NNN " or "NNN\\r\\n")
on s_client's standard output before the next step. TRANSCRIPT gets "-> " for each line sent and
"<- " for each reply line received, like client.mjs; s_client's own EHLO and STARTTLS before the
handshake are not in it (it does not print them). Profiles:
  standard   EHLO, MAIL, RCPT accepted, RCPT refused (550 5.1.1), DATA, body, QUIT
  keyupdate  the same in lower case with s_client's commands left on: "k" (KeyUpdate, no reply
             requested) after MAIL and "K" (KeyUpdate, reply requested) after the first RCPT
Exits 0 when the dialogue ran to the 221, 1 otherwise. Every wait is bounded (10 s).
"""

import re
import select
import subprocess
import sys
import time

REPLY_END = re.compile(rb"^\d{3}(?: |$)")
REPLY_LINE = re.compile(rb"^\d{3}[ -]")


def steps(profile: str, msg_id: str) -> list[tuple[str, int]]:
    body = [
        "From: alice@sender.test",
        "To: bob@sink.test",
        "Date: Wed, 01 May 2024 12:00:00 +0000",
        f"Message-Id: <{msg_id}@smtpscope.test>",
        f"Subject: smtpscope capture {msg_id}",
        "",
        f"Body of {msg_id}, sent inside TLS.",
        ".",
    ]
    plain = [
        ("EHLO client.smtpscope.test", 1),
        ("MAIL FROM:<alice@sender.test>", 1),
        ("RCPT TO:<bob@sink.test>", 1),
        ("RCPT TO:<nosuchuser@sink.test>", 1),
        ("DATA", 1),
        *[(line, 0) for line in body[:-1]],
        (body[-1], 1),
        ("QUIT", 1),
    ]
    if profile == "standard":
        return plain
    if profile == "keyupdate":
        out: list[tuple[str, int]] = []
        for line, replies in plain:
            if replies and not line.startswith("."):
                line = line.split(":", 1)[0].lower() + (":" + line.split(":", 1)[1] if ":" in line else "")
                line = line if not line.startswith("ehlo") else "ehlo client.smtpscope.test"
            out.append((line, replies))
            if line.startswith("mail from"):
                out.append(("k", 0))
            if line == "rcpt to:<bob@sink.test>":
                out.append(("K", 0))
        return out
    raise SystemExit(f"unknown profile {profile}")


def main() -> int:
    profile, msg_id, transcript = sys.argv[1:4]
    if sys.argv[4] != "--":
        raise SystemExit(__doc__)
    command = sys.argv[5:]
    proc = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    assert proc.stdin is not None and proc.stdout is not None
    pending = b""
    log: list[str] = []

    def wait_replies(count: int) -> bool:
        nonlocal pending
        deadline = time.monotonic() + 10
        while count > 0:
            while b"\n" in pending and count > 0:
                line, pending = pending.split(b"\n", 1)
                line = line.rstrip(b"\r")
                if REPLY_LINE.match(line) or REPLY_END.match(line):
                    log.append("<- " + line.decode("latin-1"))
                    if REPLY_END.match(line):
                        count -= 1
            if count == 0:
                break
            left = deadline - time.monotonic()
            if left <= 0:
                return False
            ready, _, _ = select.select([proc.stdout], [], [], left)
            if ready:
                chunk = proc.stdout.read1(65536)
                if not chunk:
                    return False
                pending += chunk
        return True

    ok = True
    for line, replies in steps(profile, msg_id):
        if line in ("k", "K"):
            log.append(f"# s_client command {line}: KeyUpdate" + (" (update requested)" if line == "K" else ""))
        else:
            log.append("-> " + line)
        proc.stdin.write(line.encode() + b"\n")
        proc.stdin.flush()
        if line in ("k", "K"):
            time.sleep(0.2)
        if replies and not wait_replies(replies):
            ok = False
            break
    time.sleep(0.3)
    proc.stdin.close()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
        ok = False
    with open(transcript, "a", encoding="latin-1") as out:
        out.write("\n".join(log) + "\n")
    return 0 if ok and log and log[-1].startswith("<- 221") else 1


if __name__ == "__main__":
    sys.exit(main())
