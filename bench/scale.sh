#!/usr/bin/env bash
# Memory and scale: the built balancer holding 10,000 idle keep-alive client connections and 1,000
# concurrent slow downloads at once, with its default JVM options (bin/moosicbox_lb: -Xmx512m).
# Measures its RSS (ps) before and while both loads are held, and how fast it answers a fresh
# request meanwhile. Installs nothing. Needs: nginx (Debian: nginx-light), curl, ps, and the built
# tarball (./dev build); the client is bench/ScaleClient.java, run by the same Java as the balancer.
# Loopback only; bounded in time (about a minute at the defaults, a hard limit of 8 minutes).
#
#   bench/scale.sh
#   IDLE=2000 SLOW=200 HOLD=10 bench/scale.sh       a smaller run
#   NMT=1 JAVA_OPTS=-XX:NativeMemoryTracking=summary bench/scale.sh    also where the memory goes
#   HISTO=1 bench/scale.sh                          also the live objects (after a full GC)
#   BURST=1 bench/scale.sh                          the idle connections' second requests all at once
#
# Open files: the client and the balancer each need IDLE + SLOW descriptors and more (the balancer
# also one per backend connection). The script raises its soft limit (ulimit -n) up to the hard
# limit; if the hard limit is too low, raise it first (root: ulimit -Hn 65536; Docker: --ulimit
# nofile=65536:65536; systemd: LimitNOFILE=65536).
set -euo pipefail
cd "$(dirname "$0")/.."

IDLE=${IDLE:-10000}
SLOW=${SLOW:-1000}
RATE=${RATE:-16384}   # bytes per second that each slow stream reads
HOLD=${HOLD:-30}      # seconds both loads are held once they are all open
# The proxy listener's connection cap (MAX_CLIENT_CONNECTIONS, default 10000) must allow both loads
# and the fresh requests; IDLE_TIMEOUT (default 60s) must outlast setting up and holding them.
MAX_CONNS=$((IDLE + SLOW + 1000))

. bench/common.sh
bench_setup scale "nginx-light curl procps coreutils" nginx curl ps timeout
. "$LB_HOME/bin/find-java.sh"
lb_find_java || { echo "scale: no Java 21+ found; looked at $LB_JAVA_LOOKED" >&2; exit 1; }

need=$((MAX_CONNS + 2000))
if [ "$(ulimit -n)" != unlimited ] && [ "$(ulimit -n)" -lt "$need" ]; then
  hard=$(ulimit -Hn)
  if [ "$hard" != unlimited ] && [ "$hard" -lt "$need" ]; then
    echo "scale: need $need open files per process, the hard limit is $hard: raise it (see the top of $0)" >&2
    exit 1
  fi
  ulimit -n "$need"
fi


# Ports: backends 19501-19502, balancer 19503, its admin 19603.
head -c 1024 /dev/zero | tr '\0' x > "$work/1k"
# Sparse: each slow stream reads at most RATE * (HOLD + set-up time) of it, plus what socket buffers take.
truncate -s 4G "$work/big"
chmod 755 "$work"; chmod 644 "$work/1k" "$work/big"
for port in 19501 19502; do
  mkdir -p "$work/b$port"
  cat > "$work/b$port/nginx.conf" <<CONF
worker_processes 1;
worker_rlimit_nofile $need;
pid $work/b$port/nginx.pid;
error_log $work/b$port/error.log;
events { worker_connections $need; }
http {
  access_log off;
  keepalive_requests 1000000;
  keepalive_timeout 10m;
  send_timeout 10m;
  server { listen 127.0.0.1:$port; root $work; location / { } }
}
CONF
  nginx -c "$work/b$port/nginx.conf" -g 'daemon off;' & pids+=($!)
done

# The balancer as a user runs it, with its default JVM options; only the connection cap and the
# idle timeout are raised for this load.
BIND_ADDRESS=127.0.0.1:19503 ADMIN_BIND_ADDRESS=127.0.0.1:19603 LOG_LEVEL=warn \
MAX_CLIENT_CONNECTIONS=$MAX_CONNS IDLE_TIMEOUT=10m \
BACKEND_SERVERS="http://127.0.0.1:19501,http://127.0.0.1:19502" \
  "$LB_HOME/bin/moosicbox_lb" > "$work/lb.log" 2>&1 & lb=$!; pids+=($lb)

for _ in $(seq 1 300); do curl -sf -o /dev/null "http://127.0.0.1:19503/1k" && break; sleep 0.1; done
curl -sf -o /dev/null "http://127.0.0.1:19503/1k" || { echo "scale: the balancer did not answer 200" >&2; cat "$work/lb.log" "$work"/b*/error.log >&2; exit 1; }
warm_bad=0
for _ in $(seq 1 200); do curl -sf -o /dev/null "http://127.0.0.1:19503/1k" || warm_bad=$((warm_bad + 1)); done
[ "$warm_bad" = 0 ] || { echo "scale: $warm_bad of 200 warm-up requests failed" >&2; cat "$work/lb.log" >&2; exit 1; }

