#!/usr/bin/env bash
# Remakes the captures of the SMTP dialogue cases listed in captures/README.md ("Dialogue captures"): one
# real capture for each numbered item of the dialogue redesign (refused BDAT, AUTH replies missing, a
# refused EHLO inside a transaction, RCPT after a finished message, bytes before the greeting, SMTP on an
# unlisted port and behind SOCKS5 / HTTP CONNECT proxies, RFC 821 SEND/SOML/SAML, a last line ended by FIN).
# Recorded with tcpdump on lo. Servers: a private Postfix instance (`postfix -c DIR` in a temporary
# directory; /etc/postfix is not touched), npm smtp-server and a scripted RFC 821 server
# (dialogue-servers.mjs); clients: swaks, Python smtplib, curl, scripted sockets (client.mjs).
#
# Needs root (tcpdump, Postfix). Listens on 127.0.0.1 ports 2525, 2531, 10025 (Postfix), 2601-2604
# (dialogue-servers.mjs), 1080 and 3128 (proxy.mjs), which must be free.
#
# usage: captures/make-dialogue-captures.sh [capture-name...]   (no names: all; names as in ALL below)
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(dirname "$HERE")
cd "$ROOT"
# shellcheck source=captures/lib.sh
source "$HERE/lib.sh"
# shellcheck source=captures/private-postfix.sh
source "$HERE/private-postfix.sh"

check_tools
command -v curl >/dev/null || { echo "missing tools; install them with: apt-get install curl" >&2; exit 1; }
ports_free 2525 2531 10025 2601 2602 2603 2604 1080 3128

OUT=$HERE
WORK=$(mktemp -d)
chmod 755 "$WORK"
PF=$WORK/pf

restore() {
  local pid
  for pid in $(jobs -p); do kill -TERM "$pid" 2>/dev/null || true; done
  [[ -d $PF/etc ]] && postfix_private_down "$PF/etc"
  rm -rf "$WORK"
}
trap restore EXIT

# 2525: Postfix as installed (CHUNKING on); 2531: a 1000-byte message size limit; 10025: a port that is not
# on smtpscope's list (as a content filter's return smtpd would be).
postfix_private_up "$PF" "" "127.0.0.1:2525 inet n - n - - smtpd
127.0.0.1:2531 inet n - n - - smtpd -o message_size_limit=1000
127.0.0.1:10025 inet n - n - - smtpd"

# The same check as make-tls-captures.sh: a capture with a TCP stream that was not seen to close is made again.
lo_capture() {
  CAP_FILE=$OUT/$1
  start_capture "$CAP_FILE" -- tcpdump -i lo -U -s 0 "${@:2}"
}
finish() {
  # Packets on lo reach tcpdump late when the machine is busy: give the last ones time to arrive.
  sleep 1
  stop_capture
  local streams closed
  streams=$(tshark -r "$CAP_FILE" -T fields -e tcp.stream 2>/dev/null | sort -u | wc -l)
  closed=$(tshark -r "$CAP_FILE" -Y 'tcp.flags.fin == 1 || tcp.flags.reset == 1' -T fields -e tcp.stream \
    2>/dev/null | sort -u | wc -l)
  if ((streams == 0 || closed < streams)); then
    echo "$CAP_FILE is incomplete: $streams TCP streams, $closed of them closed (FIN or RST) in the file" >&2
    CAPTURE_EMPTY=1
  fi
}

# start_dialogue_server PROFILE: sets SERVER_PID.
start_dialogue_server() {
  SERVER_LOG=$(mktemp)
  node "$HERE/dialogue-servers.mjs" "$1" >"$SERVER_LOG" 2>&1 &
  SERVER_PID=$!
  wait_for_text "$SERVER_LOG" "ready $1"
}

# Item 1: BDAT refused (malformed: 521; before MAIL: 503 then 551; a non-LAST chunk over the limit: 552).
capture_bdat_refused() {
  lo_capture bdat-refused.pcap 'tcp port 2525 or tcp port 2531'
  node "$HERE/client.mjs" bdat-refused >"$OUT/bdat-refused.client.txt"
  finish
}

# Item 2: AUTH PLAIN and AUTH LOGIN to smtp-server, one refused recipient each; then the server's 334 and
# 235 frames are deleted from the file.
capture_auth_replies_deleted() {
  local t=$OUT/auth-replies-deleted.client.txt pid frames
  : >"$t"
  start_dialogue_server auth-refusing
  pid=$SERVER_PID
  CAP_FILE=$WORK/auth-full.pcap
  start_capture "$CAP_FILE" -- tcpdump -i lo -U -s 0 'tcp port 2601'
  swaks_to "$t" auth-plain-1 --server 127.0.0.1 --port 2601 --from alice@sender.test \
    --to nosuchuser@sink.test --auth PLAIN --auth-user capture-user \
    --auth-password Sw0rdfish-capture-only --body 'Never sent: the only recipient is refused.'
  swaks_to "$t" auth-login-1 --server 127.0.0.1 --port 2601 --from alice@sender.test \
    --to nosuchuser@sink.test --auth LOGIN --auth-user capture-user \
    --auth-password Sw0rdfish-capture-only --body 'Never sent: the only recipient is refused.'
  finish
  stop_server "$pid"
  ((CAPTURE_EMPTY)) && return 0
  frames=$(tshark -r "$CAP_FILE" -d tcp.port==2601,smtp -Y 'smtp.response.code == 334 || smtp.response.code == 235' \
    -T fields -e frame.number 2>/dev/null | tr '\n' ' ')
  echo "auth-replies-deleted.pcap: deleted frames $frames(the server's 334 and 235 replies)"
  # shellcheck disable=SC2086
  editcap -F pcap "$CAP_FILE" "$OUT/auth-replies-deleted.pcap" $frames
}

