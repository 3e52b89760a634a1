#!/usr/bin/env bash
# Remakes the bundled captures in this directory with real programs (Postfix, swaks, npm smtp-server,
# nodemailer, tcpdump, tshark) talking over 127.0.0.1 / ::1 or a private link between two network
# namespaces.
#
# WARNING: this script REWRITES /etc/postfix/main.cf and /etc/postfix/master.cf (copies are saved as
# *.smtpscope-backup and put back when it exits), restarts Postfix, writes /etc/postfix/smtpscope-*
# files and /var/log/smtpscope-postfix.log, and creates network namespaces named ssA1, ssB1, ssA2, ssB2, ...
# It must run as root. It installs nothing: it checks for its tools and names the apt packages to
# install when one is missing. Run it from anywhere; node runs from the repository root so that the
# smtp-server and nodemailer devDependencies resolve.
#
# usage: captures/make-captures.sh [capture-name...]   (no names: all; names as in captures/README.md)
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(dirname "$HERE")
cd "$ROOT"
# shellcheck source=captures/lib.sh
source "$HERE/lib.sh"
# shellcheck source=captures/postfix-config.sh
source "$HERE/postfix-config.sh"

check_tools

OUT=$HERE
WORK=$(mktemp -d)
ETC=/etc/postfix

restore() {
  local pid
  for pid in $(jobs -p); do kill -TERM "$pid" 2>/dev/null || true; done
  if [[ -n ${A:-} ]]; then
    ip netns del "$A" 2>/dev/null || true
    ip netns del "$B" 2>/dev/null || true
  fi
  if [[ -f $ETC/main.cf.smtpscope-backup ]]; then
    mv -f "$ETC/main.cf.smtpscope-backup" "$ETC/main.cf"
    mv -f "$ETC/master.cf.smtpscope-backup" "$ETC/master.cf"
    postfix stop >/dev/null 2>&1 || true
  fi
  rm -rf "$WORK"
}
trap restore EXIT

cp -p "$ETC/main.cf" "$ETC/main.cf.smtpscope-backup"
cp -p "$ETC/master.cf" "$ETC/master.cf.smtpscope-backup"
configure_postfix
postfix stop >/dev/null 2>&1 || true
postfix start
postqueue -p | grep -q 'Mail queue is empty' || {
  echo "the Postfix queue is not empty; deliver or delete that mail first (postqueue -p)" >&2
  exit 1
}

lo_capture() { start_capture "$OUT/$1" -- tcpdump -i lo -U -s 0 "${@:2}"; }

# 1. Two swaks sessions to Postfix.
capture_postfix_basic() {
  local t=$OUT/postfix-basic.swaks.txt mark
  : >"$t"
  mark=$(log_mark)
  lo_capture postfix-basic.pcap 'tcp port 25'
  swaks_to "$t" basic-1 --server 127.0.0.1 --port 25 --from alice@sender.test \
    --to bob@sink.test,carol@sink.test --body 'First message of postfix-basic.'
  swaks_to "$t" basic-2 --server 127.0.0.1 --port 25 --from alice@sender.test \
    --to dave@sink.test --body 'Second message of postfix-basic.'
  wait_queue_empty
  stop_capture
  log_since "$mark" "$OUT/postfix-basic.maillog"
}

# 2. Postfix rejections: sender policy, unknown user, greylisting, size limit, STARTTLS required.
capture_postfix_rejects() {
  local t=$OUT/postfix-rejects.swaks.txt mark big=$WORK/big-body.txt i
  : >"$t"
  : >"$big"
  for ((i = 1; i <= 200; i++)); do
    printf 'Line %03d of a body that is larger than message_size_limit (10240 bytes) on purpose.\n' "$i" >>"$big"
  done
  mark=$(log_mark)
  lo_capture postfix-rejects.pcap 'tcp port 25 or tcp port 2525'
  swaks_to "$t" rejects-1 --server 127.0.0.1 --port 25 --from spammer@bad.test --to bob@sink.test \
    --body 'Never accepted.'
  swaks_to "$t" rejects-2 --server 127.0.0.1 --port 25 --from alice@sender.test \
    --to ok1@sink.test,nosuchuser@localhost,greylist@sink.test,ok2@sink.test \
    --body 'Two of four recipients accepted.'
  swaks_to "$t" rejects-3 --server 127.0.0.1 --port 25 --from alice@sender.test --to bob@sink.test \
    --body "@$big"
  swaks_to "$t" rejects-4 --server 127.0.0.1 --port 2525 --from alice@sender.test --to bob@sink.test \
    --body 'Refused without STARTTLS.'
  wait_queue_empty
  stop_capture
  log_since "$mark" "$OUT/postfix-rejects.maillog"
}

