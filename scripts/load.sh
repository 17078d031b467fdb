#!/usr/bin/env bash
# Load comparison: the example app behind the login layer vs. the same app without it.
#
# For axum and actix-web, starts the plain hello server (examples/examples/hello_*.rs) and the
# example server (axum-app / actix-app) on loopback, signs the first admin up, runs wrk against
# GET /api/hello on each (with the session cookie for the auth server), stops the servers and
# prints a table: framework, hello req/s, auth req/s, ratio (auth / hello), the server's CPU time
# per request for both, and "other load" (see QUIET_MAX).
#
# Usage: scripts/load.sh            (from anywhere in the repository)
# Env:   DURATION=10s THREADS=2 CONNECTIONS=64  wrk settings
#        ROUNDS=1                               hello/auth pairs per framework, interleaved;
#                                               the table shows medians: req/s of each server,
#                                               and the ratio of each pair (with its range)
#        COOKIE_BASELINE=1                      also load the hello server with the same cookie
#                                               header (column "hello+cookie"): separates the
#                                               cost of the bigger request from the guard's
#        QUIET_MAX=5 TRIES=3 RETRY_PAUSE=20     a run during which other processes used more
#                                               than QUIET_MAX % of the machine's CPU is
#                                               repeated (up to TRIES times, after a pause)
#        SERVER_CPUS= WRK_CPUS=                 pin the servers / wrk to these CPUs (taskset
#                                               lists, e.g. SERVER_CPUS=1 WRK_CPUS=0): steadier
#                                               numbers, the server alone is the bottleneck;
#                                               both servers then see 1 CPU (1 worker thread)
#        BASE_PORT=3100                         first of 4 loopback ports used
#        RESULTS=DIR                            keep every wrk output there
#        SKIP_BUILD=1                           reuse target/release as is
#        DEBUG=1                                print the CPU accounting of every run
#        CARGO="nice -n 19 cargo"               how to call cargo (the build is niced)
# Needs: wrk, curl. Every wrk run is bounded by DURATION (and `timeout`).
set -euo pipefail

cd "$(dirname "$0")/.."
ROOT=$PWD
DURATION=${DURATION:-10s}
THREADS=${THREADS:-2}
CONNECTIONS=${CONNECTIONS:-64}
ROUNDS=${ROUNDS:-1}
QUIET_MAX=${QUIET_MAX:-5}
TRIES=${TRIES:-3}
RETRY_PAUSE=${RETRY_PAUSE:-20}
HZ=$(getconf CLK_TCK)
CORES=$(nproc)
BASE_PORT=${BASE_PORT:-3100}
CARGO=${CARGO:-nice -n 19 cargo}
BIN=$ROOT/target/release
SERVER_PIN=() WRK_PIN=()
if [[ -n ${SERVER_CPUS:-} ]]; then SERVER_PIN=(taskset -c "$SERVER_CPUS"); fi
if [[ -n ${WRK_CPUS:-} ]]; then WRK_PIN=(taskset -c "$WRK_CPUS"); fi

for tool in wrk curl; do
    command -v "$tool" >/dev/null || { echo "error: $tool is not installed" >&2; exit 1; }
done

if [[ -z ${SKIP_BUILD:-} ]]; then
    echo "building release binaries..." >&2
    $CARGO build --release -p auth-examples --bins --examples >&2
fi

WORK=$(mktemp -d "${TMPDIR:-/tmp}/auth-load.XXXXXX")
PIDS=()

cleanup() {
    local pid
    for pid in "${PIDS[@]+"${PIDS[@]}"}"; do
        kill "$pid" 2>/dev/null || true
    done
    for pid in "${PIDS[@]+"${PIDS[@]}"}"; do
        wait "$pid" 2>/dev/null || true
    done
    rm -rf "$WORK"
}
trap cleanup EXIT

