# Sourced by the bench scripts (run from the repository root): checks the tools and the built
# tarball, sets LB_HOME, and makes a scratch folder $work whose processes (pids+=($!)) are killed
# and which is removed on exit.
#   bench_setup NAME "DEBIAN PACKAGES" TOOL...
bench_setup() {
  local name=$1 packages=$2 tool
  shift 2
  for tool in "$@"; do
    command -v "$tool" >/dev/null 2>&1 || { echo "$name: $tool is missing (apt-get install $packages)" >&2; exit 1; }
  done
  local version
  version=$(sed -n 's:^  <version>\(.*\)</version>:\1:p' pom.xml | head -n 1)
  LB_HOME=dist/target/moosicbox-lb-$version/moosicbox-lb-$version
  [ -x "$LB_HOME/bin/moosicbox_lb" ] || { echo "$name: build the tarball first: ./dev build" >&2; exit 1; }
  work=$(mktemp -d)
  pids=()
  trap bench_cleanup EXIT
}

bench_cleanup() {
  local p
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$work"
}

# Two nginx backends, 127.0.0.1:19101 and :19102, serving the files of $work (their document root).
bench_backends() {
  local port
  # nginx workers run as an unprivileged user: the document root must be readable to them.
  chmod 755 "$work"
  for port in 19101 19102; do
    mkdir -p "$work/b$port"
    cat > "$work/b$port/nginx.conf" <<CONF
worker_processes 1;
pid $work/b$port/nginx.pid;
error_log $work/b$port/error.log;
events { worker_connections 4096; }
http {
  access_log off;
  keepalive_requests 1000000;
  server { listen 127.0.0.1:$port; root $work; location / { } }
}
CONF
    nginx -c "$work/b$port/nginx.conf" -g 'daemon off;' & pids+=($!)
  done
}

# HAProxy on 127.0.0.1:19201 balancing the two backends round robin; $1: more frontend lines
# (a TLS bind). Sets haproxy_pid.
bench_haproxy() {
  cat > "$work/haproxy.cfg" <<CONF
global
  nbthread 2
  maxconn 8000
defaults
  mode http
  timeout connect 5s
  timeout client 60s
  timeout server 60s
  http-reuse always
frontend fe
  bind 127.0.0.1:19201
${1:-}
  default_backend be
backend be
  balance roundrobin
  server a 127.0.0.1:19101
  server b 127.0.0.1:19102
CONF
  haproxy -f "$work/haproxy.cfg" -db > "$work/haproxy.log" 2>&1 & pids+=($!)
  haproxy_pid=$!
}
