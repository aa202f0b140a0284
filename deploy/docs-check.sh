#!/usr/bin/env bash
# Runs the commands and examples of README.md and deploy/README.md that a
# machine without Docker or a cluster can run, against the real binary:
#   1. README's CLI table names every subcommand `liancun --help` lists;
#   2. the shipped configurations pass `liancun check-config`;
#   3. `liancun serve` on a fresh SQLite file answers the health checks of
#      deploy/README.md, and the admin API examples (README's `sh` blocks
#      under "Admin API", deploy/README's under "The admin token") run
#      verbatim, every curl failing on an HTTP error;
#   4. `liancun backup` and `liancun run-job --no-send` as documented.
# .ci/run calls it after the tests (which build target/debug/liancun).
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$(pwd)

BIN=${LIANCUN_BIN:-${CARGO_TARGET_DIR:-$repo/target}/debug/liancun}
if [ ! -x "$BIN" ]; then
  cargo build --locked --bin liancun
fi

fail() { echo "docs-check: $*" >&2; exit 1; }
work=$(mktemp -d)
pid=
cleanup() {
  if [ -n "$pid" ]; then kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; fi
  [ -n "${DOCS_CHECK_KEEP:-}" ] && echo "docs-check: kept $work" >&2 || rm -rf "$work"
}
trap cleanup EXIT

# The operator's environment, not the caller's.
unset DATABASE_URL LIANCUN_CONFIG LIANCUN_ADMIN_TOKEN RUST_LOG
for v in $(env | sed -n 's/^\(LIANCUN_[A-Za-z0-9_]*\)=.*/\1/p'); do
  [ "$v" = LIANCUN_TEST_PG ] || unset "$v"
done

# --- 1. The CLI table.
subs=$("$BIN" --help | awk '/^Commands:/ {f=1; next} /^[^ ]/ {f=0} f && NF {print $1}' | grep -vx help)
[ -n "$subs" ] || fail "liancun --help lists no subcommands"
for c in $subs; do
  grep -q "^| \`$c" README.md || fail "README.md's CLI table lacks \`$c\` (liancun --help has it)"
done
"$BIN" run-job --help | grep -q -- '--no-send' || fail "run-job has no --no-send"
grep -q -- 'run-job .*--no-send' README.md || fail "README.md does not document run-job --no-send"

# --- 2. The shipped configurations.
export JIANGSHAN_APP_SECRET=docs-check-secret
check() {
  local label=$1; shift
  if ! out=$(env "$@" DATABASE_URL="sqlite://$work/check.db" "$BIN" check-config 2>&1); then
    fail "$label does not pass check-config: $out"
  fi
}
check config/default.toml
check config/production.example.toml LIANCUN_CONFIG=config/production.example.toml
check deploy/liancun.compose.toml LIANCUN_CONFIG=deploy/liancun.compose.toml
# The ConfigMap's liancun.toml, with its Secret files made here.
mkdir -p "$work/secrets"
awk '/^  liancun.toml: \|/ {f=1; next} f && /^[^ ]/ {f=0} f {sub(/^    /, ""); print}' \
  deploy/k8s/configmap.yaml | sed "s|file:/run/secrets/liancun/|file:$work/secrets/|g" >"$work/k8s.toml"
[ -s "$work/k8s.toml" ] || fail "no liancun.toml in deploy/k8s/configmap.yaml"
for f in $(grep -o "file:$work/secrets/[A-Za-z0-9._-]*" "$work/k8s.toml" | sed 's/^file://'); do
  echo "docs-check-secret" >"$f"
done
check deploy/k8s/configmap.yaml LIANCUN_CONFIG="$work/k8s.toml"
# An invalid log filter is refused, as deploy/README.md says.
if env LIANCUN_LOG__FILTER='liancun=loud' DATABASE_URL="sqlite://$work/check.db" "$BIN" check-config >/dev/null 2>&1; then
  fail "check-config accepts an invalid [log] filter"
fi

# --- 3. A service to run the examples against.
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
secret=docs-check-app-secret
cat >"$work/liancun.toml" <<EOF
[[bots]]
name = "jiangshan"
platform = "dingtalk"
display_names = ["联村助手"]
app_key = "dingdocscheck"
app_secret = "$secret"
robot_code = "dingdocscheck"
admins = ["guanli01"]
EOF
export LIANCUN_ADMIN_TOKEN=docs-check-city-token-0123456789abcdef0123456789
DATABASE_URL="sqlite://$work/liancun.db" LIANCUN_CONFIG="$work/liancun.toml" \
  LIANCUN_LISTEN="127.0.0.1:$port" LIANCUN_SCHEDULER__ENABLED=false LIANCUN_OUTBOX__ENABLED=false \
  "$BIN" serve >"$work/serve.log" 2>&1 &
pid=$!
for _ in $(seq 1 300); do
  curl -fsS "http://127.0.0.1:$port/readyz" >/dev/null 2>&1 && break
  kill -0 "$pid" 2>/dev/null || fail "liancun serve stopped: $(cat "$work/serve.log")"
  sleep 0.1
done

# The sh blocks of `file` under the heading that starts with `heading`,
# up to the next heading of that level.
blocks() {
  python3 - "$1" "$2" <<'PY'
import sys, re
text = open(sys.argv[1], encoding="utf-8").read()
heading = sys.argv[2]
level = len(heading) - len(heading.lstrip("#"))
out, inside, code = [], False, None
for line in text.splitlines():
    if re.match(r"#{1,%d} " % level, line) and code is None:
        inside = line.startswith(heading)
        continue
    if not inside:
        continue
    if code is None and line.strip() == "```sh":
        code = []
    elif code is not None and line.strip() == "```":
        out.append("\n".join(code)); code = None
    elif code is not None:
        code.append(line)
print("\0".join(out), end="")
PY
}