rss_mb() { ps -o rss= -p "$lb" | awk '{printf "%.0f", $1 / 1024}'; }
threads() { ps -o nlwp= -p "$lb" | tr -d ' '; }
heap() { "$(dirname "$LB_JAVA")/jcmd" "$lb" GC.heap_info 2>/dev/null | sed -n "s/.*committed \([0-9]*\)K, used \([0-9]*\)K.*/\2 \1/p" | awk "{printf \"%.0f of %.0f MB\", \$1 / 1024, \$2 / 1024}" | head -n 1; }
# A fresh request on a new connection while the loads are held: status and total time in ms.
fresh() { curl -s -o /dev/null -w '%{http_code} %{time_total}\n' "http://127.0.0.1:19503/1k" | awk '{printf "%s %.1f\n", $1, $2 * 1000}'; }

rss0=$(rss_mb); threads0=$(threads); heap0=$(heap)
echo "scale: balancer idle after 200 requests: RSS $rss0 MB, $threads0 threads, heap $heap0"

: > "$work/client.log"
timeout 480 "$LB_JAVA" -XX:+UseSerialGC -Xss256k bench/ScaleClient.java 127.0.0.1 19503 "$IDLE" "$SLOW" /1k /big "$RATE" "$HOLD" ${BURST:+burst} \
  > "$work/client.log" 2>&1 & client=$!; pids+=($client)

deadline=$((SECONDS + 330))
until grep -q READY "$work/client.log"; do
  if ! kill -0 "$client" 2>/dev/null || [ $SECONDS -gt $deadline ]; then
    echo "scale: the client did not get its connections open" >&2; cat "$work/client.log" >&2; exit 1
  fi
  sleep 0.5
done
cat "$work/client.log"

# Sample through the hold: RSS, and a fresh request on a new connection each time; near its end a
# snapshot of connections, threads and heap (jcmd), and optionally native memory and the live objects.
peak=0; samples=(); fresh_ms=(); fresh_bad=0
snapshot_at=$((SECONDS + HOLD - 4))
while [ $SECONDS -lt $snapshot_at ]; do
  r=$(rss_mb); samples+=("$r"); [ "$r" -gt "$peak" ] && peak=$r
  read -r code t < <(fresh); fresh_ms+=("$t"); [ "$code" = 200 ] || fresh_bad=$((fresh_bad + 1))
  sleep 2
done
conns=$(ss -Htn state established "( sport = :19503 )" 2>/dev/null | wc -l || echo '?')
threads1=$(threads); heap1=$(heap)
r=$(rss_mb); samples+=("$r"); [ "$r" -gt "$peak" ] && peak=$r
if [ -n "${NMT:-}" ]; then
  "$(dirname "$LB_JAVA")/jcmd" "$lb" VM.native_memory summary | grep -E '^(Total:|-) ' | sed 's/reserved=[0-9]*KB, //' | sed 's/^/scale: /'
fi
if [ -n "${HISTO:-}" ]; then
  # GC.class_histogram runs a full collection first: this is the live set, what 11,000 connections keep.
  "$(dirname "$LB_JAVA")/jcmd" "$lb" GC.class_histogram | head -n 25 | sed 's/^/scale: /'
  echo "scale: after the full collection: heap $(heap), RSS $(rss_mb) MB"
fi
grep -q '^held' "$work/client.log" && echo "scale: warning: the hold ended before the snapshot; make HOLD longer" >&2

client_rc=0; wait "$client" || client_rc=$?
cat "$work/client.log" | sed -n '/^held/,$p'
rss2=$(rss_mb)

sorted=$(printf '%s\n' "${fresh_ms[@]}" | sort -g)
echo
echo "### $IDLE idle keep-alive + $SLOW slow streams ($RATE B/s each), held ${HOLD}s"
echo
echo "| | value |"
echo "|---|---|"
echo "| balancer RSS before the load (after 200 requests) | $rss0 MB |"
echo "| balancer RSS with both loads held (samples) | ${samples[*]} MB |"
echo "| balancer RSS peak while held | **$peak MB** |"
echo "| balancer RSS after a second request on each idle connection | $rss2 MB |"
echo "| Java heap used of committed (before / held) | $heap0 / $heap1 |"
echo "| balancer threads (before / held) | $threads0 / $threads1 |"
echo "| client connections established on the proxy port while held | $conns |"
echo "| fresh requests while held: ms (min / median / max), non-200 | $(echo "$sorted" | head -n 1) / $(echo "$sorted" | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}') / $(echo "$sorted" | tail -n 1), $fresh_bad |"
echo "| client result | $(grep -q '^DONE errors=0' "$work/client.log" && echo 'no errors' || echo "FAILED (exit $client_rc): see the errors above") |"
if [ "$client_rc" != 0 ] || [ "$fresh_bad" != 0 ]; then
  echo; echo "scale: the balancer's log ends:"; tail -n 20 "$work/lb.log"; exit 1
fi
