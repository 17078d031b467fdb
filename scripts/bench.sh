#!/usr/bin/env bash
# The benchmark: what the login layer costs per request, next to its peers, and how it holds a
# login storm. Prints ONE markdown table on stdout (progress on stderr). docs/PERFORMANCE.md
# explains the method and shows one run.
#
# 1. Simultaneous A/B (per framework): both servers of a pair pinned to SERVER_CPU, loaded AT
#    THE SAME TIME by two identical `wrk -t1 -c$CONNECTIONS -d$DURATION` pinned to LOAD_CPU, so
#    machine noise hits both alike. Result: each server's CPU time per request (the first field
#    of /proc/PID/task/*/schedstat, summed over its threads, after - before, divided by the
#    requests wrk counted; any non-2xx answer or socket error fails the run). ROUNDS rounds
#    per pair (each after a WARMUP), the order in which the two loads start alternating; the
#    table gives the median of the per-round ratios B/A and their range. Every request of every
#    server carries a Cookie header of the same length (the longest session cookie, the others
#    padded with a `pad=` cookie; hello gets the padding alone), so the bytes on the wire match.
#    Pairs: hello vs a second hello process (the A/A control: must come out at 1.00 ± 0.02),
#    hello vs hello with a no-op middleware installed like ours (examples/noop_*.rs: the cost
#    of being a layer at all), hello vs our guard (axum-app / actix-app, cookie session,
#    GET /api/hello), hello vs each peer (benches/src/bin/peer-*.rs).
# 2. Login storm (axum-app, actix-app, unpinned): STORM_CONCURRENCY concurrent correct-password
#    logins for STORM_DURATION s (`storm login`), against the argon2 ceiling: cores / the median
#    CPU time of one hash with the server's parameters, sampled DURING the storm on the same
#    cores (`--sample-ms`: one hash every SAMPLE_MS on a thread of the client), so the VM's
#    drift moves ceiling and server alike. The one-thread time alone just before and after is
#    reported beside it. Also: the server's CPU per login and CPU use (utime+stime), peak RSS
#    (VmHWM), /health p99 from a prober on its own connection, errors.
#    The server runs with a bench config (written to the work directory) that lifts exactly
#    the login throttle's limits (loginThrottle.maxFailuresPerAccount/PerClient: 1000000),
#    because its per-account and per-client reservations would refuse a storm from one
#    address and one account by design; everything else is the default.
#
# Usage: scripts/bench.sh > table.md          (from anywhere in the repository)
# Env:   DURATION=10 WARMUP=2 ROUNDS=3 CONNECTIONS=32   A/B wrk settings (seconds)
#        SERVER_CPU=0 LOAD_CPU=1                        taskset CPUs of the servers / of wrk
#        STORM_CONCURRENCY=1000 STORM_DURATION=20 HEALTH_RATE=20 SAMPLE_MS=1000
#        ARGON2_MEMORY_KIB=19456 ARGON2_ITERATIONS=2 ARGON2_PARALLELISM=1  (the defaults)
#        ONLY="axum actix" PARTS="ab storm"             what to run
#        BASE_PORT=3400                                 first of the loopback ports used
#        SKIP_BUILD=1                                   use the release binaries as built
#        CARGO="nice -n 10 cargo"                       how to call cargo; CARGO_TARGET_DIR
#                                                       is honoured for the binaries
#        KEEP=DIR                                       keep the raw outputs there
# Needs: wrk, curl, taskset. Loopback only; every run is bounded by `timeout`; the servers are
# stopped by their PID. Quiet the machine first: the A/A row says whether a run is trustworthy.
set -euo pipefail

