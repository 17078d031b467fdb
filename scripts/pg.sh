#!/usr/bin/env bash
# A throwaway PostgreSQL cluster on a loopback port, for trying several instances or running the
# guard benchmark on PostgreSQL (the tests start their own, see tests/src/pg.rs).
#   scripts/pg.sh start DIR   initdb in DIR as the unprivileged user pgtest, start it, print the URL
#   scripts/pg.sh stop DIR    stop it by the postmaster's PID and remove DIR
set -euo pipefail
cmd=${1:?usage: scripts/pg.sh start|stop DIR}
dir=${2:?usage: scripts/pg.sh start|stop DIR}
bin=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)
case "$cmd" in
  start)
    id pgtest >/dev/null 2>&1 || useradd --system --user-group --no-create-home pgtest
    mkdir -p "$dir/sock" && chown -R pgtest:pgtest "$dir"
    port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
    runuser -u pgtest -- "$bin/initdb" -D "$dir/data" -U pgtest -A trust -E UTF8 --locale=C -N >/dev/null
    runuser -u pgtest -- "$bin/pg_ctl" -D "$dir/data" -l "$dir/postgres.log" -w \
      -o "-c listen_addresses=127.0.0.1 -p $port -c unix_socket_directories=$dir/sock -c fsync=off" start >/dev/null
    runuser -u pgtest -- "$bin/createdb" -h 127.0.0.1 -p "$port" -U pgtest auth
    echo "postgres://pgtest@127.0.0.1:$port/auth"
    ;;
  stop)
    pid=$(head -1 "$dir/data/postmaster.pid")
    kill -INT "$pid"
    while kill -0 "$pid" 2>/dev/null; do sleep 0.1; done
    rm -rf "$dir"
    ;;
  *) echo "usage: scripts/pg.sh start|stop DIR" >&2; exit 2 ;;
esac
