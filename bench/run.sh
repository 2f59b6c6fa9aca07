#!/usr/bin/env bash
# Peer benchmark: moosicbox-lb next to HAProxy and nginx, same backends, same machine, same run.
# Installs nothing. Needs: nginx, haproxy, wrk, h2load (Debian: nginx-light haproxy wrk nghttp2-client),
# openssl, and the built tarball (./dev build). Loopback only; every run bounded in time.
#
#   bench/run.sh                 3 interleaved rounds of 10 s, 64 connections
#   ROUNDS=1 DURATION=5 bench/run.sh
#
# Prints a Markdown table: req/s (median of rounds), p50/p99 latency, ratios to HAProxy and nginx.
set -euo pipefail
cd "$(dirname "$0")/.."

ROUNDS=${ROUNDS:-3}
DURATION=${DURATION:-10}
CONNS=${CONNS:-64}
THREADS=${THREADS:-2}
H2_REQUESTS=${H2_REQUESTS:-100000}
BIG_MB=${BIG_MB:-512}
# The JVM compiles its hot path in the first seconds under load: every target gets the same warm-up.
WARMUP=${WARMUP:-30}

. bench/common.sh
bench_setup bench "nginx-light haproxy wrk nghttp2-client openssl curl" nginx haproxy wrk h2load openssl curl

# Ports: backends 19101-19102, HAProxy 19201, nginx 19202, moosicbox-lb 19203; TLS +100; lb admin 19303.
head -c 1024 /dev/urandom | base64 -w0 | head -c 1024 > "$work/1k"
head -c $((BIG_MB * 1024 * 1024)) /dev/zero > "$work/big"
chmod 644 "$work/1k" "$work/big"
openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=localhost -keyout "$work/key.pem" -out "$work/cert.pem" 2>/dev/null
cat "$work/cert.pem" "$work/key.pem" > "$work/haproxy.pem"
bench_backends
bench_haproxy "  bind 127.0.0.1:19301 ssl crt $work/haproxy.pem alpn h2,http/1.1"