cd "$(dirname "$0")/.."
ROOT=$PWD
DURATION=${DURATION:-10}
WARMUP=${WARMUP:-2}
ROUNDS=${ROUNDS:-3}
CONNECTIONS=${CONNECTIONS:-32}
SERVER_CPU=${SERVER_CPU:-0}
LOAD_CPU=${LOAD_CPU:-1}
STORM_CONCURRENCY=${STORM_CONCURRENCY:-1000}
STORM_DURATION=${STORM_DURATION:-20}
HEALTH_RATE=${HEALTH_RATE:-20}
SAMPLE_MS=${SAMPLE_MS:-1000}
ARGON2_MEMORY_KIB=${ARGON2_MEMORY_KIB:-19456}
ARGON2_ITERATIONS=${ARGON2_ITERATIONS:-2}
ARGON2_PARALLELISM=${ARGON2_PARALLELISM:-1}
ONLY=${ONLY:-axum actix}
PARTS=${PARTS:-ab storm}
BASE_PORT=${BASE_PORT:-3400}
CARGO=${CARGO:-nice -n 10 cargo}
BIN=${CARGO_TARGET_DIR:-$ROOT/target}/release
CORES=$(nproc)
EMAIL=a@example.com
PASSWORD='correct horse battery'

for tool in wrk curl taskset timeout; do
    command -v "$tool" >/dev/null || { echo "error: $tool is not installed" >&2; exit 1; }
done

if [[ -z ${SKIP_BUILD:-} ]]; then
    echo "building release binaries (niced)..." >&2
    # Two invocations: the peers' dependencies enable more actix-web/axum features (cookies),
    # which must not leak into the example servers through feature unification.
    $CARGO build --release -p auth-examples --bins --examples >&2
    $CARGO build --release -p auth-benches --bins >&2
fi

WORK=$(mktemp -d "${TMPDIR:-/tmp}/auth-bench.XXXXXX")
PIDS=()
cleanup() {
    local pid
    for pid in "${PIDS[@]+"${PIDS[@]}"}"; do kill "$pid" 2>/dev/null || true; done
    for pid in "${PIDS[@]+"${PIDS[@]}"}"; do wait "$pid" 2>/dev/null || true; done
    if [[ -n ${KEEP:-} ]]; then mkdir -p "$KEEP" && cp -R "$WORK"/. "$KEEP"/; fi
    rm -rf "$WORK"
}
trap cleanup EXIT

die() { echo "error: $*" >&2; exit 1; }

# start NAME PORT CPUS CMD... : starts a server (pinned to CPUS unless "-"), sets $STARTED.
start() {
    local name=$1 port=$2 cpus=$3
    shift 3
    if curl -fsS --max-time 1 "http://127.0.0.1:$port/health" >/dev/null 2>&1; then
        die "something already answers on port $port (set BASE_PORT)"
    fi
    local pin=()
    [[ $cpus == - ]] || pin=(taskset -c "$cpus")
    "${pin[@]+"${pin[@]}"}" "$@" --listen "127.0.0.1:$port" >"$WORK/$name.log" 2>&1 &
    STARTED=$!
    PIDS+=("$STARTED")
    local _
    for _ in $(seq 1 150); do
        curl -fsS --max-time 1 "http://127.0.0.1:$port/health" >/dev/null 2>&1 && return 0
        kill -0 "$STARTED" 2>/dev/null || { cat "$WORK/$name.log" >&2; die "$name exited early"; }
        sleep 0.1
    done
    cat "$WORK/$name.log" >&2
    die "$name did not answer /health on port $port within 15 s"
}

# stop PID : stops one server started here.
stop() {
    kill "$1" 2>/dev/null || true
    wait "$1" 2>/dev/null || true
    local keep=() pid
    for pid in "${PIDS[@]+"${PIDS[@]}"}"; do [[ $pid == "$1" ]] || keep+=("$pid"); done
    PIDS=("${keep[@]+"${keep[@]}"}")
}

