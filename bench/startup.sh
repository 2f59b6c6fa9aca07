#!/usr/bin/env bash
# Start-up: milliseconds from launching bin/moosicbox_lb to the first proxied request answered 200
# (curl polling every 10 ms), for each set of environment variables given, in interleaved rounds
# after one unmeasured round (which also writes an AppCDS archive where one is asked for).
# Installs nothing. Needs nginx (Debian: nginx-light), curl and the built tarball (./dev build).
# Loopback only; every wait bounded.
#
#   bench/startup.sh                                   the start script's defaults, 5 rounds
#   ROUNDS=7 bench/startup.sh "" 'LB_CDS_ARCHIVE=$work/lb.jsa' 'JAVA_OPTS=-Xshare:off'
#
# Each argument is shell assignments, evaluated before the start ($work is a scratch folder).
set -euo pipefail
cd "$(dirname "$0")/.."

ROUNDS=${ROUNDS:-5}
[ $# -gt 0 ] || set -- ""

. bench/common.sh
bench_setup startup "nginx-light curl" nginx curl

# Ports: backend 19701, balancer 19702, its admin 19703.
head -c 1024 /dev/zero | tr '\0' x > "$work/1k"
chmod 755 "$work"; chmod 644 "$work/1k"
cat > "$work/nginx.conf" <<CONF
worker_processes 1;
pid $work/nginx.pid;
error_log $work/error.log;
events { worker_connections 64; }
http { access_log off; server { listen 127.0.0.1:19701; root $work; location / { } } }
CONF
nginx -c "$work/nginx.conf" -g 'daemon off;' & pids+=($!)
for _ in $(seq 1 100); do curl -sf -o /dev/null http://127.0.0.1:19701/1k && break; sleep 0.05; done

# One start: prints the milliseconds to the first 200, then stops the balancer and waits for it.
once() {
  local start end lb
  start=$(date +%s%N)
  (
    [ -z "$1" ] || eval "export $1"
    BIND_ADDRESS=127.0.0.1:19702 ADMIN_BIND_ADDRESS=127.0.0.1:19703 LOG_LEVEL=warn \
    BACKEND_SERVERS=http://127.0.0.1:19701 exec "$LB_HOME/bin/moosicbox_lb" > "$work/lb.log" 2>&1
  ) & lb=$!
  for _ in $(seq 1 3000); do
    curl -sf -o /dev/null http://127.0.0.1:19702/1k && break
    kill -0 "$lb" 2>/dev/null || { echo "startup: the balancer exited" >&2; cat "$work/lb.log" >&2; exit 1; }
    sleep 0.01
  done
  end=$(date +%s%N)
  # CPU time the process used until then, its start script's children included (ticks of 1/100 s):
  # less sensitive than the wall time to other load on the machine.
  cpu=$(awk '{print ($14 + $15 + $16 + $17) * 10}' "/proc/$lb/stat")
  curl -sf -o /dev/null http://127.0.0.1:19702/1k || { echo "startup: no answer within 30 s" >&2; cat "$work/lb.log" >&2; exit 1; }
  kill "$lb"; wait "$lb" || true
  echo "$(((end - start) / 1000000))/$cpu"
}

opts=("$@")
times=()
for round in $(seq 0 "$ROUNDS"); do
  for i in "${!opts[@]}"; do
    t=$(once "${opts[i]}") || exit 1
    [ "$round" = 0 ] || times[i]+="$t "
  done
done

median() { tr ' ' '\n' | grep -v '^$' | sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
echo
echo "| environment | ms to the first proxied 200 (median of $ROUNDS) | CPU ms until then (median) | all rounds (wall/CPU ms) |"
echo "|---|---|---|---|"
for i in "${!opts[@]}"; do
  wall=$(echo "${times[i]}" | tr ' ' '\n' | cut -d/ -f1 | tr '\n' ' ' | median)
  cpu=$(echo "${times[i]}" | tr ' ' '\n' | grep / | cut -d/ -f2 | tr '\n' ' ' | median)
  echo "| ${opts[i]:-(defaults)} | $wall | $cpu | ${times[i]}|"
done