# 3. AUTH PLAIN and LOGIN against smtp-server without STARTTLS.
capture_smtp_server_auth() {
  local t=$OUT/smtp-server-auth.swaks.txt pid
  : >"$t"
  start_server auth
  pid=$SERVER_PID
  lo_capture smtp-server-auth.pcap 'tcp port 2587'
  node "$HERE/client.mjs" auth-ok
  swaks_to "$t" auth-2 --server 127.0.0.1 --port 2587 --from alice@sender.test --to bob@auth.test \
    --auth LOGIN --auth-user capture-user --auth-password wrong-password-for-capture \
    --body 'Never sent: the password is wrong.'
  swaks_to "$t" auth-3 --server 127.0.0.1 --port 2587 --from alice@sender.test --to bob@auth.test \
    --auth LOGIN --auth-user capture-user --auth-password Sw0rdfish-capture-only \
    --body 'Sent after AUTH LOGIN.'
  stop_capture
  stop_server "$pid"
}

# 4. STARTTLS with a throwaway self-signed certificate made here (not committed).
capture_smtp_server_starttls() {
  local pid
  openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj '/CN=tls.smtpscope.test' \
    -keyout "$WORK/tls.key" -out "$WORK/tls.crt" 2>/dev/null
  start_server starttls "$WORK/tls.key" "$WORK/tls.crt"
  pid=$SERVER_PID
  lo_capture smtp-server-starttls.pcap 'tcp port 2588'
  node "$HERE/client.mjs" starttls
  stop_capture
  stop_server "$pid"
}

# 5. nodemailer pooled connection with PIPELINING, recorded by tshark as pcapng.
capture_nodemailer_pipelining() {
  local pid
  start_server pipelining
  pid=$SERVER_PID
  start_capture "$OUT/nodemailer-pipelining.pcapng" -- tshark -i lo -F pcapng -f 'tcp port 2589'
  node "$HERE/client.mjs" pipelining
  stop_capture
  stop_server "$pid"
}

# 6. Linux cooked captures (tcpdump -i any): SLL v1 and SLL2.
capture_any_sll() {
  start_capture "$OUT/any-sll.pcap" -- tcpdump -i any -y LINUX_SLL -U -s 0 'tcp port 25'
  swaks_to /dev/null any-1 --server 127.0.0.1 --port 25 --from alice@sender.test --to sll@sink.test \
    --body 'Captured on the any device (SLL).'
  wait_queue_empty
  stop_capture
  start_capture "$OUT/any-sll2.pcap" -- tcpdump -i any -y LINUX_SLL2 -U -s 0 'tcp port 25'
  swaks_to /dev/null any-2 --server 127.0.0.1 --port 25 --from alice@sender.test --to sll2@sink.test \
    --body 'Captured on the any device (SLL2).'
  wait_queue_empty
  stop_capture
}

# 7. A session over ::1.
capture_ipv6() {
  local t=$OUT/ipv6.swaks.txt
  : >"$t"
  lo_capture ipv6.pcap 'tcp port 25'
  swaks_to "$t" ipv6-1 -6 --server ::1 --port 25 --from alice@sender.test --to six@sink.test \
    --body 'Sent over IPv6 loopback.'
  wait_queue_empty
  stop_capture
}