# post_cookie PORT PATH : POSTs the bench credentials, prints the first cookie set (name=value).
post_cookie() {
    local port=$1 path=$2 status cookie
    status=$(curl -sS --max-time 30 -o "$WORK/post-$port.body" -D "$WORK/post-$port.headers" \
        -w '%{http_code}' -H 'content-type: application/json' \
        --data "{\"email\":\"$EMAIL\",\"password\":\"$PASSWORD\"}" "http://127.0.0.1:$port$path")
    [[ $status == 2* ]] || die "POST $path on port $port answered $status: $(cat "$WORK/post-$port.body")"
    cookie=$(tr -d '\r' <"$WORK/post-$port.headers" |
        sed -n 's/^[Ss]et-[Cc]ookie: *\([^;]*\).*/\1/p' | grep -v '^auth_device=' | head -n1)
    [[ -n $cookie ]] || die "no cookie in the answer to POST $path on port $port"
    printf '%s' "$cookie"
}

# check PORT COOKIE : /api/hello answers the user's JSON with the cookie and 401 without.
check() {
    local port=$1 cookie=$2 body status
    body=$(curl -fsS --max-time 5 -H "cookie: $cookie" "http://127.0.0.1:$port/api/hello") ||
        die "GET /api/hello with the cookie failed on port $port"
    [[ $body == *"\"hello\":\"$EMAIL\""* ]] || die "unexpected /api/hello answer on port $port: $body"
    status=$(curl -sS --max-time 5 -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port/api/hello")
    [[ $status == 401 ]] || die "GET /api/hello without a cookie answered $status on port $port (want 401)"
}

# pad COOKIE LEN : COOKIE (may be empty) with a `pad=` cookie appended to reach LEN bytes.
pad() {
    local cookie=$1 len=$2 sep="; pad=" fill
    [[ -n $cookie ]] || sep="pad="
    local n=$((len - ${#cookie} - ${#sep}))
    if ((n < 1)); then printf '%s' "$cookie"; return; fi
    fill=$(head -c "$n" /dev/zero | tr '\0' x)
    printf '%s%s%s' "$cookie" "$sep" "$fill"
}

# cpu_ns PID : nanoseconds on CPU so far, all threads of PID (schedstat's first field).
cpu_ns() {
    cat /proc/"$1"/task/*/schedstat 2>/dev/null | awk '{ s += $1 } END { printf "%.0f\n", s }'
}

# wrk_run OUT PORT COOKIE SECONDS : one wrk on LOAD_CPU, in the background; sets $WRK_PID.
wrk_run() {
    timeout $(($4 + 30)) taskset -c "$LOAD_CPU" wrk -t1 -c"$CONNECTIONS" -d"$4s" \
        -H "cookie: $3" "http://127.0.0.1:$2/api/hello" >"$1" 2>&1 &
    WRK_PID=$!
}

# requests OUT : the requests wrk counted; fails on errors or non-2xx answers.
requests() {
    if grep -qE 'Non-2xx or 3xx responses|Socket errors' "$1"; then
        cat "$1" >&2
        die "wrk reported errors ($1)"
    fi
    awk '/ requests in / { print $1 }' "$1"
}

# median VALUES... / span VALUES...
median() {
    printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END {
        if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}
span() { printf '%s\n' "$@" | sort -g | awk 'NR == 1 { lo = $1 } { hi = $1 } END { printf "%.3f–%.3f", lo, hi }'; }

# pair FW LABEL NAME_A PID_A PORT_A COOKIE_A NAME_B PID_B PORT_B COOKIE_B : the simultaneous A/B
# rounds; appends "FW LABEL A_US B_US RATIO RANGE A_RPS B_RPS" to $WORK/ab.txt.
pair() {
    local fw=$1 label=$2 na=$3 pa=$4 porta=$5 ca=$6 nb=$7 pb=$8 portb=$9 cb=${10}
    local ratios=() aus=() bus=() arps=() brps=() round a0 b0 a1 b1 ra rb wa wb
    for round in $(seq 1 "$ROUNDS"); do
        # Warm-up: both at once, not counted.
        wrk_run "$WORK/warm-a.txt" "$porta" "$ca" "$WARMUP"; wa=$WRK_PID
        wrk_run "$WORK/warm-b.txt" "$portb" "$cb" "$WARMUP"; wb=$WRK_PID
        wait "$wa" "$wb" || die "warm-up wrk failed ($label)"
        local out_a="$WORK/wrk-$fw-$label-$round-a.txt" out_b="$WORK/wrk-$fw-$label-$round-b.txt"
        a0=$(cpu_ns "$pa") b0=$(cpu_ns "$pb")
        if ((round % 2)); then
            wrk_run "$out_a" "$porta" "$ca" "$DURATION"; wa=$WRK_PID
            wrk_run "$out_b" "$portb" "$cb" "$DURATION"; wb=$WRK_PID
        else
            wrk_run "$out_b" "$portb" "$cb" "$DURATION"; wb=$WRK_PID
            wrk_run "$out_a" "$porta" "$ca" "$DURATION"; wa=$WRK_PID
        fi
        wait "$wa" || die "wrk against $na failed"
        wait "$wb" || die "wrk against $nb failed"
        a1=$(cpu_ns "$pa") b1=$(cpu_ns "$pb")
        ra=$(requests "$out_a") rb=$(requests "$out_b")
        local ua ub r
        ua=$(awk -v d=$((a1 - a0)) -v n="$ra" 'BEGIN { printf "%.4f", d / n / 1000 }')
        ub=$(awk -v d=$((b1 - b0)) -v n="$rb" 'BEGIN { printf "%.4f", d / n / 1000 }')
        r=$(awk -v a="$ua" -v b="$ub" 'BEGIN { printf "%.4f", b / a }')
        aus+=("$ua") bus+=("$ub") ratios+=("$r")
        arps+=("$(awk -v n="$ra" -v d="$DURATION" 'BEGIN { printf "%.0f", n / d }')")
        brps+=("$(awk -v n="$rb" -v d="$DURATION" 'BEGIN { printf "%.0f", n / d }')")
        echo "  $fw $label round $round/$ROUNDS: $na $ua us/req ($ra req), $nb $ub us/req ($rb req), B/A $r" >&2
    done
    echo "$fw $label $(median "${aus[@]}") $(median "${bus[@]}") $(median "${ratios[@]}") $(span "${ratios[@]}") $(median "${arps[@]}") $(median "${brps[@]}")" >>"$WORK/ab.txt"
}

# ab FW : all the pairs of one framework.
ab() {
    local fw=$1 port=$BASE_PORT servers=() names=() ports=() pids=() cookies=()
    [[ $fw == actix ]] && port=$((BASE_PORT + 10))
    local hello=$BIN/examples/hello_$fw
    # name, binary, how to get its cookie
    local specs=("hello:$hello:" "hello2:$hello:" "noop:$BIN/examples/noop_$fw:" "guard:$BIN/$fw-app:signup")
    if [[ $fw == axum ]]; then
        specs+=("axum-login:$BIN/peer-axum-login:login" "jsonwebtoken:$BIN/peer-axum-jwt:login"
            "hand-hs256:$BIN/peer-axum-hs256:login")
    else
        specs+=("actix-identity:$BIN/peer-actix-identity:login" "jsonwebtoken:$BIN/peer-actix-jwt:login")
    fi
    local spec name bin how i=0
    for spec in "${specs[@]}"; do
        IFS=: read -r name bin how <<<"$spec"
        if [[ $name == guard ]]; then
            start "$fw-$name" "$port" "$SERVER_CPU" env -u AUTH_CONFIG AUTH_DATABASE_URL="sqlite://$WORK/$fw-ab.db" \
                RUST_LOG=warn "$bin"
        else
            start "$fw-$name" "$port" "$SERVER_CPU" "$bin"
        fi
        names+=("$name") ports+=("$port") pids+=("$STARTED")
        case $how in
            signup) cookies+=("$(post_cookie "$port" /api/v1/auth/signup)") ;;
            login) cookies+=("$(post_cookie "$port" /login)") ;;
            *) cookies+=("") ;;
        esac
        [[ -z $how ]] || check "$port" "${cookies[$i]}"
        port=$((port + 1)) i=$((i + 1))
    done
    local longest=0 c
    for c in "${cookies[@]}"; do ((${#c} > longest)) && longest=${#c}; done
    for i in "${!cookies[@]}"; do cookies[i]=$(pad "${cookies[$i]}" "$longest"); done
    echo "$fw: every request carries a $longest-byte Cookie header" >&2
    echo "$fw cookie_bytes $longest" >>"$WORK/meta.txt"
    for i in "${!names[@]}"; do
        [[ $i == 0 ]] && continue
        local label=${names[$i]}
        [[ $label == hello2 ]] && label=hello
        pair "$fw" "$label" hello "${pids[0]}" "${ports[0]}" "${cookies[0]}" \
            "${names[$i]}" "${pids[$i]}" "${ports[$i]}" "${cookies[$i]}"
    done
    for i in "${!pids[@]}"; do stop "${pids[$i]}"; done
}

# storm FW : the login storm against FW-app; appends a line to $WORK/storm.txt.
storm() {
    local fw=$1 port=$((BASE_PORT + 20))
    [[ $fw == actix ]] && port=$((BASE_PORT + 21))
    local config="$WORK/storm.yaml"
    cat >"$config" <<EOF
# Bench config: the defaults, except the login throttle's limits (a storm of correct
# logins from one address for one account is exactly what they refuse). The argon2 parameters
# and the hashing concurrency are spelled out so the ceiling is computed with the same ones.
basicAuth:
  argon2:
    memoryKib: $ARGON2_MEMORY_KIB
    iterations: $ARGON2_ITERATIONS
    parallelism: $ARGON2_PARALLELISM
  maxConcurrentHashes: $CORES
loginThrottle:
  maxFailuresPerAccount: 1000000
  maxFailuresPerClient: 1000000
EOF
    start "$fw-storm" "$port" - env AUTH_DATABASE_URL="sqlite://$WORK/$fw-storm.db" RUST_LOG=warn \
        "$BIN/$fw-app" --config "$config"
    local pid=$STARTED
    post_cookie "$port" /api/v1/auth/signup >/dev/null
    local argon=(--memory-kib "$ARGON2_MEMORY_KIB" --iterations "$ARGON2_ITERATIONS" --parallelism "$ARGON2_PARALLELISM")
    # One hash's wall time on one thread with the machine otherwise idle, before and after: for
    # comparison only (this VM's speed drifts over tens of seconds; the ceiling is sampled).
    hash_time() {
        timeout 300 "$BIN/storm" hash "${argon[@]}" --count 25 --password "$PASSWORD" | awk '$1 == "hash_ms" { print $2 }'
    }
    local h1 h2
    h1=$(hash_time)
    local rss0 ticks0 ticks1 hz
    rss0=$(awk '/^VmRSS:/ { print $2 }' "/proc/$pid/status")
    hz=$(getconf CLK_TCK)
    # utime + stime of the whole process (exited threads included, unlike task/*/schedstat).
    ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }
    ticks0=$(ticks "$pid")
    echo "$fw storm: $STORM_CONCURRENCY concurrent logins for ${STORM_DURATION}s..." >&2
    local status=0
    timeout $((STORM_DURATION + 200)) "$BIN/storm" login --addr "127.0.0.1:$port" --concurrency "$STORM_CONCURRENCY" \
        --duration "$STORM_DURATION" --health-rate "$HEALTH_RATE" --timeout 150 --email "$EMAIL" \
        --password "$PASSWORD" --sample-ms "$SAMPLE_MS" "${argon[@]}" \
        >"$WORK/storm-$fw.txt" 2>"$WORK/storm-$fw.err" || status=$?
    cat "$WORK/storm-$fw.err" >&2
    ticks1=$(ticks "$pid")
    local hwm
    hwm=$(awk '/^VmHWM:/ { print $2 }' "/proc/$pid/status")
    stop "$pid"
    h2=$(hash_time)
    get() { awk -v k="$1" '$1 == k { print $2 }' "$WORK/storm-$fw.txt"; }
    [[ -n $(get logins_ok) && -n $(get sample_hash_cpu_ms) ]] || die "the storm client failed (exit $status)"
    local server_s
    server_s=$(awk -v a="$ticks0" -v b="$ticks1" -v hz="$hz" 'BEGIN { printf "%.2f", (b - a) / hz }')
    echo "$fw storm: one hash alone $h1 / $h2 ms before / after; during the storm $(get sample_hash_cpu_ms) ms CPU ($(get samples) samples); server CPU ${server_s} s" >&2
    echo "$fw $(get sample_hash_cpu_ms) $(get sample_hash_cpu_min_ms) $(get sample_hash_cpu_max_ms) $(get samples) $(get sampler_cpu_s) $h1 $h2 $server_s $(get logins_per_s) $(get logins_ok) $(get login_errors) $(get health_p99_ms) $(get health_count) $(get health_errors) $hwm $rss0 $(get login_p50_ms) $(get elapsed_s)" >>"$WORK/storm.txt"
}

echo "machine: $CORES CPUs, $(uname -r); load before: $(cut -d' ' -f1-3 /proc/loadavg)" >&2
: >"$WORK/ab.txt"
: >"$WORK/storm.txt"
: >"$WORK/meta.txt"
for fw in $ONLY; do
    [[ " $PARTS " == *" ab "* ]] && ab "$fw"
done
for fw in $ONLY; do
    [[ " $PARTS " == *" storm "* ]] && storm "$fw"
done
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)" >&2

# The table.
yes_no() { awk -v c="$1" 'BEGIN { print (c ? "**met**" : "**missed**") }'; }
echo "| framework | measurement | result | detail | target | |"
echo "|---|---|---:|---|---|---|"
for fw in $ONLY; do
    hello_us="" noop_ratio="" noop_over=""
    while read -r f label aus bus ratio range arps brps; do
        [[ $f == "$fw" ]] || continue
        over=$(awk -v a="$aus" -v b="$bus" 'BEGIN { printf "%+.2f", b - a }')
        detail="hello $(printf '%.2f' "$aus") → $(printf '%.2f' "$bus") µs/req (${over} µs); B/A $(printf '%.3f' "$ratio") (rounds ${range}); $arps / $brps req/s"
        case $label in
            hello)
                ok=$(awk -v r="$ratio" 'BEGIN { print (r >= 0.98 && r <= 1.02) }')
                echo "| $fw | A/A control: hello vs hello | $(printf '%.3f' "$ratio") | $detail | 1.00 ± 0.02 | $(yes_no "$ok") |" ;;
            noop)
                noop_over=$over noop_ratio=$ratio
                rel=$(awk -v r="$ratio" 'BEGIN { printf "%.3f", 1 / r }')
                echo "| $fw | no-op layer (hello + a middleware that does nothing, installed the same way) vs hello | $rel of hello | $detail | | |" ;;
            guard)
                guard_over=$over
                rel=$(awk -v r="$ratio" 'BEGIN { printf "%.3f", 1 / r }')
                ok=$(awk -v r="$rel" 'BEGIN { print (r >= 0.95) }')
                echo "| $fw | **guard** ($fw-app, cookie session) vs hello | $rel of hello | $detail | ≥ 0.95 | $(yes_no "$ok") |"
                if [[ -n ${noop_ratio:-} ]]; then
                    own=$(awk -v g="$ratio" -v n="$noop_ratio" 'BEGIN { printf "%.3f", n / g }')
                    own_us=$(awk -v g="$guard_over" -v n="$noop_over" 'BEGIN { printf "%+.2f", g - n }')
                    echo "| $fw | guard vs the no-op layer | $own of the no-op layer | the guard's ${guard_over} µs/req over hello minus the layer's ${noop_over}: ${own_us} µs/req of its own | | |"
                fi ;;
            *)
                rel=$(awk -v r="$ratio" 'BEGIN { printf "%.3f", 1 / r }')
                echo "| $fw | $label vs hello | $rel of hello | $detail | | |"
                peer_over=$over
                if [[ $label == axum-login ]]; then
                    x=$(awk -v g="$guard_over" -v p="$peer_over" 'BEGIN { if (g <= 0.01) g = 0.01; printf "%.1f", p / g }')
                    ok=$(awk -v x="$x" 'BEGIN { print (x >= 5) }')
                    echo "| $fw | guard's overhead vs axum-login's | ${x}× cheaper | ${guard_over} vs ${peer_over} µs/req over hello (guard's floored at 0.01) | ≥ 5× | $(yes_no "$ok") |"
                fi ;;
        esac
    done <"$WORK/ab.txt"
    while read -r f hash hmin hmax nsamples sampler_s h1 h2 server_s lps ok errors hp99 hcount herrors hwm rss0 lp50 elapsed; do
        [[ $f == "$fw" ]] || continue
        ceiling=$(awk -v c="$CORES" -v h="$hash" 'BEGIN { printf "%.1f", c * 1000 / h }')
        share=$(awk -v l="$lps" -v c="$ceiling" 'BEGIN { printf "%.0f", l / c * 100 }')
        per_login=$(awk -v s="$server_s" -v n="$ok" 'BEGIN { printf "%.2f", s * 1000 / n }')
        busy=$(awk -v s="$server_s" -v e="$elapsed" -v c="$CORES" 'BEGIN { printf "%.0f", s / (e * c) * 100 }')
        taken=$(awk -v s="$sampler_s" -v e="$elapsed" -v c="$CORES" 'BEGIN { printf "%.1f", s / (e * c) * 100 }')
        bound=$(awk -v n="$CORES" -v m="$ARGON2_MEMORY_KIB" 'BEGIN { printf "%.0f", (n * m) / 1024 + 64 }')
        peak=$(awk -v k="$hwm" 'BEGIN { printf "%.0f", k / 1024 }')
        idle=$(awk -v k="$rss0" 'BEGIN { printf "%.0f", k / 1024 }')
        echo "| $fw | login storm: throughput | $lps logins/s = ${share} % of ceiling | $ok logins in ${elapsed} s ($STORM_CONCURRENCY concurrent, ${STORM_DURATION} s + drain; median login ${lp50} ms); ceiling $CORES cores ÷ $hash ms = $ceiling/s (median CPU time of one hash, $nsamples samples during the storm: $hmin–$hmax ms; alone before / after: $h1 / $h2 ms wall); server CPU $per_login ms per login, busy ${busy} % of $CORES cores; the sampler took ${taken} % | ≥ 90 % | $(yes_no "$(awk -v s="$share" 'BEGIN { print (s >= 90) }')") |"
        echo "| $fw | login storm: peak RSS | $peak MiB | VmHWM; $idle MiB before the storm; bound = $CORES hashes × $ARGON2_MEMORY_KIB KiB + 64 MiB | ≤ $bound MiB | $(yes_no "$(awk -v p="$peak" -v b="$bound" 'BEGIN { print (p <= b) }')") |"
        echo "| $fw | login storm: /health p99 | $hp99 ms | $hcount probes at $HEALTH_RATE/s, $herrors failed | < 10 ms | $(yes_no "$(awk -v p="$hp99" -v e="$herrors" 'BEGIN { print (p < 10 && e == 0) }')") |"
        echo "| $fw | login storm: errors | $errors | non-200 answers, transport errors, timeouts | 0 | $(yes_no "$(awk -v e="$errors" 'BEGIN { print (e == 0) }')") |"
    done <"$WORK/storm.txt"
done
