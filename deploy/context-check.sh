#!/usr/bin/env bash
# deploy/context-check.sh — prove, without a Docker engine, that the image
# builds from what deploy/Dockerfile copies into it. `.ci/run` runs it.
#
#   deploy/context-check.sh        # ~1 min with a warm target folder
#
# It reads the Dockerfile's instructions (not strings in it): every COPY of a
# stage that runs `cargo build` is replayed into an empty scratch folder —
# exactly those paths, with the Dockerfile's own globs — and the crate is
# compiled there, locked and offline:
#   1. the dependency layer: the COPYs before the first `cargo build`, with
#      the empty crate that RUN makes (a [[bench]] or [[example]] named in
#      Cargo.toml, or a build script reading a missing file, fails here);
#   2. the whole build: every COPY of the stage (a missing assets/ font, a
#      config/ or migrations/ file read by include_bytes!, include_str! or
#      sqlx::migrate! fails here).
# Then the facts the image promises are checked on the parsed instructions of
# the final stage: `cargo build --locked`, USER 10001, WORKDIR, LIANCUN_LISTEN,
# EXPOSE 8080, a HEALTHCHECK, CMD ["serve"], ca-certificates installed.
#
# Why `cargo check` in the dev profile and not `cargo build --release`:
# everything the build reads from the context is read by the compiler front
# end and build scripts, which `check` runs in full (include_bytes!,
# include_str!, sqlx::migrate!, proc macros, build.rs); the release profile
# changes only code generation and debug info (Cargo.toml [profile.release]),
# which read nothing from disk. A cold release build of every dependency takes
# several minutes on two cores; `check` shares the dependencies' metadata
# already in the target folder (CARGO_TARGET_DIR, default the repository's
# target/; `.ci/run` runs this after clippy, which leaves them there), so only
# liancun itself is compiled, twice: about a minute in all.
#
# The copies get fresh modification times (cp without -p) on purpose: cargo's
# fingerprint of the root package does not depend on its folder, so copies
# with the repository's times would look up to date and compile nothing —
# and a missing file would pass unnoticed.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/.." && pwd)
dockerfile=${DOCKERFILE:-$here/Dockerfile}
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$repo/target}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# The plan, one line per copy: LAYER <tab> SOURCE (relative to the context,
# may be a glob) <tab> DEST (relative to the builder's WORKDIR), and FACT
# lines for the instructions' facts that fail.
plan=$(python3 - "$dockerfile" <<'PY'
import json, posixpath, re, shlex, sys

path = sys.argv[1]
lines, buf = [], ""
for raw in open(path, encoding="utf-8"):
    s = raw.rstrip("\n")
    if not buf and (s.lstrip().startswith("#") or not s.strip()):
        continue
    if s.lstrip().startswith("#"):
        continue  # a comment inside a continued instruction
    if s.endswith("\\"):
        buf += s[:-1] + " "
        continue
    lines.append((buf + s).strip())
    buf = ""

stages = []  # each: {"name", "workdir", "copies": [(layer, srcs, dest)], "ins": [(op, args)]}
for line in lines:
    op, _, args = line.partition(" ")
    op = op.upper()
    if op == "FROM":
        m = re.search(r"\sAS\s+(\S+)", " " + args, re.I)
        stages.append({"name": m.group(1) if m else str(len(stages)), "workdir": "/",
                       "copies": [], "ins": [], "built": False})
        continue
    if not stages:
        continue
    st = stages[-1]
    st["ins"].append((op, args))
    if op == "WORKDIR":
        st["workdir"] = args if args.startswith("/") else st["workdir"].rstrip("/") + "/" + args
    elif op == "RUN" and re.search(r"\bcargo\s+build\b", args):
        st["built"] = True
        st.setdefault("cargo_runs", []).append(args)
    elif op in ("COPY", "ADD"):
        words = json.loads(args) if args.startswith("[") else shlex.split(args)
        flags = [w for w in words if w.startswith("--")]
        words = [w for w in words if not w.startswith("--")]
        if any(f.startswith("--from") for f in flags) or len(words) < 2:
            continue
        *srcs, dest = words
        if not dest.startswith("/"):
            dest = st["workdir"].rstrip("/") + "/" + dest
        st["copies"].append((2 if st["built"] else 1, srcs, dest, st["workdir"]))

facts = []
builders = [s for s in stages if s.get("cargo_runs")]
if not builders:
    facts.append("no stage runs `cargo build`")
for b in builders:
    for run in b["cargo_runs"]:
        for m in re.finditer(r"cargo\s+build\b[^&;|]*", run):
            if "--locked" not in m.group(0):
                facts.append(f"stage {b['name']}: `{m.group(0).strip()}` is not --locked")
    for layer, srcs, dest, wd in b["copies"]:
        root = wd.rstrip("/") + "/"
        if not (dest + "/").startswith(root) and dest != wd:
            continue  # copied outside the crate: not read by cargo
        rel = posixpath.normpath(dest[len(root):]) if dest.startswith(root) else "."
        many = len(srcs) > 1 or dest.endswith("/")
        for src in srcs:
            print(f"COPY\t{layer}\t{src}\t{rel}\t{'dir' if many else 'as'}")

final = stages[-1] if stages else {"ins": []}
ins = final["ins"]
def last(op):
    got = [a for o, a in ins if o == op]
    return got[-1] if got else None
user = last("USER") or ""
if user.split(":")[0] != "10001":
    facts.append(f"final stage: USER is {user or 'root'!r}, not 10001")
if (last("WORKDIR") or "") != "/var/lib/liancun":
    facts.append("final stage: WORKDIR is not /var/lib/liancun")
envs = " ".join(a for o, a in ins if o == "ENV")
if "LIANCUN_LISTEN=0.0.0.0:8080" not in envs.split():
    facts.append("final stage: ENV LIANCUN_LISTEN=0.0.0.0:8080 missing")
if "8080" not in (" ".join(a for o, a in ins if o == "EXPOSE")).replace("/tcp", "").split():
    facts.append("final stage: EXPOSE 8080 missing")
hc = last("HEALTHCHECK")
if not hc or hc.strip().upper() == "NONE":
    facts.append("final stage: no HEALTHCHECK")
cmd = last("CMD")
if cmd is None or (json.loads(cmd) if cmd.startswith("[") else shlex.split(cmd)) != ["serve"]:
    facts.append(f"final stage: CMD is {cmd!r}, not [\"serve\"]")
if not any(o == "RUN" and re.search(r"apt-get\s+install\b.*\bca-certificates\b", a) for o, a in ins):
    facts.append("final stage: ca-certificates is not installed (rustls reads the system roots)")
for f in facts:
    print(f"FACT\t{f}")
PY
)

