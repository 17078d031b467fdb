#!/usr/bin/env bash
# Instructions per request of the guard's hot path, without timing noise: each server (hello
# and FW-app) runs under `valgrind --tool=callgrind` for its whole life, once with SHORT and once
# with LONG seconds of `wrk -t1 -c8` (the same 361-byte-class Cookie header as scripts/bench.sh);
# the difference of the two runs divided by the difference in requests is the cost of one
# request without the startup. Prints the totals and the functions whose cost per request
# differs most between hello and the app. docs/PERFORMANCE.md shows a run.
#
# Usage: scripts/profile.sh [axum|actix] [TOP]      (release binaries as scripts/bench.sh builds)
# Env:   SHORT=4 LONG=12 BASE_PORT=3460 KEEP=DIR     KEEP keeps the callgrind outputs
#        AGAINST=noop                                 hello vs examples/noop_FW (the no-op
#                                                     middleware) instead of FW-app
# Needs: valgrind, wrk, curl, python3. Loopback only; servers stopped by their PID.
set -euo pipefail

cd "$(dirname "$0")/.."
FW=${1:-axum}
TOP=${2:-25}
SHORT=${SHORT:-4}
LONG=${LONG:-12}
PORT=${BASE_PORT:-3460}
AGAINST=${AGAINST:-app}
BIN=${CARGO_TARGET_DIR:-$PWD/target}/release
EMAIL=a@example.com
PASSWORD='correct horse battery'
[[ $FW == axum || $FW == actix ]] || { echo "usage: scripts/profile.sh [axum|actix] [TOP]" >&2; exit 2; }
for tool in valgrind callgrind_annotate wrk curl python3; do
    command -v "$tool" >/dev/null || { echo "error: $tool is not installed" >&2; exit 1; }
done
B=$BIN/$FW-app
[[ $AGAINST == noop ]] && B=$BIN/examples/noop_$FW
for bin in "$BIN/examples/hello_$FW" "$B"; do
    [[ -x $bin ]] || { echo "error: $bin is missing: run scripts/bench.sh once (it builds them)" >&2; exit 1; }
done

WORK=$(mktemp -d "${TMPDIR:-/tmp}/auth-profile.XXXXXX")
PID=
cleanup() {
    [[ -z $PID ]] || { kill "$PID" 2>/dev/null || true; wait "$PID" 2>/dev/null || true; }
    if [[ -n ${KEEP:-} ]]; then mkdir -p "$KEEP" && cp -R "$WORK"/. "$KEEP"/; fi
    rm -rf "$WORK"
}
trap cleanup EXIT
die() { echo "error: $*" >&2; exit 1; }

# run NAME SECONDS BINARY : the server under callgrind with SECONDS of load; sets REQ[NAME-SECONDS].
run() {
    local name=$1 secs=$2 bin=$3
    local out="$WORK/$name-$secs"
    # The environment is set before valgrind: through `env`, valgrind would follow an exec
    # and leave the server uninstrumented.
    env -u AUTH_CONFIG AUTH_DATABASE_URL="sqlite://$out.db" RUST_LOG=warn \
        valgrind --tool=callgrind --callgrind-out-file="$out.cg" "$bin" --listen "127.0.0.1:$PORT" >"$out.log" 2>&1 &
    PID=$!
    local _ up=
    for _ in $(seq 1 600); do
        if curl -fsS --max-time 2 "http://127.0.0.1:$PORT/health" >/dev/null 2>&1; then up=1; break; fi
        kill -0 "$PID" 2>/dev/null || { cat "$out.log" >&2; die "$name exited early"; }
        sleep 0.2
    done
    [[ -n $up ]] || { cat "$out.log" >&2; die "$name did not answer /health within 120 s"; }
    local cookie=""
    if [[ $name == app ]]; then
        curl -sS --max-time 60 -D "$out.headers" -o /dev/null -H 'content-type: application/json' \
            --data "{\"email\":\"$EMAIL\",\"password\":\"$PASSWORD\"}" "http://127.0.0.1:$PORT/api/v1/auth/signup"
        cookie=$(tr -d '\r' <"$out.headers" | sed -n 's/^[Ss]et-[Cc]ookie: *\(auth_session=[^;]*\).*/\1/p' | head -n1)
        [[ -n $cookie ]] || die "no session cookie from the signup"
        printf '%s' "$cookie" >"$WORK/cookie"
    else
        # hello (and noop) get padding of the session cookie's length (the app runs first;
        # 361 bytes, the length scripts/bench.sh saw, when it does not run).
        local len=361
        [[ -s $WORK/cookie ]] && len=$(wc -c <"$WORK/cookie")
        cookie="pad=$(head -c $((len - 4)) /dev/zero | tr '\0' x)"
    fi
    timeout $((secs + 60)) wrk -t1 -c8 -d"${secs}s" -H "cookie: $cookie" "http://127.0.0.1:$PORT/api/hello" >"$out.wrk" 2>&1 ||
        die "wrk failed against $name"
    if grep -qE 'Non-2xx or 3xx responses|Socket errors' "$out.wrk"; then cat "$out.wrk" >&2; die "wrk reported errors"; fi
    # SIGTERM: a background job of a script ignores SIGINT. Valgrind writes the profile either way.
    kill -TERM "$PID" 2>/dev/null || true
    wait "$PID" 2>/dev/null || true
    PID=
    [[ -s $out.cg ]] || die "callgrind wrote no profile for $name"
    callgrind_annotate --inclusive=no --tree=none --auto=no --threshold=100 "$out.cg" >"$out.txt" 2>/dev/null
    REQ[$name-$secs]=$(awk '/ requests in / { print $1 }' "$out.wrk")
    echo "  $name ${secs}s: ${REQ[$name-$secs]} requests" >&2
}

