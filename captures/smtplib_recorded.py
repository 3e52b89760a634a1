"""smtplib.SMTP whose own debug output becomes a transcript, for the capture scripts.

smtplib at debug level 1 reports every string it sends ("send:") and every raw reply line it reads
("reply:"); Recorded keeps them as "-> " and "<- " lines (CRLF removed) in `lines`, in the order smtplib
wrote and read them.
"""

import smtplib


class Recorded(smtplib.SMTP):
    def __init__(self, *args, **kwargs):
        self.lines: list[str] = []
        self.debuglevel = 1  # before connecting, so that the greeting is recorded too
        super().__init__(*args, **kwargs)

    def _print_debug(self, *args):
        if len(args) == 2 and args[0] == "send:":
            text = eval(args[1])  # the repr() of the str or bytes smtplib sent
            text = text.decode("latin-1") if isinstance(text, bytes) else text
            parts = text.split("\r\n")
            for line in parts[:-1] if text.endswith("\r\n") else parts:
                self.lines.append("-> " + line)
        elif len(args) == 2 and args[0] == "reply:":
            self.lines.append("<- " + eval(args[1]).decode("latin-1").rstrip("\r\n"))

    def write_transcript(self, path: str) -> None:
        with open(path, "w", encoding="latin-1") as out:
            out.write("\n".join(self.lines) + "\n")
