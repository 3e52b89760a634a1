#!/usr/bin/env bash
# Remakes the captures that go with an MTA log (docs/MAILLOG.md), each with the logs its servers wrote:
#
#   postfix-relay   swaks → private Postfix A (127.0.0.1:2642) → private Postfix B (127.0.0.1:2643), which
#                   refuses one recipient at RCPT; A bounces it and sends its non-delivery notification to B.
#                   Files: postfix-relay.pcap, postfix-relay.a.maillog, postfix-relay.b.maillog, postfix-relay.swaks.txt
#   exim-relay      swaks → Exim (127.0.0.1:2641) → Postfix B, the same refusal; Exim bounces; a second session
#                   refused by Exim's ACLs (sender, then an unknown local recipient).
#                   Files: exim-relay.pcap, exim-relay.exim.maillog, exim-relay.b.maillog, exim-relay.swaks.txt
#
# Both Postfix instances are private (`postfix -c DIR` with their own queue and log in a temporary folder):
# the system's /etc/postfix is neither read nor written. Exim is Debian's exim4-daemon-light run from a
# private folder on a private configuration; give that folder (with usr/sbin/exim4 in it) as EXIM_ROOT:
#
#   apt-get download exim4-daemon-light exim4-base && dpkg -x exim4-base_*.deb DIR && dpkg -x exim4-daemon-light_*.deb DIR
#   apt-get install -y libidn12 libgnutls-dane0     # its libraries
#   useradd --system --no-create-home Debian-exim   # the user it is built to run deliveries as
#   EXIM_ROOT=DIR captures/make-maillog-captures.sh
#
# Without EXIM_ROOT only postfix-relay is made. Needs root, postfix, swaks and tcpdump. Traffic stays on 127.0.0.1.
#
# usage: captures/make-maillog-captures.sh [postfix-relay] [exim-relay]
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
OUT=$HERE
WORK=$(mktemp -d)
chmod 755 "$WORK"
export PATH=$PATH:/usr/sbin:/sbin

for tool in postfix postconf swaks tcpdump; do
  command -v "$tool" >/dev/null || {
    echo "missing $tool: apt-get install postfix swaks tcpdump" >&2
    exit 1
  }
done
[[ $(id -u) == 0 ]] || {
  echo "must run as root (tcpdump, Postfix)" >&2
  exit 1
}

PIDS=()
INSTANCES=()
cleanup() {
  local dir pid
  for dir in "${INSTANCES[@]}"; do postfix -c "$dir/etc" stop >/dev/null 2>&1 || true; done
  for pid in "${PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  sleep 0.5
  rm -rf "$WORK"
}
trap cleanup EXIT

MASTER_SERVICES='pickup    unix  n       -       n       60      1       pickup
cleanup   unix  n       -       n       -       0       cleanup
qmgr      unix  n       -       n       300     1       qmgr
rewrite   unix  -       -       n       -       -       trivial-rewrite
bounce    unix  -       -       n       -       0       bounce
defer     unix  -       -       n       -       0       bounce
trace     unix  -       -       n       -       0       bounce
verify    unix  -       -       n       -       1       verify
flush     unix  n       -       n       1000?   0       flush
proxymap  unix  -       -       n       -       -       proxymap
showq     unix  n       -       n       -       -       showq
error     unix  -       -       n       -       -       error
retry     unix  -       -       n       -       -       error
discard   unix  -       -       n       -       -       discard
smtp      unix  -       -       n       -       -       smtp
anvil     unix  -       -       n       -       1       anvil
scache    unix  -       -       n       -       1       scache
postlog   unix-dgram n  -       n       -       1       postlogd'

