#!/usr/bin/env bash
# Remakes the TLS captures in this directory (captures/README.md, "TLS captures"): each a .pcap with the
# TLS key log that decrypts it (.keys) and the client program's own transcript, recorded with tcpdump on
# lo. Servers: a private Postfix instance (`postfix -c DIR` under a temporary directory, /etc/postfix is
# not touched) with STARTTLS and a throwaway self-signed certificate, and npm smtp-server; clients:
# openssl s_client, Python smtplib, nodemailer. Also builds src/keylog-preload and uses it to make
# Postfix's smtpd write its own key log. Every capture is then decrypted by tshark as a check.
#
# Needs root (tcpdump, Postfix). Listens on 127.0.0.1 ports 2525, 2526, 2527, 465 and 587, which must be
# free. Certificates and private keys are made at run time and deleted; only key logs of these test
# sessions are written here.
#
# usage: captures/make-tls-captures.sh [capture-name...]   (no names: all; names as in ALL below)
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(dirname "$HERE")
cd "$ROOT"
# shellcheck source=captures/lib.sh
source "$HERE/lib.sh"
# shellcheck source=captures/private-postfix.sh
source "$HERE/private-postfix.sh"

check_tools
command -v cc >/dev/null || { echo "missing tools; install them with: apt-get install gcc libssl-dev" >&2; exit 1; }
ports_free 2525 2526 2527 465 587

OUT=$HERE
WORK=$(mktemp -d)
chmod 755 "$WORK"
PF_MAIN=$WORK/pf-main
PF_PRELOAD=$WORK/pf-preload

restore() {
  local pid
  for pid in $(jobs -p); do kill -TERM "$pid" 2>/dev/null || true; done
  [[ -d $PF_MAIN/etc ]] && postfix_private_down "$PF_MAIN/etc"
  [[ -d $PF_PRELOAD/etc ]] && postfix_private_down "$PF_PRELOAD/etc"
  rm -rf "$WORK"
}
trap restore EXIT

openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj '/CN=mx.smtpscope.test' \
  -keyout "$WORK/tls.key" -out "$WORK/tls.crt" 2>/dev/null
chmod 644 "$WORK/tls.key"

TLS_MAIN="smtpd_tls_security_level = may
smtpd_tls_cert_file = $WORK/tls.crt
smtpd_tls_key_file = $WORK/tls.key
smtpd_tls_loglevel = 1
tls_random_source = dev:/dev/urandom"

# 2525: STARTTLS; 2526: the same, but the only TLS 1.3 key exchange group it accepts is P-384 (for the
# HelloRetryRequest capture).
postfix_private_up "$PF_MAIN" "$TLS_MAIN" "127.0.0.1:2525 inet n - n - - smtpd
127.0.0.1:2526 inet n - n - - smtpd -o tls_eecdh_auto_curves=secp384r1 -o tls_ffdhe_auto_groups="

lo_capture() {
  CAP_FILE=$OUT/$1
  start_capture "$CAP_FILE" -- tcpdump -i lo -U -s 0 "${@:2}"
}

# sclient FILE.keys TRANSCRIPT ID PROFILE PORT [s_client options]: one s_client STARTTLS session.
sclient() {
  local keys=$1 transcript=$2 id=$3 profile=$4 port=$5 quiet=-quiet
  shift 5
  [[ $profile == keyupdate ]] && quiet=-brief
  python3 "$HERE/sclient-dialogue.py" "$profile" "$id" "$transcript" -- \
    openssl s_client -connect "127.0.0.1:$port" -starttls smtp -name client.smtpscope.test \
    -servername mx.smtpscope.test -crlf "$quiet" -keylogfile "$keys" "$@"
}

# Starts a capture on the Postfix port(s), empties the key log and transcript of NAME.
begin() {
  local name=$1
  shift
  : >"$OUT/$name.keys"
  : >"$OUT/$name.client.txt"
  lo_capture "$name.pcap" "$@"
}

# On the machine that made these captures (a gVisor sandbox, heavily loaded) a tcpdump on lo now and then
# recorded nothing, or stopped recording before the connections ended; a capture in which some TCP stream has
# no FIN or RST is made again (see the loop below), at most three times.
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

# TLS 1.3, one session per cipher suite.
capture_tls13_suites() {
  local n=tls13-suites suite i=0
  begin $n 'tcp port 2525'
  for suite in TLS_AES_128_GCM_SHA256 TLS_AES_256_GCM_SHA384 TLS_CHACHA20_POLY1305_SHA256; do
    i=$((i + 1))
    echo "# session $i: TLS 1.3 $suite" >>"$OUT/$n.client.txt"
    sclient "$OUT/$n.keys" "$OUT/$n.client.txt" "$n-$i" standard 2525 -tls1_3 -ciphersuites "$suite"
  done
  finish
}

