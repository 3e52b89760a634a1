# shellcheck shell=bash
# Sourced by make-captures.sh. REWRITES /etc/postfix/main.cf and /etc/postfix/master.cf (the caller
# saves copies first and puts them back on exit) and writes /etc/postfix/smtpscope-* map and TLS files.

POSTFIX_LOG=/var/log/smtpscope-postfix.log

configure_postfix() {
  local etc=/etc/postfix

  # Throwaway self-signed certificate for the smtpd listener on 2525 (not committed).
  openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj '/CN=mx.smtpscope.test' \
    -keyout "$etc/smtpscope-tls.key" -out "$etc/smtpscope-tls.crt" 2>/dev/null
  chmod 600 "$etc/smtpscope-tls.key"

  cat >"$etc/smtpscope-sender-access" <<'EOF'
/^spammer@bad\.test$/ 554 5.7.1 Policy rejection: sender on local block list
EOF
  cat >"$etc/smtpscope-recipient-access" <<'EOF'
/^greylist@sink\.test$/ 450 4.2.0 Greylisted, please try again later
EOF
  cat >"$etc/smtpscope-transport" <<'EOF'
sink.test	discard:sink
remote.test	smtp:[127.0.0.1]:2590
sender.test	smtp:[127.0.0.1]:2590
lmtp.test	lmtp:inet:[127.0.0.1]:2592
relay.test	smtp:[127.0.0.1]:2526
EOF

  postconf -e \
    'myhostname = mx.smtpscope.test' \
    'mydomain = smtpscope.test' \
    'mydestination = $myhostname, localhost' \
    'inet_interfaces = loopback-only' \
    'inet_protocols = all' \
    'mynetworks = 127.0.0.0/8 [::1]/128' \
    "maillog_file = $POSTFIX_LOG" \
    'smtpd_peername_lookup = no' \
    'smtp_dns_support_level = disabled' \
    'lmtp_dns_support_level = disabled' \
    'smtp_host_lookup = native' \
    'lmtp_host_lookup = native' \
    'smtp_tls_security_level = none' \
    'lmtp_tls_security_level = none' \
    'smtpd_tls_security_level = none' \
    "smtpd_tls_cert_file = $etc/smtpscope-tls.crt" \
    "smtpd_tls_key_file = $etc/smtpscope-tls.key" \
    'disable_vrfy_command = no' \
    'header_size_limit = 4096' \
    'message_size_limit = 10240' \
    'smtpd_delay_reject = no' \
    "smtpd_sender_restrictions = check_sender_access regexp:$etc/smtpscope-sender-access" \
    "smtpd_recipient_restrictions = check_recipient_access regexp:$etc/smtpscope-recipient-access, permit_mynetworks, reject_unauth_destination" \
    'smtpd_relay_restrictions = permit_mynetworks, reject_unauth_destination' \
    "transport_maps = texthash:$etc/smtpscope-transport" \
    'delay_warning_time = 0' \
    'relayhost =' \
    'compatibility_level = 3.6'

  # A second smtpd on 127.0.0.1:2525 that insists on STARTTLS, and one on 2526 (the relay.test next
  # hop) whose accepted mail is discarded so that it does not loop back.
  postconf -M -e '127.0.0.1:2525/inet = 127.0.0.1:2525 inet n - y - - smtpd -o smtpd_tls_security_level=encrypt'
  postconf -M -e '127.0.0.1:2526/inet = 127.0.0.1:2526 inet n - y - - smtpd -o content_filter=discard:relay -o myhostname=relay.smtpscope.test'

  touch "$POSTFIX_LOG"
}
