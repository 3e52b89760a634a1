#!/usr/bin/env bash
# Makes the TLS benchmark corpus (docs/PERFORMANCE.md, "TLS decryption"): the same SMTP sessions recorded
# twice, once in clear and once under STARTTLS, with the key log that decrypts the second recording.
#
# The sessions are the reference corpus's swaks jobs: its seeded message generator (GENERATOR, a Python
# script that writes msgs/ and jobs.txt into a directory; or a directory it already filled) makes the
# messages and the job list, and the first JOBS jobs run twice against the same private Postfix: without
# STARTTLS (a job that asked for it runs in clear), then with `--tls` added to every job that says EHLO (about
# 2 % say HELO, which offers no STARTTLS: those stay in clear in both). Postfix's own smtpd
# writes the key log through src/keylog-preload (LD_PRELOAD, SSLKEYLOGFILE), as an operator's would.
#
# Everything runs inside a private network namespace made for the run (its loopback has MTU 1500 and no
# segmentation offloads, so segments look like Ethernet traffic, as in the reference corpus): Postfix is a
# private instance (`postfix -c DIR` under a temporary directory; /etc/postfix is neither read nor written)
# listening on the namespace's 127.0.0.1:25, so nothing on the host's loopback is touched. The namespace,
# Postfix and tcpdump are removed or stopped on exit, whatever happens. The certificate and private key are
# made at run time and deleted.
#
# Output, in OUT_DIR (default /tmp/perf-tls): clear.pcap, tls.pcap, tls.keys and corpus.txt (how it was made
# and what it holds). Needs root, Postfix, swaks with Net::SSLeay (Debian: libnet-ssleay-perl), tcpdump,
# python3, a C compiler and the OpenSSL headers.
#
# usage: test/harness/bench/make-tls-corpus.sh GENERATOR [OUT_DIR]
#   JOBS=N   sessions per recording (default 1000; the first N jobs of the generator's list)
#   PAR=N    swaks processes at once (default 4)
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../../.." && pwd)
JOBS=${JOBS:-1000}
PAR=${PAR:-4}

die() {
  echo "make-tls-corpus: $*" >&2
  exit 1
}

