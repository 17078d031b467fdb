#!/usr/bin/env bash
# The fuzz targets of fuzz/ (cargo-fuzz, libFuzzer, AddressSanitizer); see docs/FUZZING.md.
#
#   scripts/fuzz.sh build                  build every target (target/fuzz)
#   scripts/fuzz.sh smoke [SECONDS]        every target for SECONDS (default 5) from its seeds;
#                                          fails on any finding (CI runs this)
#   scripts/fuzz.sh run TARGET CPU_MIN     one target until its process has used CPU_MIN minutes
#                                          of CPU (not wall time: a busy machine only makes it
#                                          take longer); corpus in fuzz/corpus/TARGET, findings
#                                          in fuzz/artifacts/TARGET (crash-, timeout-, oom-,
#                                          leak-; a slow-unit- file only says a unit took over
#                                          10 s of wall time, e.g. while the fuzzer was paused),
#                                          log in fuzz/logs/TARGET.log
#   scripts/fuzz.sh coverage TARGET        replays fuzz/corpus/TARGET and the seeds and prints
#                                          the edge coverage of auth-core's functions that the
#                                          corpus reaches (libFuzzer -print_coverage; needs
#                                          llvm-symbolizer: Debian's llvm-14)
#   scripts/fuzz.sh report                 one markdown row per target, its `run`s added up:
#                                          CPU time, executions, corpus, coverage, findings
#   scripts/fuzz.sh list                   the targets
#
# The machine's one toolchain is stable: RUSTC_BOOTSTRAP=1 lets it take the nightly-only
# sanitizer flags cargo fuzz passes (-Zsanitizer=address, -Cpasses=sancov-module).
# Env: FUZZ_PID_DIR=DIR  write each running fuzzer's PID to DIR/TARGET.pid (to pause it).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
export RUSTC_BOOTSTRAP=1
TARGET_DIR=$ROOT/target/fuzz
BIN=$TARGET_DIR/x86_64-unknown-linux-gnu/release

targets() { sed -n 's/^name = "\([a-z_]*\)"$/\1/p' fuzz/Cargo.toml | grep -v '^auth-fuzz$'; }

# Per-target input size limits: a token or a header set is small, a config file larger.
max_len() {
    case $1 in
        config) echo 16384 ;;
        bodies | logout_token | oidc_callback | guard | headers) echo 8192 ;;
        *) echo 4096 ;;
    esac
}

ensure_cargo_fuzz() {
    if ! cargo fuzz --version >/dev/null 2>&1; then
        echo "fuzz.sh: installing cargo-fuzz 0.13.2 (crates.io)" >&2
        cargo install cargo-fuzz --version 0.13.2 --locked >&2
    fi
}

build() {
    ensure_cargo_fuzz
    cargo fuzz build --target-dir "$TARGET_DIR" >&2
}

# libFuzzer's flags for every run.
flags() {
    echo "-max_len=$(max_len "$1") -timeout=10 -rss_limit_mb=4096 -print_final_stats=1"
}