failed=0
while IFS=$'\t' read -r kind a _; do
    if [ "$kind" = FACT ]; then
        echo "FAIL  Dockerfile: $a"
        failed=1
    fi
done <<<"$plan"

# copy LAYER DIR: replays the COPYs of layers up to LAYER into DIR.
copy_layers() {
    local upto=$1 dir=$2 kind layer src dest mode matched f target
    mkdir -p "$dir"
    while IFS=$'\t' read -r kind layer src dest mode; do
        [ "$kind" = COPY ] && [ "$layer" -le "$upto" ] || continue
        matched=0
        # The Dockerfile's globs (build.r[s]) match in the context as Docker's do.
        for f in $(cd "$repo" && compgen -G "$src" || true); do
            matched=1
            target=$dir/$dest
            if [ -d "$repo/$f" ]; then
                [ "$mode" = dir ] && target=$dir/$dest/$(basename "$f")
                mkdir -p "$target"
                cp -r "$repo/$f/." "$target/"
            else
                if [ "$mode" = dir ] || [ "$dest" = . ]; then
                    mkdir -p "$target"
                    target=$target/$(basename "$f")
                else
                    mkdir -p "$(dirname "$target")"
                fi
                cp "$repo/$f" "$target"
            fi
        done
        if [ "$matched" = 0 ] && [[ "$src" != *[\[\]*?]* ]]; then
            echo "FAIL  Dockerfile: COPY $src: not in the build context"
            failed=1
        fi
    done <<<"$plan"
}

check_in() {
    local name=$1 dir=$2 started out
    started=$(date +%s)
    if out=$(cd "$dir" && cargo check --locked --offline --quiet --bin liancun 2>&1); then
        echo "ok    context: $name ($(($(date +%s) - started)) s)"
    else
        echo "FAIL  context: $name"
        printf '%s\n' "$out" | tail -n 30 | sed 's/^/      /'
        failed=1
    fi
}

# 1. The dependency layer, with the empty crate its RUN makes.
copy_layers 1 "$work/deps"
if [ ! -e "$work/deps/src/main.rs" ]; then
    mkdir -p "$work/deps/src"
    echo 'fn main() {}' > "$work/deps/src/main.rs"
    : > "$work/deps/src/lib.rs"
fi
check_in "dependency layer (Cargo.toml, Cargo.lock and what else comes before the first cargo build)" "$work/deps"

# 2. The whole build stage.
copy_layers 2 "$work/full"
check_in "the builder stage's COPYs hold everything the build reads ($(cd "$work/full" && find . -maxdepth 1 -mindepth 1 -printf '%f ' | sed 's/ $//'))" "$work/full"

if [ "$failed" != 0 ]; then
    echo "deploy/context-check.sh: the image would not build from what the Dockerfile copies"
    exit 1
fi
echo "deploy/context-check.sh: the Dockerfile's build context holds everything the build reads"
