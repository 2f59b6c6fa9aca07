#!/usr/bin/env bash
# Side-by-side A/B of balancer settings on a machine whose speed drifts: every variant runs at
# once (each on its own ports), and each round measures HAProxy and then every variant in turn,
# so each ratio compares neighbours in time. Installs nothing. Needs: nginx, haproxy, wrk, curl
# (Debian: nginx-light haproxy wrk curl), and the built tarball (./dev build). Loopback only.
#
#   bench/compare.sh 'g1|' 'parallel|-XX:+UseParallelGC'
#   bench/compare.sh 'one selector|-XX:ActiveProcessorCount=1' 'default|'
#   bench/compare.sh 'log|' 'no log||ACCESS_LOG=off'
#
#   bench/compare.sh 'before|||/tmp/old/moosicbox-lb-0.1.0' 'after|'   (two builds: an unpacked tarball each)
#
# Each argument is LABEL|JAVA_OPTS|ENV=VALUE...|HOME (ENV entries separated by spaces; HOME an
# unpacked tarball, the one ./dev build made when empty). Every variant
# gets metrics on and the access log to a file unless its ENV says otherwise. Prints each round
# (req/s, p50, p99, the balancer's CPU per request, the machine's idle share, the ratio to HAProxy) and
# the mean ratio of each variant, and any answer that was not a 2xx (from each variant's access log).
set -euo pipefail
cd "$(dirname "$0")/.."

ROUNDS=${ROUNDS:-4}
DURATION=${DURATION:-6}
WARMUP=${WARMUP:-20}
CONNS=${CONNS:-64}
[ $# -ge 1 ] || { sed -n '2,15p' "$0" >&2; exit 2; }

. bench/common.sh
bench_setup compare "nginx-light haproxy wrk curl" nginx haproxy wrk curl bc

# Ports: backends 19101-19102, HAProxy 19201, variants 19211.., their admin 19411..
head -c 1024 /dev/urandom | base64 -w0 | head -c 1024 > "$work/1k"
chmod 644 "$work/1k"
bench_backends
bench_haproxy

labels=(); ports=(); lb_pids=()
i=0
for spec in "$@"; do
  IFS='|' read -r label java_opts envs home <<< "$spec"
  port=$((19211 + i))
  # shellcheck disable=SC2086
  env JAVA_OPTS="$java_opts" BIND_ADDRESS=127.0.0.1:$port ADMIN_BIND_ADDRESS=127.0.0.1:$((19411 + i)) LOG_LEVEL=warn \
    ACCESS_LOG="$work/access-$i.log" BACKEND_SERVERS="http://127.0.0.1:19101,http://127.0.0.1:19102" $envs \
    "${home:-$LB_HOME}/bin/moosicbox_lb" > "$work/lb-$i.log" 2>&1 & pids+=($!)
  labels+=("$label"); ports+=("$port"); lb_pids+=($!)  # the launcher execs the JVM: same process
  i=$((i + 1))
done

wait_port() { for _ in $(seq 1 300); do curl -s -o /dev/null "http://127.0.0.1:$1/1k" && return 0; sleep 0.1; done; echo "compare: port $1 did not answer" >&2; cat "$work"/lb-*.log >&2; exit 1; }
for p in 19101 19102 19201 "${ports[@]}"; do wait_port "$p"; done
for p in "${ports[@]}"; do wrk -t2 -c"$CONNS" -d"${WARMUP}s" "http://127.0.0.1:$p/1k" > /dev/null; done

# One measurement: req/s, p99, CPU per request of PID (user+system from /proc), machine idle share.
measure() {
  local port=$1 pid=$2 t0 t1 out reqs u0 u1 i0 i1
  t0=$(awk '{print $14 + $15}' "/proc/$pid/stat"); read -r u0 i0 < <(awk '/^cpu / {print $2+$3+$4+$5+$6+$7+$8, $5}' /proc/stat)
  out=$(wrk -t2 -c"$CONNS" -d"${DURATION}s" --latency "http://127.0.0.1:$port/1k")
  t1=$(awk '{print $14 + $15}' "/proc/$pid/stat"); read -r u1 i1 < <(awk '/^cpu / {print $2+$3+$4+$5+$6+$7+$8, $5}' /proc/stat)
  reqs=$(echo "$out" | awk '/requests in/ {print $1}')
  printf "%s req/s, p50 %s, p99 %s, %.1f us CPU per request, idle %d %%%s" \
    "$(echo "$out" | awk '/Requests\/sec/ {print $2}')" "$(echo "$out" | awk '$1=="50%" {print $2}')" "$(echo "$out" | awk '$1=="99%" {print $2}')" \
    "$(echo "($t1 - $t0) * 1000000 / $(getconf CLK_TCK) / $reqs" | bc -l)" $(( (i1 - i0) * 100 / (u1 - u0) )) \
    "$(echo "$out" | grep -E 'Non-2xx|Socket errors' | tr '\n' ' ' | sed 's/^./, &/')"
}
rate() { sed -E 's/^([0-9.]+) req.*/\1/'; }

declare -A sum
for round in $(seq 1 "$ROUNDS"); do
  h=$(measure 19201 "$haproxy_pid"); echo "round $round  haproxy: $h"
  for k in "${!ports[@]}"; do
    m=$(measure "${ports[$k]}" "${lb_pids[$k]}")
    r=$(echo "$(echo "$m" | rate) / $(echo "$h" | rate)" | bc -l)
    printf "round %s  %s: %s, ratio %.3f\n" "$round" "${labels[$k]}" "$m" "$r"
    sum[$k]=$(echo "${sum[$k]:-0} + $r" | bc -l)
  done
done
for k in "${!ports[@]}"; do printf "mean ratio to HAProxy, %s: %.3f\n" "${labels[$k]}" "$(echo "${sum[$k]} / $ROUNDS" | bc -l)"; done
# Zero errors is part of the bar: any answer that was not a 2xx, from the variants' access logs
# (combined format: the status is the field after the quoted request line).
for k in "${!ports[@]}"; do
  log="$work/access-$k.log"
  [ -f "$log" ] || continue
  bad=$(awk -F'"' '{split($3, f, " "); if (f[1] !~ /^2/) n++} END {print n + 0}' "$log")
  if [ "$bad" -gt 0 ]; then
    echo "${labels[$k]}: $bad answers that were not 2xx in its access log, the first ones:"
    awk -F'"' '{split($3, f, " "); if (f[1] !~ /^2/) print}' "$log" | head -n 3
  fi
done