# start NAME PORT CMD... : starts a server in the background, records its PID in $STARTED.
start() {
    local name=$1 port=$2
    shift 2
    if curl -fsS --max-time 1 "http://127.0.0.1:$port/health" >/dev/null 2>&1; then
        echo "error: something already answers on port $port (set BASE_PORT)" >&2
        exit 1
    fi
    "${SERVER_PIN[@]+"${SERVER_PIN[@]}"}" "$@" --listen "127.0.0.1:$port" >"$WORK/$name.log" 2>&1 &
    STARTED=$!
    PIDS+=("$STARTED")
    local _
    for _ in $(seq 1 100); do
        if curl -fsS --max-time 1 "http://127.0.0.1:$port/health" >/dev/null 2>&1; then
            return 0
        fi
        if ! kill -0 "$STARTED" 2>/dev/null; then
            echo "error: $name exited early:" >&2
            cat "$WORK/$name.log" >&2
            exit 1
        fi
        sleep 0.1
    done
    echo "error: $name did not answer /health on port $port within 10 s" >&2
    cat "$WORK/$name.log" >&2
    exit 1
}

# stop PID : stops one server started by this script.
stop() {
    kill "$1" 2>/dev/null || true
    wait "$1" 2>/dev/null || true
    local keep=() pid
    for pid in "${PIDS[@]+"${PIDS[@]}"}"; do
        [[ $pid == "$1" ]] || keep+=("$pid")
    done
    PIDS=("${keep[@]+"${keep[@]}"}")
}

# signup PORT : creates the first admin and prints the session cookie (name=value).
signup() {
    local port=$1
    local headers="$WORK/signup-$port.headers"
    local status
    status=$(curl -sS --max-time 30 -o "$WORK/signup-$port.body" -D "$headers" \
        -w '%{http_code}' -H 'content-type: application/json' \
        --data '{"email":"a@example.com","password":"correct horse battery"}' \
        "http://127.0.0.1:$port/api/v1/auth/signup")
    if [[ $status != 2* ]]; then
        echo "error: signup on port $port answered $status: $(cat "$WORK/signup-$port.body")" >&2
        exit 1
    fi
    local cookie
    cookie=$(tr -d '\r' <"$headers" | sed -n 's/^[Ss]et-[Cc]ookie: *\([^;]*auth_session=[^;]*\).*/\1/p' | head -n1)
    if [[ -z $cookie ]]; then
        echo "error: no session cookie in the signup response on port $port" >&2
        exit 1
    fi
    printf '%s' "$cookie"
}

# check PORT [CURL ARGS...] : GET /api/hello must answer 200 with the user's JSON.
check() {
    local port=$1
    shift
    local body
    body=$(curl -fsS --max-time 5 "$@" "http://127.0.0.1:$port/api/hello")
    if [[ $body != *'"hello":"a@example.com"'* ]]; then
        echo "error: unexpected /api/hello answer on port $port: $body" >&2
        exit 1
    fi
}

# cpu_busy : busy CPU ticks of the whole machine, all cores (from /proc/stat).
cpu_busy() {
    awk '/^cpu / { print $2 + $3 + $4 + $7 + $8 + $9; exit }' /proc/stat
}

# proc_ticks PID : CPU ticks used so far by process PID, all its threads.
proc_ticks() {
    sed 's/^.*) //' "/proc/$1/stat" | awk '{ print $12 + $13 }'
}