# Item 4: HELO, MAIL, a refused EHLO (501), RCPT, DATA.
capture_ehlo_refused() {
  lo_capture ehlo-refused.pcap 'tcp port 2525'
  python3 "$HERE/dialogue-smtplib.py" ehlo-refused 127.0.0.1 2525 "$OUT/ehlo-refused.smtplib.txt"
  finish
}

# Item 5: a message, then RCPT with no new MAIL (503).
capture_rcpt_after_data() {
  lo_capture rcpt-after-data.pcap 'tcp port 2525'
  python3 "$HERE/dialogue-smtplib.py" rcpt-after-data 127.0.0.1 2525 "$OUT/rcpt-after-data.smtplib.txt"
  finish
}

# Item 6: bytes before the greeting: an HTTP request to smtp-server (which answers early talkers with 421)
# and to Postfix behind a banner delay; smtplib's EHLO sent before the delayed 220, then a whole message.
capture_early_talkers() {
  local pid1 pid2
  start_dialogue_server slow-banner
  pid1=$SERVER_PID
  start_dialogue_server delayed-postfix
  pid2=$SERVER_PID
  lo_capture early-talkers.pcap 'tcp port 2602 or tcp port 2604'
  node "$HERE/client.mjs" early-http >"$OUT/early-talkers.client.txt"
  python3 "$HERE/dialogue-smtplib.py" early-ehlo 127.0.0.1 2604 "$OUT/early-talkers.smtplib.txt"
  finish
  stop_server "$pid1"
  stop_server "$pid2"
}

# Item 7a: Postfix smtpd on 10025, which is not on smtpscope's port list.
capture_non_listed_port() {
  local t=$OUT/non-listed-port.client.txt
  : >"$t"
  lo_capture non-listed-port.pcap 'tcp port 10025'
  swaks_to "$t" port-10025-1 --server 127.0.0.1 --port 10025 --from alice@sender.test \
    --to bob@sink.test,nosuchuser@sink.test --body 'Sent to a port that is not on the list.'
  finish
}

# Item 7b: curl's SMTP client through a SOCKS5 proxy and through an HTTP CONNECT proxy (proxy.mjs) to
# Postfix; only the client-to-proxy legs are recorded.
capture_proxied() {
  local t=$OUT/proxied.client.txt pid log msg=$WORK/proxied.eml kind
  : >"$t"
  log=$(mktemp)
  node "$HERE/proxy.mjs" >"$log" 2>&1 &
  pid=$!
  wait_for_text "$log" 'ready proxy'
  lo_capture proxied.pcap 'tcp port 1080 or tcp port 3128'
  for kind in socks5 http; do
    printf 'From: alice@sender.test\r\nTo: bob@sink.test\r\nDate: %s\r\nMessage-Id: <proxied-%s@smtpscope.test>\r\nSubject: smtpscope capture proxied-%s\r\n\r\nSent by curl through a %s proxy.\r\n' \
      "$SWAKS_DATE" "$kind" "$kind" "$kind" >"$msg"
    echo "# session: curl through the $kind proxy" >>"$t"
    if [[ $kind == socks5 ]]; then
      curl -sv --max-time 10 --socks5 127.0.0.1:1080 smtp://127.0.0.1:2525 --mail-from alice@sender.test \
        --mail-rcpt bob@sink.test -T "$msg" >>"$t" 2>&1
    else
      curl -sv --max-time 10 -p -x http://127.0.0.1:3128 smtp://127.0.0.1:2525 --mail-from alice@sender.test \
        --mail-rcpt bob@sink.test -T "$msg" >>"$t" 2>&1
    fi
  done
  finish
  stop_server "$pid"
  rm -f "$log"
}

# Item 8: RFC 821 SEND, SOML and SAML transactions; a last line (QUIT) ended by FIN without CRLF.
capture_send_from() {
  local pid
  start_dialogue_server rfc821
  pid=$SERVER_PID
  lo_capture send-from.pcap 'tcp port 2603'
  node "$HERE/client.mjs" send-from >"$OUT/send-from.client.txt"
  finish
  stop_server "$pid"
}

capture_fin_without_crlf() {
  lo_capture fin-without-crlf.pcap 'tcp port 2525'
  node "$HERE/client.mjs" fin-no-crlf >"$OUT/fin-without-crlf.client.txt"
  finish
}

ALL=(bdat-refused auth-replies-deleted ehlo-refused rcpt-after-data early-talkers non-listed-port proxied
  send-from fin-without-crlf)
names=("$@")
((${#names[@]})) || names=("${ALL[@]}")
for name in "${names[@]}"; do
  for attempt in 1 2 3; do
    echo "### $name"
    CAPTURE_EMPTY=0
    "capture_${name//-/_}"
    ((CAPTURE_EMPTY)) || break
    ((attempt < 3)) || { echo "$name: incomplete in 3 attempts" >&2; exit 1; }
  done
done
for name in "${names[@]}"; do
  chmod 644 "$OUT/$name".*
  describe "$OUT/$name.pcap"
done