# ---- outside the namespace: checks, messages, the namespace --------------------------------------------
if [[ ${1:-} != --inside ]]; then
  (($# >= 1 && $# <= 2)) || die "usage: $0 GENERATOR [OUT_DIR]"
  GENERATOR=$1
  OUT=$(mkdir -p "${2:-/tmp/perf-tls}" && cd "${2:-/tmp/perf-tls}" && pwd)
  [[ $(id -u) == 0 ]] || die "must run as root (network namespace, tcpdump, Postfix)"
  for tool in postfix swaks tcpdump python3 cc ip; do
    command -v "$tool" >/dev/null || die "$tool is missing"
  done
  perl -MNet::SSLeay -e 1 2>/dev/null || die "swaks needs Net::SSLeay for --tls (apt-get install libnet-ssleay-perl)"
  [[ $JOBS =~ ^[1-9][0-9]*$ && $PAR =~ ^[1-9][0-9]*$ ]] || die "JOBS and PAR must be positive integers"

  if [[ -d $GENERATOR ]]; then
    GEN_DIR=$(cd "$GENERATOR" && pwd)
  else
    [[ -f $GENERATOR ]] || die "$GENERATOR is neither the message generator nor a directory it filled"
    GEN_DIR=$OUT/gen
    echo "generating the messages and jobs into $GEN_DIR"
    python3 "$GENERATOR" "$GEN_DIR" "$JOBS"
  fi
  [[ -f $GEN_DIR/jobs.txt ]] || die "$GEN_DIR/jobs.txt is missing"
  (($(wc -l <"$GEN_DIR/jobs.txt") >= JOBS)) || die "$GEN_DIR/jobs.txt has fewer than $JOBS jobs"

  NS=smtpscope-tls-bench-$$
  trap 'ip netns del "$NS" 2>/dev/null || true' EXIT
  ip netns add "$NS"
  ip netns exec "$NS" ip link set lo mtu 1500 up
  # TSO/GSO/GRO off so that segments stay within the MTU; checksum offload is fixed on lo (checksums in the
  # files are partial, which smtpscope does not check unless asked).
  ip netns exec "$NS" ethtool -K lo tso off gso off gro off >/dev/null 2>&1 || true
  ip netns exec "$NS" "$0" --inside "$GEN_DIR" "$OUT"
  exit
fi

# ---- inside the namespace --------------------------------------------------------------------------------
GEN_DIR=$2
OUT=$3
# shellcheck source=captures/private-postfix.sh
source "$ROOT/captures/private-postfix.sh"

WORK=$(mktemp -d)
chmod 755 "$WORK"
PF=$WORK/pf
CAP_PID=
cleanup() {
  [[ -n $CAP_PID ]] && kill -INT "$CAP_PID" 2>/dev/null
  [[ -d $PF/etc ]] && postfix_private_down "$PF/etc"
  rm -rf "$WORK"
}
trap cleanup EXIT

openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj '/CN=mx.example.test' \
  -keyout "$WORK/tls.key" -out "$WORK/tls.crt" 2>/dev/null
chmod 644 "$WORK/tls.key"
cp -r "$ROOT/src/keylog-preload" "$WORK/preload"
make -s -C "$WORK/preload"

# The reference corpus's server policy: example.test and example.org relayed and discarded, nosuchN@ refused
# (550), greyN@ deferred (450), senders at spammer.test refused (554), messages over 2 MB refused (552).
printf '%s\n' '/^nosuch[0-9]*@example\.test$/ 550 5.1.1 Recipient address rejected: User unknown in relay recipient table' \
  '/^grey[0-9]*@example\.test$/ 450 4.2.0 Recipient address rejected: Greylisted, please try again later' \
  >"$WORK/rcpt_access"
printf '%s\n' '/@spammer\.test$/ 554 5.7.1 Sender address rejected: Access denied' >"$WORK/sender_access"
KEYS=$WORK/server.keys
postfix_private_up "$PF" "myhostname = mx.example.test
relay_domains = example.test, example.org
relay_transport = discard:relayed
default_transport = discard:dropped
smtpd_relay_restrictions = reject_unauth_destination
smtpd_recipient_restrictions = check_recipient_access regexp:$WORK/rcpt_access
smtpd_sender_restrictions = check_sender_access regexp:$WORK/sender_access
message_size_limit = 2000000
smtputf8_enable = yes
default_process_limit = 200
smtpd_tls_security_level = may
smtpd_tls_cert_file = $WORK/tls.crt
smtpd_tls_key_file = $WORK/tls.key
tls_random_source = dev:/dev/urandom
import_environment = MAIL_CONFIG MAIL_DEBUG MAIL_LOGTAG TZ LANG=C POSTLOG_SERVICE POSTLOG_HOSTNAME LD_PRELOAD=$WORK/preload/keylog-preload.so SSLKEYLOGFILE=$KEYS" \
  "127.0.0.1:25 inet n - n - - smtpd"

# record NAME JOBFILE: runs the jobs PAR at a time while tcpdump records port 25 into OUT/NAME.pcap.
record() {
  local name=$1 jobs=$2 log=$WORK/$1.tcpdump.log started
  rm -f "$OUT/$name.pcap"
  tcpdump -i lo -s 0 -B 65536 -U -w "$OUT/$name.pcap" 'tcp port 25' >"$log" 2>&1 &
  CAP_PID=$!
  for ((i = 0; i < 100; i++)); do
    grep -q 'listening on' "$log" && break
    sleep 0.1
  done
  sleep 0.5
  started=$(date +%s)
  # Each job is bounded by swaks' --timeout (60 s per step); refusals are expected, so exit codes are not.
  xargs -d '\n' -P "$PAR" -I{} sh -c '{} >/dev/null 2>&1' <"$jobs" || true
  echo "$name: $(wc -l <"$jobs") sessions in $(($(date +%s) - started)) s"
  sleep 1
  kill -INT "$CAP_PID"
  wait "$CAP_PID" || true
  CAP_PID=
  grep -E 'packets (captured|received|dropped)' "$log" | sed "s/^/$name: tcpdump: /"
  if grep -Eq '^[1-9][0-9]* packets dropped by kernel' "$log"; then
    echo "$name: tcpdump dropped packets; run again on a quieter machine or with a smaller PAR" >&2
    return 1
  fi
}

# Connections opened (SYN without ACK) in a recording.
count_streams() {
  echo "$(tcpdump -nr "$1" 'tcp[tcpflags] & tcp-syn != 0 and tcp[tcpflags] & tcp-ack == 0' 2>/dev/null | wc -l) connections"
}

head -n "$JOBS" "$GEN_DIR/jobs.txt" | sed 's/ --tls / /' >"$WORK/clear.jobs"
# A job that speaks HELO (--protocol SMTP) gets no extension list, so swaks cannot ask for STARTTLS: it stays
# in clear in both recordings, so that both hold the same transactions.
sed '/--protocol SMTP/!s/$/ --tls/' "$WORK/clear.jobs" >"$WORK/tls.jobs"
record clear "$WORK/clear.jobs"
: >"$KEYS"
record tls "$WORK/tls.jobs"
postfix_private_down "$PF/etc"
cp "$KEYS" "$OUT/tls.keys"
chmod 644 "$OUT/clear.pcap" "$OUT/tls.pcap" "$OUT/tls.keys"

{
  echo "Made by test/harness/bench/make-tls-corpus.sh on $(date -u +%Y-%m-%dT%H:%MZ): the first $JOBS jobs of"
  echo "$GEN_DIR/jobs.txt, $PAR at a time, against a private Postfix $(postconf -h mail_version) (TLS: $(openssl version))."
  echo "clear.pcap: $(stat -c %s "$OUT/clear.pcap") bytes, $(count_streams "$OUT/clear.pcap")"
  echo "tls.pcap: $(stat -c %s "$OUT/tls.pcap") bytes, $(count_streams "$OUT/tls.pcap")"
  echo "tls.keys: $(grep -c . "$OUT/tls.keys") lines, $(awk '{print $2}' "$OUT/tls.keys" | sort -u | wc -l) client randoms"
} | tee "$OUT/corpus.txt"