# bench NAME PORT SERVER_PID [WRK ARGS...] : runs wrk once and prints "REQ/S FOREIGN% US/REQ":
# FOREIGN% is the share of the machine's CPU time (all cores) used during the run by anything
# other than the server and wrk (another build, say); US/REQ is the server's CPU time (user +
# system, all threads) per request, in microseconds. Fails on errors or non-2xx answers.
bench() {
    local name=$1 port=$2 server=$3
    shift 3
    local out="$WORK/wrk-$name.txt"
    local busy0 srv0 t0 busy1 srv1 t1 wrk_ticks
    busy0=$(cpu_busy) srv0=$(proc_ticks "$server") t0=$(date +%s%N)
    # DURATION bounds wrk; timeout is a safety net should it hang.
    timeout 120 "${WRK_PIN[@]+"${WRK_PIN[@]}"}" wrk -t"$THREADS" -c"$CONNECTIONS" -d"$DURATION" --latency "$@" \
        "http://127.0.0.1:$port/api/hello" >"$out"
    busy1=$(cpu_busy) srv1=$(proc_ticks "$server") t1=$(date +%s%N)
    # This function runs in a subshell of its own: `times` (run in it, not in a pipeline)
    # reports on line 2 what its children, i.e. wrk, used.
    times >"$WORK/times-$name"
    wrk_ticks=$(sed -n 2p "$WORK/times-$name" | tr 'ms' '  ' |
        awk -v hz="$HZ" '{ print ($1 * 60 + $2 + $3 * 60 + $4) * hz }')
    if [[ -n ${DEBUG:-} ]]; then
        echo "debug $name: machine $((busy1 - busy0)) ticks, server $((srv1 - srv0))," \
            "wrk $wrk_ticks, wall $(((t1 - t0) / 1000000)) ms" >&2
    fi
    cp "$out" "$RESULTS/wrk-$name.txt"
    if grep -qE 'Non-2xx or 3xx responses|Socket errors' "$out"; then
        echo "error: wrk against $name reported errors:" >&2
        cat "$out" >&2
        exit 1
    fi
    local rps requests
    rps=$(awk '/^Requests\/sec:/ { print $2 }' "$out")
    requests=$(awk '/ requests in / { print $1 }' "$out")
    awk -v rps="$rps" -v n="$requests" -v busy=$((busy1 - busy0)) -v srv=$((srv1 - srv0)) \
        -v wrk="$wrk_ticks" -v ns=$((t1 - t0)) -v hz="$HZ" -v cores="$CORES" 'BEGIN {
            total = ns / 1e9 * hz * cores
            foreign = (busy - srv - wrk) / total * 100
            if (foreign < 0) foreign = 0
            printf "%s %.1f %.2f\n", rps, foreign, srv / hz / n * 1e6 }' |
        tee -a "$RESULTS/runs-$name.txt"
}

# measure NAME PORT SERVER_PID [WRK ARGS...] : bench, repeated (up to TRIES times) while another
# process used more than QUIET_MAX % of the machine; prints the `bench` line of the quietest try.
measure() {
    local try result foreign best="" best_foreign=""
    for try in $(seq 1 "$TRIES"); do
        result=$(bench "$@")
        read -r _ foreign _ <<<"$result"
        if [[ -z $best ]] || awk -v f="$foreign" -v b="$best_foreign" 'BEGIN { exit !(f < b) }'; then
            best=$result best_foreign=$foreign
        fi
        if awk -v f="$foreign" -v m="$QUIET_MAX" 'BEGIN { exit !(f <= m) }'; then
            break
        fi
        echo "  $1: ${foreign}% of the CPU went to other processes (> $QUIET_MAX%)," \
            "try $try/$TRIES" >&2
        if [[ $try -lt $TRIES ]]; then sleep "$RETRY_PAUSE"; fi
    done
    printf '%s\n' "$best"
}

# span VALUES... : "MIN-MAX", three decimals.
span() {
    printf '%s\n' "$@" | sort -g | awk 'NR == 1 { lo = $1 } { hi = $1 } END {
        printf "%.3f-%.3f\n", lo, hi }'
}