cmd=${1:-}
case $cmd in
    list) targets ;;
    build) build ;;
    smoke)
        secs=${2:-5}
        build
        failed=()
        for t in $(targets); do
            work=$(mktemp -d "${TMPDIR:-/tmp}/fuzz-smoke-$t.XXXXXX")
            mkdir -p "$work/corpus" "$work/artifacts"
            cp fuzz/seeds/"$t"/* "$work/corpus/"
            echo "-- $t (${secs}s)" >&2
            # shellcheck disable=SC2046
            if ! timeout --kill-after=10s $((secs + 60)) "$BIN/$t" $(flags "$t") -max_total_time="$secs" \
                -artifact_prefix="$work/artifacts/" "$work/corpus" >"$work/log" 2>&1; then
                failed+=("$t")
                tail -40 "$work/log" >&2
            else
                grep -E '^stat::number_of_executed_units|^Done' "$work/log" | tr '\n' ' ' >&2
                echo >&2
            fi
            rm -rf "$work"
        done
        if ((${#failed[@]})); then
            echo "fuzz smoke: findings in ${failed[*]}" >&2
            exit 1
        fi
        echo "fuzz smoke: $(targets | wc -l) targets, no findings" >&2
        ;;
    run)
        t=${2:?target}
        cpu_min=${3:?CPU minutes}
        [[ -x $BIN/$t ]] || build
        mkdir -p fuzz/corpus/"$t" fuzz/artifacts/"$t" fuzz/logs
        log=fuzz/logs/$t.log
        hz=$(getconf CLK_TCK)
        budget=$((cpu_min * 60 * hz))
        # shellcheck disable=SC2046
        "$BIN/$t" $(flags "$t") -artifact_prefix=fuzz/artifacts/"$t"/ fuzz/corpus/"$t" fuzz/seeds/"$t" \
            >"$log" 2>&1 &
        pid=$!
        if [[ -n ${FUZZ_PID_DIR:-} ]]; then echo "$pid" >"$FUZZ_PID_DIR/$t.pid"; fi
        started=$(date +%s) used=0
        while kill -0 "$pid" 2>/dev/null; do
            # utime + stime of the fuzzer and its threads (fields 14, 15 of /proc/PID/stat).
            used=$(awk '{print $14 + $15}' /proc/"$pid"/stat 2>/dev/null || echo 0)
            if ((used >= budget)); then
                kill -INT "$pid"
                break
            fi
            sleep 5
        done
        rc=0
        wait "$pid" || rc=$?
        if [[ -n ${FUZZ_PID_DIR:-} ]]; then rm -f "$FUZZ_PID_DIR/$t.pid"; fi
        execs=$(grep -a -E '^#[0-9]+' "$log" | tail -1 | sed -n 's/^#\([0-9]*\).*/\1/p')
        # One line per run in fuzz/logs/TARGET.runs: `report` adds the runs of a target up.
        echo "fuzz run $t: exit $rc, $((used / hz)) CPU-s in $(($(date +%s) - started)) s, ${execs:-0} execs," \
            "corpus $(find fuzz/corpus/"$t" -type f | wc -l) files," \
            "findings $(find fuzz/artifacts/"$t" -type f ! -name 'slow-unit-*' | wc -l)" | tee -a "$log" fuzz/logs/"$t".runs >&2
        grep -E '^#[0-9]+.*(DONE|INITED)|^stat::' "$log" | tail -8 >&2 || true
        ;;
    report)
        echo "| target | CPU time | executions | exec per CPU-s | corpus (files, size) | cov / ft | auth-core edges | findings |"
        echo "|---|---:|---:|---:|---:|---:|---:|---:|"
        for t in $(targets); do
            log=fuzz/logs/$t.log
            [[ -f $log ]] || continue
            runs=fuzz/logs/$t.runs
            [[ -f $runs ]] || continue
            cpu=$(sed -n 's/.*exit [0-9]*, \([0-9]*\) CPU-s.*/\1/p' "$runs" | awk '{s += $1} END {print s + 0}')
            execs=$(sed -n 's/.* \([0-9]*\) execs,.*/\1/p' "$runs" | awk '{s += $1} END {print s + 0}')
            last=$(grep -a -E '^#[0-9]+' "$log" | tail -1)
            cov=$(sed -n 's/.* cov: \([0-9]*\) ft: \([0-9]*\).*/\1 \/ \2/p' <<<"$last")
            files=$(find fuzz/corpus/"$t" -type f | wc -l)
            size=$(du -sk fuzz/corpus/"$t" | cut -f1)
            edges=$("$0" coverage "$t" 2>/dev/null | sed -n 's/.*, \([0-9]* of their [0-9]* edges covered ([0-9]* %)\)/\1/p')
            found=$(find fuzz/artifacts/"$t" -type f ! -name 'slow-unit-*' | wc -l)
            printf '| `%s` | %d min %02d s | %s | %s | %s, %s KiB | %s | %s | %s |\n' "$t" $((cpu / 60)) $((cpu % 60)) \
                "$execs" $((execs / (cpu > 0 ? cpu : 1))) "$files" "$size" "$cov" "$edges" "$found"
        done
        ;;
    coverage)
        t=${2:?target}
        [[ -x $BIN/$t ]] || build
        command -v llvm-symbolizer >/dev/null || { echo "fuzz.sh: coverage needs llvm-symbolizer (apt-get install llvm-14)" >&2; exit 1; }
        dirs=(fuzz/seeds/"$t")
        [[ -d fuzz/corpus/$t ]] && dirs=(fuzz/corpus/"$t" "${dirs[@]}")
        # shellcheck disable=SC2046
        "$BIN/$t" $(flags "$t") -runs=0 -print_coverage=1 "${dirs[@]}" 2>&1 |
            awk -v t="$t" '
                /^COVERED_FUNC: / && / \/.*auth-core\/src\// {
                    split($5, e, "/"); covered += e[1]; total += e[2]; funcs++
                    file = $NF; sub(/:[0-9]+$/, "", file); sub(/.*auth-core\/src\//, "", file); files[file] = 1
                }
                END {
                    n = 0; for (f in files) n++
                    printf "%s: %d auth-core functions reached (in %d files), %d of their %d edges covered (%.0f %%)\n",
                        t, funcs, n, covered, total, total ? 100 * covered / total : 0
                }'
        ;;
    *)
        sed -n '2,20p' "$0" >&2
        exit 2
        ;;
esac