# postfix_instance NAME PORT TRANSPORTS REFUSE: a private Postfix on 127.0.0.1:PORT logging to
# $WORK/NAME/maillog, routing with the transport map lines TRANSPORTS, refusing the addresses in REFUSE at RCPT.
postfix_instance() {
  local name=$1 port=$2 transports=$3 refuse=$4 dir=$WORK/$1
  mkdir -p "$dir/etc" "$dir/queue" "$dir/data"
  chown postfix:postfix "$dir/data"
  cat >"$dir/etc/main.cf" <<EOF
compatibility_level = 3.6
queue_directory = $dir/queue
data_directory = $dir/data
mail_owner = postfix
setgid_group = postdrop
syslog_name = postfix-$name
maillog_file = $dir/maillog
maillog_file_prefixes = $dir
myhostname = $name.smtpscope.test
mydomain = smtpscope.test
mydestination =
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
mynetworks = 127.0.0.0/8
smtpd_client_port_logging = yes
smtpd_peername_lookup = no
smtp_dns_support_level = disabled
smtpd_delay_reject = no
alias_maps =
alias_database =
smtpd_recipient_restrictions = check_recipient_access texthash:$dir/etc/refuse, permit_mynetworks, reject_unauth_destination
transport_maps = texthash:$dir/etc/transport
EOF
  printf '%s' "$refuse" >"$dir/etc/refuse"
  printf '%s' "$transports" >"$dir/etc/transport"
  printf '127.0.0.1:%s inet n - n - - smtpd\n%s\n' "$port" "$MASTER_SERVICES" >"$dir/etc/master.cf"
  postfix -c "$dir/etc" start >/dev/null 2>&1
  INSTANCES+=("$dir")
  wait_port "$port"
}

wait_port() {
  local i
  for ((i = 0; i < 100; i++)); do
    ss -ltn "sport = :$1" | grep -q LISTEN && return 0
    sleep 0.1
  done
  echo "nothing listens on 127.0.0.1:$1" >&2
  return 1
}

# wait_queue DIR: until the Postfix queue of that instance is empty (30 s at most).
wait_queue() {
  local i
  for ((i = 0; i < 60; i++)); do
    postqueue -c "$1/etc" -p 2>/dev/null | grep -q 'Mail queue is empty' && {
      sleep 0.5
      return 0
    }
    sleep 0.5
  done
  echo "queue of $1 did not drain" >&2
  return 1
}

start_capture() {
  CAP_LOG=$WORK/tcpdump.log
  rm -f "$1"
  tcpdump -i lo -U -s 0 -w "$1" "$2" >"$CAP_LOG" 2>&1 &
  CAP_PID=$!
  local i
  for ((i = 0; i < 100; i++)); do
    grep -q 'listening on' "$CAP_LOG" && break
    sleep 0.1
  done
  sleep 0.3
}

stop_capture() {
  sleep 0.5
  kill -INT "$CAP_PID"
  wait "$CAP_PID" || true
}

SWAKS_DATE='Wed, 01 May 2024 12:00:00 +0000'
swaks_to() {
  local transcript=$1 id=$2
  shift 2
  swaks --helo client.smtpscope.test \
    --header "Date: $SWAKS_DATE" --header "Message-Id: <$id@smtpscope.test>" \
    --header "Subject: smtpscope capture $id" "$@" >>"$transcript" 2>&1 || true
}

# The next hop of both scenarios: refuses gone@ at RCPT, discards what it accepts.
start_hop_b() {
  postfix_instance b 2643 $'relay.test discard:relay\nremote.test discard:remote\nsender.test discard:sender\n' \
    $'gone@relay.test 550 5.1.1 User unknown\ngone@remote.test 550 5.1.1 User unknown\n'
}

capture_postfix_relay() {
  local t=$OUT/postfix-relay.swaks.txt
  : >"$t"
  start_hop_b
  postfix_instance a 2642 $'relay.test smtp:[127.0.0.1]:2643\nsender.test smtp:[127.0.0.1]:2643\n' ''
  start_capture "$OUT/postfix-relay.pcap" 'tcp port 2642 or tcp port 2643'
  swaks_to "$t" relay-1 --server 127.0.0.1 --port 2642 --from alice@sender.test \
    --to kept@relay.test,gone@relay.test --body 'The first hop accepts both; the next hop refuses one.'
  wait_queue "$WORK/a"
  wait_queue "$WORK/b"
  stop_capture
  cp "$WORK/a/maillog" "$OUT/postfix-relay.a.maillog"
  cp "$WORK/b/maillog" "$OUT/postfix-relay.b.maillog"
  postfix -c "$WORK/a/etc" stop >/dev/null 2>&1
  postfix -c "$WORK/b/etc" stop >/dev/null 2>&1
  sleep 1
  rm -rf "$WORK/a" "$WORK/b"
  INSTANCES=()
}