mkdir -p "$work/lbnginx"
cat > "$work/lbnginx/nginx.conf" <<CONF
worker_processes 2;
pid $work/lbnginx/nginx.pid;
error_log $work/lbnginx/error.log;
events { worker_connections 8192; }
http {
  access_log off;
  keepalive_requests 1000000;
  upstream be { server 127.0.0.1:19101; server 127.0.0.1:19102; keepalive 64; }
  server {
    listen 127.0.0.1:19202;
    listen 127.0.0.1:19302 ssl http2;
    ssl_certificate $work/cert.pem;
    ssl_certificate_key $work/key.pem;
    location / { proxy_pass http://be; proxy_http_version 1.1; proxy_set_header Connection ""; }
  }
}
CONF
nginx -c "$work/lbnginx/nginx.conf" -g 'daemon off;' & pids+=($!)

# moosicbox-lb as a user runs it: metrics on, access log on (to a file), TLS when the tls work is in.
BIND_ADDRESS=127.0.0.1:19203 ADMIN_BIND_ADDRESS=127.0.0.1:19403 SSL_BIND_ADDRESS=127.0.0.1:19303 \
SSL_CERT_PATH=$work/cert.pem SSL_KEY_PATH=$work/key.pem ACCESS_LOG=$work/lb-access.log LOG_LEVEL=warn \
BACKEND_SERVERS="http://127.0.0.1:19101,http://127.0.0.1:19102" \
  "$LB_HOME/bin/moosicbox_lb" > "$work/lb.log" 2>&1 & pids+=($!)
lb_pid=$!  # the launcher execs the JVM: same process

wait_port() { for _ in $(seq 1 300); do curl -s -o /dev/null "http://127.0.0.1:$1/1k" && return 0; sleep 0.1; done; echo "bench: port $1 did not answer" >&2; cat "$work/lb.log" "$work/haproxy.log" >&2; exit 1; }
for p in 19101 19102 19201 19202 19203; do wait_port $p; done
lb_tls=0; curl -sk -o /dev/null "https://127.0.0.1:19303/1k" && lb_tls=1

# Warm-up: the JVM compiles its hot path; the others are measured after the same warm-up.
for p in 19201 19202 19203; do wrk -t"$THREADS" -c"$CONNS" -d"${WARMUP}s" "http://127.0.0.1:$p/1k" >/dev/null; done

declare -A rps p50 p99
names=(haproxy nginx moosicbox-lb)
ports=(19201 19202 19203)
for round in $(seq 1 "$ROUNDS"); do
  for i in 0 1 2; do
    out=$(wrk -t"$THREADS" -c"$CONNS" -d"${DURATION}s" --latency "http://127.0.0.1:${ports[$i]}/1k")
    errors=$(echo "$out" | sed -n 's/.*Non-2xx or 3xx responses: \([0-9]*\).*/\1/p')
    sockerr=$(echo "$out" | sed -n 's/.*Socket errors: \(.*\)/\1/p')
    [ -n "$errors$sockerr" ] && echo "bench: ${names[$i]} round $round: non-2xx=${errors:-0} socket errors: ${sockerr:-none}" >&2
    rps[${names[$i]}]+="$(echo "$out" | awk '/Requests\/sec/ {print $2}') "
    p50[${names[$i]}]+="$(echo "$out" | awk '$1=="50%" {print $2}') "
    p99[${names[$i]}]+="$(echo "$out" | awk '$1=="99%" {print $2}') "
  done
done

median() { tr ' ' '\n' | grep -v '^$' | sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
to_ms() { awk '{v=$1; if (v ~ /us$/) {sub(/us/,"",v); v/=1000} else if (v ~ /ms$/) {sub(/ms/,"",v)} else if (v ~ /s$/) {sub(/s/,"",v); v*=1000}; printf "%.2f", v}'; }
med_lat() { tr ' ' '\n' | grep -v '^$' | while read -r v; do echo "$v" | to_ms; echo; done | median; }

echo
echo "### HTTP/1.1, wrk -t$THREADS -c$CONNS, ${DURATION}s x $ROUNDS interleaved rounds, 1 KiB from two nginx backends"
echo
echo "| target | req/s (median) | p50 ms | p99 ms | vs HAProxy | vs nginx |"
echo "|---|---|---|---|---|---|"
h=$(echo "${rps[haproxy]}" | median); n=$(echo "${rps[nginx]}" | median)
for name in "${names[@]}"; do
  r=$(echo "${rps[$name]}" | median)
  printf "| %s | %.0f | %s | %s | %.2f | %.2f |\n" "$name" "$r" "$(echo "${p50[$name]}" | med_lat)" "$(echo "${p99[$name]}" | med_lat)" \
    "$(echo "$r / $h" | bc -l)" "$(echo "$r / $n" | bc -l)"
done
# A shared machine's speed drifts between rounds; each round's ratio compares neighbours in time.
read -ra hs <<< "${rps[haproxy]}"; read -ra ls <<< "${rps[moosicbox-lb]}"
read -ra hp <<< "${p99[haproxy]}"; read -ra lp <<< "${p99[moosicbox-lb]}"
echo
echo -n "moosicbox-lb / HAProxy per round: req/s"
for i in "${!hs[@]}"; do printf " %.2f" "$(echo "${ls[$i]} / ${hs[$i]}" | bc -l)"; done
echo -n "; p99"
for i in "${!hp[@]}"; do printf " %.2f" "$(echo "$(echo "${lp[$i]}" | to_ms) / $(echo "${hp[$i]}" | to_ms)" | bc -l)"; done
echo

echo
echo "### HTTP/2 over TLS, h2load -n$H2_REQUESTS -c16 -m10 -t2, $ROUNDS interleaved rounds"
echo
echo "| target | req/s (median) | failed | vs HAProxy |"
echo "|---|---|---|---|"
# HTTP/2 and TLS are other code paths for the JVM to compile: each target gets the same warm-up
# time as for HTTP/1.1. A warm-up counted in requests was too short: the balancer's rate kept
# rising for its first 300,000 HTTP/2 requests (10,500 req/s in the first 100,000, 37,000 from the
# fourth 100,000 on), so a run of 50,000 after 50,000 measured the JIT compiler. One run after the
# warm-up still varied (20,000-30,000 req/s in a row), hence rounds and their median.
h2_targets=(haproxy:19301 nginx:19302)
[ "$lb_tls" = 1 ] && h2_targets+=(moosicbox-lb:19303)
for pair in "${h2_targets[@]}"; do
  h2load -D"$WARMUP" -c16 -m10 -t2 "https://127.0.0.1:${pair##*:}/1k" >/dev/null 2>&1 || true
done
declare -A h2rps h2failed
for round in $(seq 1 "$ROUNDS"); do
  for pair in "${h2_targets[@]}"; do
    name=${pair%%:*}
    out=$(h2load -n"$H2_REQUESTS" -c16 -m10 -t2 "https://127.0.0.1:${pair##*:}/1k" 2>&1)
    h2rps[$name]+="$(echo "$out" | sed -n 's/^finished in .*, \([0-9.]*\) req\/s.*/\1/p') "
    f=$(echo "$out" | sed -n 's/^requests: .* \([0-9]*\) failed.*/\1/p')
    h2failed[$name]=$(( ${h2failed[$name]:-0} + ${f:-$H2_REQUESTS} ))
  done
done
h2=$(echo "${h2rps[haproxy]}" | median)
for pair in "${h2_targets[@]}"; do
  name=${pair%%:*}
  r=$(echo "${h2rps[$name]}" | median)
  printf "| %s | %.0f | %s | %.2f |\n" "$name" "$r" "${h2failed[$name]}" "$(echo "$r / $h2" | bc -l)"
done
[ "$lb_tls" = 1 ] || echo "| moosicbox-lb | (TLS listener not available) | | |"
echo "moosicbox-lb HTTP/2 req/s per round: ${h2rps[moosicbox-lb]:-}"

echo
echo "### Large download, ${BIG_MB} MiB, one curl stream"
echo
echo "| target | MB/s |"
echo "|---|---|"
for pair in direct:19101 haproxy:19201 nginx:19202 moosicbox-lb:19203; do
  name=${pair%%:*}; port=${pair##*:}
  s=$(curl -s -o /dev/null -w '%{speed_download}' "http://127.0.0.1:$port/big")
  printf "| %s | %.0f |\n" "$name" "$(echo "$s / 1048576" | bc -l)"
done
echo
echo "moosicbox-lb RSS after the run: $(ps -o rss= -p "$lb_pid" | awk '{printf "%.0f MiB", $1/1024}')"