echo "profiling $FW: $AGAINST and hello, ${SHORT}s and ${LONG}s of load each, under callgrind..." >&2
declare -A REQ
if [[ $AGAINST == noop ]]; then
    for secs in "$SHORT" "$LONG"; do run noop "$secs" "$B"; done
else
    for secs in "$SHORT" "$LONG"; do run app "$secs" "$B"; done
fi
for secs in "$SHORT" "$LONG"; do run hello "$secs" "$BIN/examples/hello_$FW"; done

python3 - "$WORK" "$SHORT" "$LONG" "${REQ[hello-$SHORT]}" "${REQ[hello-$LONG]}" "${REQ[$AGAINST-$SHORT]}" \
    "${REQ[$AGAINST-$LONG]}" "$TOP" "$FW" "$AGAINST" <<'EOF'
import re, sys
work, short, long_, h1, h2, a1, a2, top, fw, against = sys.argv[1:]
line = re.compile(r'\s*([\d,]+) \(\s*[\d.]+%\)\s+(.*)')

def costs(path):
    """Self cost per function of one callgrind_annotate listing."""
    out = {}
    for text in open(path):
        m = line.match(text)
        if not m or 'PROGRAM TOTALS' in text:
            continue
        name = re.sub(r' \[/.*\]$', '', m.group(2))
        name = re.sub(r'^/root/\.cargo/registry/src/[^/]*/', '', name)
        name = re.sub(r'^/rustc/[^/]*/library/', 'std:', name)
        out[name] = out.get(name, 0) + int(m.group(1).replace(',', ''))
    return out

def per_request(name, r1, r2):
    c1, c2 = costs(f'{work}/{name}-{short}.txt'), costs(f'{work}/{name}-{long_}.txt')
    n = int(r2) - int(r1)
    if n <= 0:
        sys.exit(f'error: the {long_}s run of {name} served no more requests than the {short}s run')
    return {k: (c2.get(k, 0) - c1.get(k, 0)) / n for k in set(c1) | set(c2)}

hello, app = per_request('hello', h1, h2), per_request(against, a1, a2)
th, ta = sum(hello.values()), sum(app.values())
label = f'{fw}-app' if against == 'app' else f'noop_{fw}'
print(f'{fw}: instructions per request: hello {th:,.0f}, {label} {ta:,.0f} ({ta - th:+,.0f})')
print()
print(f'| Δ per request | hello | {label} | function |')
print('|---:|---:|---:|---|')
ranked = sorted(set(hello) | set(app), key=lambda k: -(app.get(k, 0) - hello.get(k, 0)))
for k in ranked[: int(top)]:
    d = app.get(k, 0) - hello.get(k, 0)
    print(f'| {d:+,.0f} | {hello.get(k, 0):,.0f} | {app.get(k, 0):,.0f} | `{k[:150]}` |')
EOF