# median VALUES... : the median (the mean of the middle two for an even count).
median() {
    printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END {
        if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

RESULTS=${RESULTS:-$WORK/results}
mkdir -p "$RESULTS"

echo "machine: $CORES cores; load before: $(cut -d' ' -f1-3 /proc/loadavg);" \
    "servers on CPUs ${SERVER_CPUS:-any}, wrk on CPUs ${WRK_CPUS:-any}" >&2

ROWS=()
port=$BASE_PORT
for fw in axum actix; do
    hello_port=$port
    auth_port=$((port + 1))
    port=$((port + 2))

    start "hello_$fw" "$hello_port" "$BIN/examples/hello_$fw"
    hello_pid=$STARTED
    db="$WORK/$fw.db"
    start "$fw-app" "$auth_port" env AUTH_DATABASE_URL="sqlite://$db" RUST_LOG=warn \
        "$BIN/$fw-app"
    auth_pid=$STARTED

    cookie=$(signup "$auth_port")
    check "$hello_port"
    check "$auth_port" -H "cookie: $cookie"

    hello_all=() auth_all=() hc_all=() hus_all=() aus_all=() hcus_all=() noise=0
    ratio_all=() hcratio_all=()
    for round in $(seq 1 "$ROUNDS"); do
        echo "$fw round $round/$ROUNDS: wrk -t$THREADS -c$CONNECTIONS -d$DURATION (hello, then auth)" >&2
        result=$(measure "hello_$fw-$round" "$hello_port" "$hello_pid")
        read -r h hf hus <<<"$result"
        result=$(measure "$fw-app-$round" "$auth_port" "$auth_pid" -H "cookie: $cookie")
        read -r a af aus <<<"$result"
        hello_all+=("$h") auth_all+=("$a") hus_all+=("$hus") aus_all+=("$aus")
        ratio_all+=("$(awk -v h="$h" -v a="$a" 'BEGIN { print a / h }')")
        noise=$(printf '%s\n' "$noise" "$hf" "$af" | sort -g | tail -n1)
        echo "  hello $h req/s, ${hus} us/req (other load ${hf}%);" \
            "auth $a req/s, ${aus} us/req (other load ${af}%)" >&2
        if [[ -n ${COOKIE_BASELINE:-} ]]; then
            result=$(measure "hello_$fw-cookie-$round" "$hello_port" "$hello_pid" \
                -H "cookie: $cookie")
            read -r hc hcf hcus <<<"$result"
            hc_all+=("$hc") hcus_all+=("$hcus")
            hcratio_all+=("$(awk -v h="$hc" -v a="$a" 'BEGIN { print a / h }')")
            noise=$(printf '%s\n' "$noise" "$hcf" | sort -g | tail -n1)
            echo "  hello+cookie $hc req/s, ${hcus} us/req (other load ${hcf}%)" >&2
        fi
    done
    hello_rps=$(median "${hello_all[@]}") hello_us=$(median "${hus_all[@]}")
    auth_rps=$(median "${auth_all[@]}") auth_us=$(median "${aus_all[@]}")
    ratio=$(median "${ratio_all[@]}") range=$(span "${ratio_all[@]}")
    hc_rps=- hc_us=- hc_ratio=-
    if [[ -n ${COOKIE_BASELINE:-} ]]; then
        hc_rps=$(median "${hc_all[@]}") hc_us=$(median "${hcus_all[@]}")
        hc_ratio=$(median "${hcratio_all[@]}")
    fi

    stop "$hello_pid"
    stop "$auth_pid"
    ROWS+=("$fw $hello_rps $auth_rps $ratio $range $hello_us $auth_us $noise $hc_rps $hc_ratio $hc_us")
done

echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)" >&2
header=$(printf '%-9s %12s %12s %7s %13s %12s %12s %11s' framework "hello req/s" "auth req/s" \
    ratio "ratio range" "hello us/req" "auth us/req" "other load")
if [[ -n ${COOKIE_BASELINE:-} ]]; then
    header+=$(printf ' %13s %7s %13s' "hello+cookie" ratio "h+c us/req")
fi
printf '%s\n' "$header"
for row in "${ROWS[@]}"; do
    read -r fw h a r range hus aus n hc hcr hcus <<<"$row"
    awk -v fw="$fw" -v h="$h" -v a="$a" -v r="$r" -v range="$range" -v hus="$hus" -v aus="$aus" \
        -v n="$n" -v hc="$hc" -v hcr="$hcr" -v hcus="$hcus" 'BEGIN {
        printf "%-9s %12.0f %12.0f %7.3f %13s %12.2f %12.2f %10.1f%%", fw, h, a, r, range, hus, aus, n
        if (hc != "-") printf " %13.0f %7.3f %13.2f", hc, hcr, hcus
        printf "\n" }'
done
echo "(req/s and us/req: medians of $ROUNDS run(s); ratio: median over the rounds of auth req/s" \
    "/ hello req/s of the same round (after hello+cookie: auth / hello+cookie); us/req: the" \
    "server's CPU time per request, all threads, user + system;" >&2
echo " other load: the most CPU, as a share of the machine, that processes other than the" \
    "server and wrk used during a counted run)" >&2