capture_exim_relay() {
  local root=${EXIM_ROOT:?set EXIM_ROOT to the folder holding usr/sbin/exim4 (see the header)}
  local exim=$root/usr/sbin/exim4 dir=$WORK/exim t=$OUT/exim-relay.swaks.txt
  id Debian-exim >/dev/null || {
    echo "no Debian-exim user (see the header)" >&2
    exit 1
  }
  : >"$t"
  mkdir -p "$dir/spool" "$dir/log"
  chown -R Debian-exim:Debian-exim "$dir/spool" "$dir/log"
  cat >"$dir/exim.conf" <<EOF
exim_path = $exim
spool_directory = $dir/spool
log_file_path = $dir/log/%slog
log_selector = +incoming_port +deliver_time +received_recipients
primary_hostname = exim.smtpscope.test
qualify_domain = smtpscope.test
daemon_smtp_ports = 2641
local_interfaces = 127.0.0.1
host_lookup =
rfc1413_hosts =
tls_advertise_hosts =
never_users =
trusted_users = root
keep_environment =
domainlist local_domains = local.test
domainlist relay_to_domains = remote.test : sender.test
acl_smtp_mail = acl_check_mail
acl_smtp_rcpt = acl_check_rcpt

begin acl
acl_check_mail:
  deny    senders = spammer@bad.test
          message = Sender refused by local policy
  accept
acl_check_rcpt:
  deny    domains = +local_domains
          local_parts = nobody
          message = Unknown user
  accept  domains = +local_domains : +relay_to_domains

begin routers
nexthop:
  driver = manualroute
  domains = +relay_to_domains
  transport = nexthop_smtp
  route_list = * 127.0.0.1
  self = send
blackhole:
  driver = redirect
  domains = +local_domains
  data = :blackhole:

begin transports
nexthop_smtp:
  driver = smtp
  port = 2643
  hosts_avoid_tls = *

begin retry
* * F,1m,1m
EOF
  start_hop_b
  "$exim" -C "$dir/exim.conf" -bd -oP "$dir/exim.pid" &
  PIDS+=($!)
  wait_port 2641
  start_capture "$OUT/exim-relay.pcap" 'tcp port 2641 or tcp port 2643'
  swaks_to "$t" exim-1 --server 127.0.0.1 --port 2641 --from alice@sender.test \
    --to kept@remote.test,gone@remote.test --body 'Exim accepts both; the next hop refuses one.'
  swaks_to "$t" exim-2 --server 127.0.0.1 --port 2641 --from spammer@bad.test --to box@local.test
  swaks_to "$t" exim-3 --server 127.0.0.1 --port 2641 --from alice@sender.test \
    --to nobody@local.test,box@local.test --body 'One local recipient is unknown.'
  local i
  for ((i = 0; i < 60; i++)); do
    [[ -z $("$exim" -C "$dir/exim.conf" -bpc 2>/dev/null | grep -v '^0$') ]] && break
    sleep 0.5
  done
  sleep 1
  wait_queue "$WORK/b"
  stop_capture
  kill -TERM "$(cat "$dir/exim.pid")" 2>/dev/null || true
  cp "$dir/log/mainlog" "$OUT/exim-relay.exim.maillog"
  cp "$WORK/b/maillog" "$OUT/exim-relay.b.maillog"
}

names=("$@")
((${#names[@]})) || names=(postfix-relay exim-relay)
for name in "${names[@]}"; do
  case $name in
    postfix-relay) capture_postfix_relay ;;
    exim-relay)
      if [[ -z ${EXIM_ROOT:-} ]]; then
        echo "exim-relay skipped: EXIM_ROOT is not set (see the header)" >&2
      else
        capture_exim_relay
      fi
      ;;
    *)
      echo "unknown capture '$name' (postfix-relay, exim-relay)" >&2
      exit 2
      ;;
  esac
done
chmod 644 "$OUT"/postfix-relay.* "$OUT"/exim-relay.* 2>/dev/null || true
