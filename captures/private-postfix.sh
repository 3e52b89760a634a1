# shellcheck shell=bash
# Sourced by make-tls-captures.sh and make-dialogue-captures.sh: a throwaway Postfix instance
# (`postfix -c DIR`) with its own configuration, queue, data directory and log under a temporary
# directory, listening on 127.0.0.1 only. /etc/postfix is neither read nor written. Mail for sink.test is
# discarded; recipients named in refuse-map get Postfix's `550 5.1.1 ... User unknown`.

# Postfix's daemons without chroot; no local delivery, no outgoing SMTP.
PRIVATE_POSTFIX_SERVICES='pickup    unix  n       -       n       60      1       pickup
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
anvil     unix  -       -       n       -       1       anvil
scache    unix  -       -       n       -       1       scache
tlsmgr    unix  -       -       n       1000?   1       tlsmgr
postlog   unix-dgram n  -       n       -       1       postlogd'

# postfix_private_up DIR MAIN_EXTRA MASTER_LISTENERS: writes DIR/etc/{main.cf,master.cf} (the base
# settings, then MAIN_EXTRA lines; the listeners, then the services), starts the instance and waits until
# each 127.0.0.1 port in MASTER_LISTENERS accepts connections. Sets PF_ETC and PF_LOG.
postfix_private_up() {
  local dir=$1 main_extra=$2 listeners=$3 port i
  PF_ETC=$dir/etc
  PF_LOG=$dir/maillog
  mkdir -p "$PF_ETC" "$dir/queue" "$dir/data"
  chmod 755 "$dir"
  chown postfix:postfix "$dir/data"
  cat >"$PF_ETC/main.cf" <<CF
compatibility_level = 3.6
queue_directory = $dir/queue
data_directory = $dir/data
mail_owner = postfix
setgid_group = postdrop
syslog_name = postfix-smtpscope-capture
maillog_file = $PF_LOG
maillog_file_prefixes = $dir
myhostname = mx.smtpscope.test
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
smtpd_recipient_restrictions = check_recipient_access texthash:$PF_ETC/refuse-map, permit_mynetworks, reject_unauth_destination
transport_maps = texthash:$PF_ETC/transport
$main_extra
CF
  printf 'nosuchuser@sink.test 550 5.1.1 User unknown\n' >"$PF_ETC/refuse-map"
  printf 'sink.test discard:sink\n' >"$PF_ETC/transport"
  printf '%s\n%s\n' "$listeners" "$PRIVATE_POSTFIX_SERVICES" >"$PF_ETC/master.cf"
  postfix -c "$PF_ETC" start >/dev/null 2>&1 || {
    cat "$PF_LOG" >&2 2>/dev/null
    return 1
  }
  for port in $(grep -o '^127\.0\.0\.1:[0-9]*' <<<"$listeners" | cut -d: -f2); do
    for ((i = 0; i < 100; i++)); do
      ss -Hltn "sport = :$port" | grep -q . && break
      sleep 0.1
    done
  done
}

postfix_private_down() {
  local etc=$1
  postfix -c "$etc" stop >/dev/null 2>&1 || true
}

# Refuses to go on when something already listens on one of PORTS (127.0.0.1).
ports_free() {
  local port
  for port in "$@"; do
    if ss -Hltn "sport = :$port" | grep -q .; then
      echo "port $port is in use; stop what listens there first" >&2
      return 1
    fi
  done
}