# Lossy link: namespaces ssA<n> (client, 10.77.0.1) and ssB<n> (server, 10.77.0.2) joined by netem.py.
LINK_N=0
lossy_link_up() {
  LINK_N=$((LINK_N + 1))
  A=ssA$LINK_N
  B=ssB$LINK_N
  ip netns add "$A"
  ip netns add "$B"
  NETEM_LOG=$(mktemp)
  ip netns exec "$A" python3 "$HERE/netem.py" "$B" "$@" >"$NETEM_LOG" 2>&1 &
  NETEM_PID=$!
  wait_for_text "$NETEM_LOG" ready
  ip netns exec "$A" ip link set lo up
  ip netns exec "$B" ip link set lo up
  ip netns exec "$A" ip addr add 10.77.0.1/24 dev tun-a
  ip netns exec "$B" ip addr add 10.77.0.2/24 dev tun-b
  ip netns exec "$A" ip link set tun-a up mtu 1500
  ip netns exec "$B" ip link set tun-b up mtu 1500
  ip netns exec "$B" node "$HERE/servers.mjs" lossy >"$WORK/lossy-server.log" 2>&1 &
  LOSSY_SERVER_PID=$!
  wait_for_text "$WORK/lossy-server.log" 'ready lossy'
}

lossy_link_down() {
  kill -TERM "$LOSSY_SERVER_PID" "$NETEM_PID" 2>/dev/null || true
  wait "$LOSSY_SERVER_PID" "$NETEM_PID" 2>/dev/null || true
  cat "$NETEM_LOG"
  ip netns del "$A"
  ip netns del "$B"
}

lossy_session() {
  local body=$WORK/lossy-body.txt i
  : >"$body"
  for ((i = 1; i <= 400; i++)); do
    printf 'Line %03d of a body long enough to span many 1500-byte segments on the lossy link.\n' "$i" >>"$body"
  done
  ip netns exec "$A" swaks --helo client.smtpscope.test --server 10.77.0.2 --port 25 \
    --from alice@sender.test --to lossy@lossy.test --header "Date: $SWAKS_DATE" \
    --header "Message-Id: <$1@smtpscope.test>" --header "Subject: smtpscope capture $1" \
    --body "@$body" --suppress-data >"$WORK/$1.swaks.txt" 2>&1
}

# 8. Loss and reordering seen from the server side; then, over the same link made clean, a session whose
# capture gets a real hole mid-DATA.
capture_lossy() {
  lossy_link_up --delay-ms 10 --loss 0.04 --reorder 0.25 --seed 3
  start_capture "$OUT/lossy.pcap" -- ip netns exec "$B" tcpdump -i tun-b -U -s 0 'tcp port 25'
  lossy_session lossy-1
  stop_capture
  if [[ $(tshark -r "$OUT/lossy.pcap" -Y 'tcp.analysis.retransmission || tcp.analysis.out_of_order' 2>/dev/null | wc -l) -eq 0 ]]; then
    echo "warning: lossy.pcap shows no retransmission or reordering; run again" >&2
  fi

  kill -USR1 "$NETEM_PID"
  # One full run of this script once got a clean session without full-size segments: try up to 3 times.
  local seqs mid frames attempt
  for attempt in 1 2 3; do
    start_capture "$WORK/gap-full.pcap" -- ip netns exec "$B" tcpdump -i tun-b -U -s 0 'tcp port 25'
    lossy_session lossy-gap-1
    stop_capture
    seqs=$(tshark -r "$WORK/gap-full.pcap" -Y 'tcp.dstport == 25 && tcp.len >= 1000' -T fields -e tcp.seq 2>/dev/null)
    [[ -n $seqs ]] && break
    echo "lossy-gap: attempt $attempt has no full-size DATA segment" >&2
  done
  lossy_link_down
  # Delete the middle one of the client's full-size DATA segments (and any copy of it).
  if [[ -z $seqs ]]; then
    echo "lossy-gap: the clean session has no full-size DATA segment; swaks said:" >&2
    cat "$WORK/lossy-gap-1.swaks.txt" >&2
    capinfos -c "$WORK/gap-full.pcap" >&2
    return 1
  fi
  mid=$(echo "$seqs" | sed -n "$(($(echo "$seqs" | wc -l) / 2))p")
  frames=$(tshark -r "$WORK/gap-full.pcap" -Y "tcp.dstport == 25 && tcp.seq == $mid && tcp.len > 0" \
    -T fields -e frame.number 2>/dev/null | tr '\n' ' ')
  echo "lossy-gap.pcap: deleted frame(s) $frames(client relative seq $mid)"
  # shellcheck disable=SC2086
  editcap -F pcap "$WORK/gap-full.pcap" "$OUT/lossy-gap.pcap" $frames
}