# TLS 1.2: AEAD suites, CBC with SHA-256 with and without encrypt-then-MAC, CBC with SHA-1 and SHA-384,
# and RSA key exchange.
capture_tls12_suites() {
  local n=tls12-suites spec i=0
  begin $n 'tcp port 2525'
  for spec in ECDHE-RSA-AES128-GCM-SHA256 ECDHE-RSA-CHACHA20-POLY1305 ECDHE-RSA-AES128-SHA256 \
    'ECDHE-RSA-AES128-SHA256 -no_etm' ECDHE-RSA-AES256-SHA 'ECDHE-RSA-AES256-SHA384 -no_etm' AES256-GCM-SHA384; do
    i=$((i + 1))
    echo "# session $i: TLS 1.2 $spec" >>"$OUT/$n.client.txt"
    # shellcheck disable=SC2086
    sclient "$OUT/$n.keys" "$OUT/$n.client.txt" "$n-$i" standard 2525 -tls1_2 -cipher ${spec%% *} \
      $([[ $spec == *-no_etm ]] && echo -no_etm)
  done
  finish
}

# TLS 1.3 KeyUpdate in both directions: s_client's "k" (client updates) and "K" (client updates and asks
# the server to update too).
capture_tls_keyupdate() {
  local n=tls-keyupdate
  begin $n 'tcp port 2525'
  sclient "$OUT/$n.keys" "$OUT/$n.client.txt" "$n-1" keyupdate 2525 -tls1_3
  finish
}

# HelloRetryRequest: the client's key share is X25519, the server (port 2526) accepts only P-384.
capture_tls_hrr() {
  local n=tls-hrr
  begin $n 'tcp port 2526'
  sclient "$OUT/$n.keys" "$OUT/$n.client.txt" "$n-1" standard 2526 -tls1_3 -groups X25519:P-384
  finish
}

# Resumption: TLS 1.2 session ticket, then TLS 1.3 PSK; each a full handshake then a resumed one.
capture_tls_resumption() {
  local n=tls-resumption
  begin $n 'tcp port 2525'
  echo "# session 1: TLS 1.2 full handshake, session saved" >>"$OUT/$n.client.txt"
  sclient "$OUT/$n.keys" "$OUT/$n.client.txt" "$n-1" standard 2525 -tls1_2 -sess_out "$WORK/s12"
  echo "# session 2: TLS 1.2 resumed" >>"$OUT/$n.client.txt"
  sclient "$OUT/$n.keys" "$OUT/$n.client.txt" "$n-2" standard 2525 -tls1_2 -sess_in "$WORK/s12"
  echo "# session 3: TLS 1.3 full handshake, ticket saved" >>"$OUT/$n.client.txt"
  sclient "$OUT/$n.keys" "$OUT/$n.client.txt" "$n-3" standard 2525 -tls1_3 -sess_out "$WORK/s13"
  echo "# session 4: TLS 1.3 resumed (PSK)" >>"$OUT/$n.client.txt"
  sclient "$OUT/$n.keys" "$OUT/$n.client.txt" "$n-4" standard 2525 -tls1_3 -sess_in "$WORK/s13"
  finish
}

# Client randoms in a key log, in order of first appearance.
randoms() { grep -v '^#' "$1" | awk '{print $2}' | awk '!seen[$0]++'; }

# Two sessions; the key log keeps only the first one's lines.
capture_tls_missing_key() {
  local n=tls-missing-key second
  begin $n 'tcp port 2525'
  sclient "$OUT/$n.keys" "$OUT/$n.client.txt" "$n-1" standard 2525 -tls1_3
  sclient "$OUT/$n.keys" "$OUT/$n.client.txt" "$n-2" standard 2525 -tls1_3
  finish
  second=$(randoms "$OUT/$n.keys" | sed -n 2p)
  grep -v " $second " "$OUT/$n.keys" >"$WORK/k" && cat "$WORK/k" >"$OUT/$n.keys"
}

# Two sessions with one damaged secret each: TLS 1.3 with a wrong CLIENT_TRAFFIC_SECRET_0 (the handshake
# and the server's records decrypt, the client's application records do not), TLS 1.2 with a wrong master
# secret (nothing decrypts). One hex digit is changed in each.
capture_tls_corrupt_secret() {
  local n=tls-corrupt-secret
  begin $n 'tcp port 2525'
  sclient "$OUT/$n.keys" "$OUT/$n.client.txt" "$n-1" standard 2525 -tls1_3
  sclient "$OUT/$n.keys" "$OUT/$n.client.txt" "$n-2" standard 2525 -tls1_2
  finish
  # Flip the last hex digit of the secret (0 <-> 1, anything else -> 0).
  awk '($1 == "CLIENT_TRAFFIC_SECRET_0" || $1 == "CLIENT_RANDOM") {
         last = substr($3, length($3)); repl = (last == "0") ? "1" : "0";
         $3 = substr($3, 1, length($3) - 1) repl } { print }' "$OUT/$n.keys" >"$WORK/k"
  cat "$WORK/k" >"$OUT/$n.keys"
}

# Python smtplib, STARTTLS, three transactions (one pipelined), key log from keylog_filename.
capture_tls_python() {
  local n=tls-python
  : >"$OUT/$n.keys"
  lo_capture $n.pcap 'tcp port 2525'
  python3 "$HERE/tls-smtplib.py" 127.0.0.1 2525 "$OUT/$n.keys" "$OUT/$n.smtplib.txt"
  finish
}

