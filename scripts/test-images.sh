#!/usr/bin/env bash
# Builds the local images Pier's tests run, without any registry (none is reachable in CI):
#   pier-test/busybox:latest  a root filesystem holding Debian's static busybox; CMD /bin/sh
#   pier-test/sleeper:latest  the same files; CMD /bin/sleep 3600
# Idempotent: an image that already exists is left alone. Needs a running Docker engine, and
# busybox-static (installed with apt-get when missing and running as root on Debian).
set -euo pipefail

BUSYBOX_IMAGE=pier-test/busybox:latest
SLEEPER_IMAGE=pier-test/sleeper:latest

have_image() { docker image inspect "$1" >/dev/null 2>&1; }

if have_image "$BUSYBOX_IMAGE" && have_image "$SLEEPER_IMAGE"; then
  exit 0
fi

# A statically linked busybox: $PIER_BUSYBOX when given, else Debian's busybox-static package.
busybox="${PIER_BUSYBOX:-}"
if [ -z "$busybox" ]; then
  if ! dpkg -s busybox-static >/dev/null 2>&1; then
    if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null 2>&1; then
      echo "test-images: busybox-static is not installed and cannot be installed here (need root and apt-get)" >&2
      exit 1
    fi
    DEBIAN_FRONTEND=noninteractive apt-get update -qq >/dev/null
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq busybox-static >/dev/null
  fi
  busybox=/bin/busybox
fi

work="$(mktemp -d /tmp/pier-test-images.XXXXXX)"
trap 'rm -rf "$work"' EXIT
rootfs="$work/rootfs"
mkdir -p "$rootfs/bin" "$rootfs/tmp" "$rootfs/etc" "$rootfs/proc" "$rootfs/sys" "$rootfs/dev" "$rootfs/var/www"
chmod 1777 "$rootfs/tmp"
cp "$busybox" "$rootfs/bin/busybox"
# Every applet this busybox build has, as a symlink (sh, sleep, echo, nc, httpd, wget, ...).
for applet in $("$rootfs/bin/busybox" --list); do
  [ "$applet" = busybox ] || ln -sf busybox "$rootfs/bin/$applet"
done
printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n' > "$rootfs/etc/passwd"
printf 'root:x:0:\nnogroup:x:65534:\n' > "$rootfs/etc/group"
echo "pier test image" > "$rootfs/var/www/index.html"

if ! have_image "$BUSYBOX_IMAGE"; then
  tar -C "$rootfs" -c . | docker import \
    --change 'CMD ["/bin/sh"]' --change 'ENV PATH=/bin' \
    --message "pier test image from Debian busybox-static" - "$BUSYBOX_IMAGE" >/dev/null
  echo "test-images: built $BUSYBOX_IMAGE"
fi
if ! have_image "$SLEEPER_IMAGE"; then
  tar -C "$rootfs" -c . | docker import \
    --change 'CMD ["/bin/sleep","3600"]' --change 'ENV PATH=/bin' \
    --message "pier test image from Debian busybox-static" - "$SLEEPER_IMAGE" >/dev/null
  echo "test-images: built $SLEEPER_IMAGE"
fi