# 9. BDAT (CHUNKING) sent by a scripted client to Postfix, and Postfix relaying to a CHUNKING server.
capture_bdat() {
  local t=$OUT/bdat.client.txt mark
  mark=$(log_mark)
  lo_capture bdat.pcap 'tcp port 25 or tcp port 2526'
  node "$HERE/client.mjs" bdat >"$t"
  swaks_to /dev/null bdat-relay --server 127.0.0.1 --port 25 --from alice@sender.test \
    --to chunk@relay.test --body 'Relayed to a next hop that offers CHUNKING.'
  wait_queue_empty
  stop_capture
  log_since "$mark" "$OUT/bdat.maillog"
}

# 10. A real bounce: Postfix relays, the next hop rejects one recipient, Postfix sends the DSN.
capture_bounce_dsn() {
  local t=$OUT/bounce-dsn.swaks.txt mark pid
  : >"$t"
  start_server remote
  pid=$SERVER_PID
  mark=$(log_mark)
  lo_capture bounce-dsn.pcap 'tcp port 25 or tcp port 2590'
  swaks_to "$t" bounce-1 --server 127.0.0.1 --port 25 --from alice@sender.test \
    --to gone@remote.test,kept@remote.test --body 'One of two recipients will bounce at the next hop.'
  wait_queue_empty
  stop_capture
  stop_server "$pid"
  log_since "$mark" "$OUT/bounce-dsn.maillog"
}

# 11a. LMTP: Postfix's lmtp client to smtp-server in LMTP mode; one recipient fails after DATA.
capture_lmtp() {
  local t=$OUT/lmtp.swaks.txt mark pid1 pid2
  : >"$t"
  start_server lmtp
  pid1=$SERVER_PID
  start_server remote
  pid2=$SERVER_PID
  mark=$(log_mark)
  lo_capture lmtp.pcap 'tcp port 25 or tcp port 2592 or tcp port 2590'
  swaks_to "$t" lmtp-1 --server 127.0.0.1 --port 25 --from alice@sender.test \
    --to box@lmtp.test,full@lmtp.test --body 'Delivered over LMTP.'
  wait_queue_empty
  stop_capture
  stop_server "$pid1"
  stop_server "$pid2"
  log_since "$mark" "$OUT/lmtp.maillog"
}

# 11b. HELO, VRFY, EXPN, an unknown command, RSET, NOOP and dot-stuffing, scripted against Postfix.
capture_odd_commands() {
  local mark
  mark=$(log_mark)
  lo_capture odd-commands.pcap 'tcp port 25'
  node "$HERE/client.mjs" odd-commands >"$OUT/odd-commands.client.txt"
  wait_queue_empty
  stop_capture
  log_since "$mark" "$OUT/odd-commands.maillog"
}

# 11c. One transaction with 60 recipients, pipelined by swaks.
capture_many_rcpt() {
  local t=$OUT/many-rcpt.swaks.txt mark to i
  : >"$t"
  to=$(for ((i = 1; i <= 60; i++)); do printf 'r%02d@sink.test,' "$i"; done)
  mark=$(log_mark)
  lo_capture many-rcpt.pcap 'tcp port 25'
  swaks_to "$t" many-1 --pipeline --server 127.0.0.1 --port 25 --from alice@sender.test \
    --to "${to%,}" --body 'One message, sixty recipients.'
  wait_queue_empty
  stop_capture
  log_since "$mark" "$OUT/many-rcpt.maillog"
}

ALL=(postfix-basic postfix-rejects smtp-server-auth smtp-server-starttls nodemailer-pipelining any-sll ipv6
  lossy bdat bounce-dsn lmtp odd-commands many-rcpt)
names=("$@")
((${#names[@]})) || names=("${ALL[@]}")
for name in "${names[@]}"; do
  echo "### $name"
  "capture_${name//-/_}"
done
shopt -s nullglob
chmod 644 "$OUT"/*.pcap "$OUT"/*.pcapng "$OUT"/*.txt "$OUT"/*.maillog
for f in "$OUT"/*.pcap "$OUT"/*.pcapng; do describe "$f"; done
