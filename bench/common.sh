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
