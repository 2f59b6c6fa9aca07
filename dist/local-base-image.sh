#!/bin/sh
# Builds a small Java base image without a registry, for dist/Dockerfile's BASE_IMAGE:
# a jlink runtime of the local JDK in /opt/java/openjdk (where Temurin images have theirs) and a
# static busybox for /bin/sh, plus the host's shared libraries that the runtime links (glibc),
# imported with `podman import` (or `docker import`).
#
#   dist/local-base-image.sh [TAG]        default TAG: localhost/moosicbox-lb-base:latest
#
# JAVA_HOME chooses the JDK (21+, with jlink); else the one ./dev would use. BUSYBOX chooses the
# static busybox (Debian: apt-get install busybox-static); CONTAINER_TOOL chooses podman or docker.
set -eu
tag=${1:-localhost/moosicbox-lb-base:latest}
here=$(cd "$(dirname "$0")" && pwd)
tool=${CONTAINER_TOOL:-podman}
busybox=${BUSYBOX:-/bin/busybox}
# The modules the distribution needs (jdeps --print-module-deps over lib/), and a few that its
# features load by name (DNS lookups through JNDI, JMX, zip file systems).
modules=${LB_JLINK_MODULES:-java.base,java.desktop,java.instrument,java.logging,java.management,java.naming,java.net.http,java.rmi,java.security.jgss,java.sql,java.xml,jdk.management,jdk.naming.dns,jdk.unsupported,jdk.zipfs}

if [ -z "${JAVA_HOME:-}" ]; then
  . "$here/src/main/dist/bin/find-java.sh"
  lb_find_java || { echo "local-base-image: no JDK 21+ found; looked at $LB_JAVA_LOOKED" >&2; exit 1; }
  JAVA_HOME=$(cd "$(dirname "$LB_JAVA")/.." && pwd)
fi
[ -x "$JAVA_HOME/bin/jlink" ] || { echo "local-base-image: $JAVA_HOME has no bin/jlink (a JRE, not a JDK)" >&2; exit 1; }
[ -x "$busybox" ] || { echo "local-base-image: no busybox at $busybox (apt-get install busybox-static)" >&2; exit 1; }
if ldd "$busybox" >/dev/null 2>&1; then
  echo "local-base-image: $busybox is linked dynamically; a static one is needed (apt-get install busybox-static)" >&2
  exit 1
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
root=$work/rootfs
mkdir -p "$root/bin" "$root/opt/java" "$root/etc" "$root/tmp"
chmod 1777 "$root/tmp"
"$JAVA_HOME/bin/jlink" --add-modules "$modules" --strip-debug --no-man-pages --no-header-files \
  --output "$root/opt/java/openjdk"
# The runtime's native code links the C library: copy each shared library it resolves to on this host.
find "$root/opt/java/openjdk" -type f \( -name '*.so' -o -path '*/bin/*' \) -exec ldd {} + 2>/dev/null |
  awk '/=> \//{print $3} /^[[:space:]]+\/[^ ]+ \(/{print $1}' | sort -u |
  while read -r lib; do
    case $lib in "$root"/*) continue ;; esac
    mkdir -p "$root$(dirname "$lib")"
    cp -L "$lib" "$root$lib"
  done
cp "$busybox" "$root/bin/busybox"
for applet in $("$busybox" --list); do
  [ -e "$root/bin/$applet" ] || ln -s busybox "$root/bin/$applet"
done
printf 'root:x:0:0:root:/root:/bin/sh\nlb:x:10001:10001:moosicbox-lb:/tmp:/bin/false\n' > "$root/etc/passwd"
printf 'root:x:0:\nlb:x:10001:\n' > "$root/etc/group"

tar -C "$root" --numeric-owner --owner=0 --group=0 -cf "$work/rootfs.tar" .
"$tool" import \
  --change 'ENV JAVA_HOME=/opt/java/openjdk' \
  --change 'ENV PATH=/opt/java/openjdk/bin:/bin' \
  --change 'CMD ["/bin/sh"]' \
  "$work/rootfs.tar" "$tag" >/dev/null
echo "$tag"
