# Sourced by bin/moosicbox_lb and by the repository's ./dev: finds a Java 21+ runtime.
# Order: JAVA_HOME if it is 21+, else `java` on PATH if 21+, else the newest JDK under /usr/lib/jvm.
# Sets LB_JAVA (the java command) or leaves it empty, and LB_JAVA_LOOKED (what was tried).

lb_java_major() {
  # The runtime's release file (every JDK and jlink image since 9) names the version without starting
  # a JVM, which costs a few hundred ms per candidate: JAVA_VERSION="25.0.3". Else `java -version`
  # prints e.g.: openjdk version "25.0.3" 2025-10-21  or  java version "1.8.0_402"
  lb_java_release=$(dirname "$(dirname "$(readlink -f "$(command -v "$1")" 2>/dev/null || echo "$1")")")/release
  if [ -r "$lb_java_release" ] && grep -q '^JAVA_VERSION="' "$lb_java_release"; then
    sed -n 's/^JAVA_VERSION="/version "/p' "$lb_java_release"
  else
    "$1" -version 2>&1
  fi | sed -n 's/.*version "\([0-9][0-9]*\)\(\.\([0-9][0-9]*\)\)\{0,1\}.*/\1 \3/p' | head -n 1 |
    { read -r major minor; [ "$major" = 1 ] && major=$minor; echo "${major:-0}"; }
}

lb_find_java() {
  LB_JAVA=
  LB_JAVA_LOOKED=
  LB_JAVA_MIN=21
  if [ -n "${JAVA_HOME:-}" ] && [ -x "$JAVA_HOME/bin/java" ]; then
    v=$(lb_java_major "$JAVA_HOME/bin/java")
    LB_JAVA_LOOKED="JAVA_HOME=$JAVA_HOME (Java $v)"
    if [ "$v" -ge "$LB_JAVA_MIN" ]; then LB_JAVA="$JAVA_HOME/bin/java"; return 0; fi
  else
    LB_JAVA_LOOKED="JAVA_HOME (${JAVA_HOME:-unset})"
  fi
  if command -v java >/dev/null 2>&1; then
    v=$(lb_java_major java)
    LB_JAVA_LOOKED="$LB_JAVA_LOOKED, java on PATH (Java $v)"
    if [ "$v" -ge "$LB_JAVA_MIN" ]; then LB_JAVA=$(command -v java); return 0; fi
  else
    LB_JAVA_LOOKED="$LB_JAVA_LOOKED, java on PATH (none)"
  fi
  best=0
  for candidate in /usr/lib/jvm/*/bin/java; do
    [ -x "$candidate" ] || continue
    v=$(lb_java_major "$candidate")
    if [ "$v" -ge "$LB_JAVA_MIN" ] && [ "$v" -gt "$best" ]; then best=$v; LB_JAVA=$candidate; fi
  done
  LB_JAVA_LOOKED="$LB_JAVA_LOOKED, /usr/lib/jvm/*"
  [ -n "$LB_JAVA" ]
}