# Runs one documented block in a clean shell: the documented host and port
# point at this service, and every curl fails on an HTTP error.
run_block() {
  local label=$1 block=$2
  block=${block//http:\/\/127.0.0.1:8080/http://127.0.0.1:$port}
  block=${block//https:\/\/<host>/http://127.0.0.1:$port}
  (
    cd "$work"
    # --fail-with-body (not -f, which hides the reason) on every call.
    curl() {
      local args=() a rc=0
      for a in "$@"; do
        if [[ $a =~ ^-[a-zA-Z]*f[a-zA-Z]*$ ]]; then a=${a//f/}; [ "$a" = - ] && continue; fi
        args+=("$a")
      done
      command curl --fail-with-body -sS "${args[@]}" || rc=$?
      echo
      return $rc
    }
    set -euo pipefail
    eval "$block"
  ) >>"$work/examples.log" 2>&1 || fail "$label failed:
$block
--- output:
$(tail -n 20 "$work/examples.log" | cut -c1-400)"
}

# deploy/README.md: the single machine's checks.
grep -E '^curl -fsS http://127\.0\.0\.1:8080/(healthz|readyz)' deploy/README.md | head -n 2 >"$work/health.sh"
[ "$(wc -l <"$work/health.sh")" = 2 ] || fail "deploy/README.md lost its /healthz and /readyz checks"
run_block "deploy/README.md health checks" "$(cat "$work/health.sh")"

# README.md: the admin API, block by block.
mapfile -d '' admin < <(blocks README.md "## Admin API")
[ "${#admin[@]}" -ge 3 ] || fail "README.md's Admin API section lost its examples"
run_block "README.md Admin API example 1 (tokens)" "${admin[0]}"

# The township token T of the next examples, and a household CSV.
H=http://127.0.0.1:$port/api/v1
T=$(command curl -fsS -X POST "$H/tokens" -H "Authorization: Bearer $LIANCUN_ADMIN_TOKEN" \
  -d '{"township_id":1,"name":"docs-check"}' | python3 -c 'import json, sys; print(json.load(sys.stdin)["token"])')
export CITY=$LIANCUN_ADMIN_TOKEN H T
printf '姓名,小组,电话\n张大爷,3组,13812345670\n王大妈,第三组,\n' >"$work/南坞村农户.csv"
# The township's setup up to the groups the bot has seen; then a group
# admin's first message makes one; then the rest.
setup=${admin[1]%%curl -s \"\$H/groups?bound=false\"*}
[ "$setup" != "${admin[1]}" ] || fail "README.md's township setup no longer lists unbound groups"
run_block "README.md Admin API example 2 (setting up a township), before the groups" "$setup"
python3 - "$port" "$secret" <<'PY' || fail "the signed callback was refused"
import base64, hashlib, hmac, json, sys, time, urllib.request
port, secret = sys.argv[1], sys.argv[2]
ts = str(int(time.time() * 1000))
sign = base64.b64encode(hmac.new(secret.encode(), f"{ts}\n{secret}".encode(), hashlib.sha256).digest()).decode()
body = {"msgId": "docs-check-1", "msgtype": "text", "text": {"content": " 帮助"},
        "conversationId": "cid-docs-check", "conversationType": "2", "conversationTitle": "南坞村村务群",
        "senderId": "guanli01", "senderStaffId": "guanli01", "senderNick": "管理员", "isAdmin": True,
        "chatbotUserId": "bot", "atUsers": []}
req = urllib.request.Request(f"http://127.0.0.1:{port}/webhook/dingtalk/jiangshan",
    data=json.dumps(body).encode(), headers={"timestamp": ts, "sign": sign, "Content-Type": "application/json"})
urllib.request.urlopen(req, timeout=10).read()
PY
A="Authorization: Bearer $T"   # as the setup block sets it
export A
G=$(command curl -fsS "$H/groups?bound=false" -H "$A" |
  python3 -c 'import json, sys; d = json.load(sys.stdin); items = d["items"] if isinstance(d, dict) else d; print(items[0]["id"])')
export G
run_block "README.md Admin API example 2 (setting up a township), the groups" "${admin[1]#"$setup"}"
run_block "README.md Admin API example 3 (exports)" "${admin[2]}"

# deploy/README.md: the admin token's examples, as the city admin.
mapfile -d '' token < <(blocks deploy/README.md "## 管理令牌")
[ "${#token[@]}" -ge 1 ] || fail "deploy/README.md's admin token section lost its examples"
export TOKEN=$LIANCUN_ADMIN_TOKEN
run_block "deploy/README.md admin token examples" "${token[0]}"

# --- 4. The CLI examples that need the service stopped or none at all.
kill "$pid"; wait "$pid" 2>/dev/null || true; pid=
out=$(DATABASE_URL="sqlite://$work/liancun.db" LIANCUN_CONFIG="$work/liancun.toml" \
  "$BIN" run-job weekly_airing --township 1 --no-send 2>&1) || fail "run-job --no-send failed: $out"
grep -q "enqueued" <<<"$out" || fail "run-job --no-send said: $out"
DATABASE_URL="sqlite://$work/liancun.db" "$BIN" backup "$work/backup.db" >/dev/null ||
  fail "liancun backup failed"
[ -s "$work/backup.db" ] || fail "liancun backup wrote nothing"

echo "docs-check: README.md and deploy/README.md examples ran"