# nodemailer → smtp-server with the server's key log written by node --tls-keylog; 587 STARTTLS and 465
# implicit TLS.
capture_tls_node() {
  local port pid n
  for port in 587 465; do
    n=tls-node-$port
    : >"$OUT/$n.keys"
    : >"$OUT/$n.nodemailer.txt"
    SERVER_LOG=$(mktemp)
    node --tls-keylog="$OUT/$n.keys" "$HERE/tls-node.mjs" server $port "$WORK/tls.key" "$WORK/tls.crt" \
      >"$SERVER_LOG" 2>&1 &
    pid=$!
    wait_for_text "$SERVER_LOG" "ready $port"
    lo_capture $n.pcap "tcp port $port"
    node "$HERE/tls-node.mjs" client $port "$OUT/$n.nodemailer.txt"
    finish
    stop_server "$pid"
    rm -f "$SERVER_LOG"
  done
}

# Postfix's own smtpd writes the key log through src/keylog-preload (LD_PRELOAD and SSLKEYLOGFILE passed
# by import_environment); s_client's key log of the same sessions must hold the same secrets.
capture_tls_postfix_preload() {
  local n=tls-postfix-preload lib=$ROOT/src/keylog-preload/keylog-preload.so
  make -s -C "$ROOT/src/keylog-preload"
  rm -f "$WORK/server.keys"
  postfix_private_up "$PF_PRELOAD" "$TLS_MAIN
import_environment = MAIL_CONFIG MAIL_DEBUG MAIL_LOGTAG TZ LANG=C POSTLOG_SERVICE POSTLOG_HOSTNAME LD_PRELOAD=$lib SSLKEYLOGFILE=$WORK/server.keys" \
    "127.0.0.1:2527 inet n - n - - smtpd"
  : >"$OUT/$n.client.txt"
  lo_capture $n.pcap 'tcp port 2527'
  sclient "$WORK/client.keys" "$OUT/$n.client.txt" "$n-1" standard 2527 -tls1_3
  sclient "$WORK/client.keys" "$OUT/$n.client.txt" "$n-2" standard 2527 -tls1_2 -cipher ECDHE-RSA-AES128-GCM-SHA256
  finish
  postfix_private_down "$PF_PRELOAD/etc"
  # smtpd created the file as root (before dropping privileges), mode 0600.
  [[ $(stat -c %a:%U "$WORK/server.keys") == 600:root ]] || {
    echo "server key log is not root's with mode 0600: $(stat -c %a:%U "$WORK/server.keys")" >&2
    return 1
  }
  if ! diff <(grep -v '^#' "$WORK/client.keys" | sort) <(sort "$WORK/server.keys") >/dev/null; then
    echo "the server's key log differs from the client's" >&2
    return 1
  fi
  echo "$n: the server-side key log (keylog-preload) equals s_client's ($(wc -l <"$WORK/server.keys") lines)"
  cp "$WORK/server.keys" "$OUT/$n.keys"
  # The same capture with its keys inside, as a pcapng Decryption Secrets Block.
  editcap --inject-secrets "tls,$OUT/$n.keys" "$OUT/$n.pcap" "$OUT/tls-injected-secrets.pcapng"
}

# tshark, decrypting CAPTURE with KEYS (no KEYS: with the secrets inside the file): per TCP stream, the
# SMTP commands and reply codes it decodes.
tshark_decrypted() {
  local capture=$1 keys=${2:-}
  tshark -r "$capture" ${keys:+-o "tls.keylog_file:$keys"} -d tcp.port==2525,smtp -d tcp.port==2526,smtp \
    -d tcp.port==2527,smtp -o tcp.analyze_sequence_numbers:FALSE -Y smtp \
    -T fields -e tcp.stream -e smtp.req.command -e smtp.response.code 2>/dev/null
}

# The check: in each TCP stream tshark sees a MAIL command (sent only inside TLS) with the key log.
verify_decrypts() {
  local capture=$1 keys=${2:-} streams decrypted
  streams=$(tshark -r "$capture" -T fields -e tcp.stream 2>/dev/null | sort -u | wc -l)
  decrypted=$(tshark_decrypted "$capture" "$keys" | awk -F'\t' 'toupper($2) ~ /(^|,)MAIL(,|$)/ {print $1}' | sort -u | wc -l)
  echo "$(basename "$capture"): tshark decrypts $decrypted of $streams TCP streams"
}

ALL=(tls13-suites tls12-suites tls-keyupdate tls-hrr tls-resumption tls-missing-key tls-corrupt-secret
  tls-python tls-node tls-postfix-preload)
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
shopt -s nullglob
# The key logs here decrypt only these throwaway test sessions, so they are committed readable.
chmod 644 "$OUT"/tls*.pcap "$OUT"/tls*.pcapng "$OUT"/tls*.txt "$OUT"/tls*.keys
for f in "$OUT"/tls*.pcap; do verify_decrypts "$f" "${f%.pcap}.keys"; done
for f in "$OUT"/tls*.pcapng; do verify_decrypts "$f"; done
