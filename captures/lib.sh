# shellcheck shell=bash
# Helpers sourced by make-captures.sh: tool checks, capture start/stop, servers, Postfix queue and log.

# Tool → Debian package that provides it.
declare -A TOOL_PACKAGE=(
  [postfix]=postfix [postconf]=postfix [postqueue]=postfix [swaks]=swaks [tcpdump]=tcpdump
  [tshark]=tshark [editcap]=wireshark-common [capinfos]=wireshark-common [openssl]=openssl
  [ip]=iproute2 [python3]=python3 [node]=nodejs
)

check_tools() {
  local missing=() tool
  for tool in "${!TOOL_PACKAGE[@]}"; do
    command -v "$tool" >/dev/null 2>&1 || missing+=("${TOOL_PACKAGE[$tool]}")
  done
  if ((${#missing[@]})); then
    echo "missing tools; install them with: apt-get install $(printf '%s\n' "${missing[@]}" | sort -u | tr '\n' ' ')" >&2
    exit 1
  fi
  if [[ ! -d "$ROOT/node_modules/smtp-server" || ! -d "$ROOT/node_modules/nodemailer" ]]; then
    echo "smtp-server and nodemailer are missing: run npm install in $ROOT (they are devDependencies)" >&2
    exit 1
  fi
  if [[ $(id -u) != 0 ]]; then
    echo "must run as root (tcpdump, Postfix configuration, network namespaces)" >&2
    exit 1
  fi
}

# Waits until FILE contains TEXT (at most 10 s).
wait_for_text() {
  local file=$1 text=$2 i
  for ((i = 0; i < 100; i++)); do
    grep -q -- "$text" "$file" 2>/dev/null && return 0
    sleep 0.1
  done
  echo "timed out waiting for '$text' in $file" >&2
  cat "$file" >&2
  return 1
}

# start_capture OUT -- COMMAND...: runs a capture command in the background until stop_capture.
start_capture() {
  local out=$1
  shift 2
  CAP_LOG=$(mktemp)
  rm -f "$out"
  "$@" -w "$out" >"$CAP_LOG" 2>&1 &
  CAP_PID=$!
  wait_for_text "$CAP_LOG" 'listening on\|Capturing on'
  sleep 0.3
}

stop_capture() {
  sleep 0.5
  kill -INT "$CAP_PID"
  wait "$CAP_PID" || true
  rm -f "$CAP_LOG"
}

# start_server PROFILE [ARGS...]: starts a profile of servers.mjs; sets SERVER_PID.
start_server() {
  SERVER_LOG=$(mktemp)
  node "$HERE/servers.mjs" "$@" >"$SERVER_LOG" 2>&1 &
  SERVER_PID=$!
  wait_for_text "$SERVER_LOG" "ready $1"
}

stop_server() {
  local pid=$1
  kill -TERM "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
}

# Flushes the Postfix queue and waits (at most 60 s) until it is empty.
wait_queue_empty() {
  local i
  for ((i = 0; i < 120; i++)); do
    if postqueue -p 2>/dev/null | grep -q 'Mail queue is empty'; then
      sleep 0.5
      return 0
    fi
    ((i % 10 == 9)) && postqueue -f
    sleep 0.5
  done
  echo "Postfix queue did not drain:" >&2
  postqueue -p >&2
  return 1
}

log_mark() { stat -c %s "$POSTFIX_LOG"; }

# log_since MARK OUT: the Postfix log lines written after MARK, verbatim.
log_since() { tail -c +"$(($1 + 1))" "$POSTFIX_LOG" >"$2"; }

SWAKS_DATE='Wed, 01 May 2024 12:00:00 +0000'

# swaks_to TRANSCRIPT ID [SWAKS ARGS...]: one swaks session with fixed headers, its output appended
# verbatim to TRANSCRIPT. Rejections are expected, so swaks' exit status is ignored.
swaks_to() {
  local transcript=$1 id=$2
  shift 2
  swaks --helo client.smtpscope.test \
    --header "Date: $SWAKS_DATE" --header "Message-Id: <$id@smtpscope.test>" \
    --header "Subject: smtpscope capture $id" \
    "$@" >>"$transcript" 2>&1 || true
}

describe() {
  echo "== $1"
  capinfos -t -E -c -s "$1" | sed 's/^/   /'
  tshark -r "$1" -Y smtp -T fields -e smtp.req.command -e smtp.response.code 2>/dev/null | head -n 8 |
    sed 's/^/   /'
}
