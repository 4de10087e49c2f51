# Shared by scripts/test, .ci/run and bench/: find a JDK, install and start services.
# Sourced, not executed.

# The major version of the JDK whose java binary is $1: from the JDK's release file when it has one
# (no JVM start), else by asking the JVM.
java_major() {
  local home; home="$(dirname "$(dirname "$(readlink -f "$(command -v "$1")")")")"
  if [ -f "$home/release" ]; then
    sed -n 's/^JAVA_VERSION="\([0-9]*\).*/\1/p' "$home/release"
  else
    "$1" -XshowSettings:properties -version 2>&1 | sed -n 's/^ *java.specification.version = //p' | cut -d. -f1
  fi
}

# Exports JAVA_HOME pointing at a JDK >= 21 (JAVA_HOME, then the PATH, then the system JVM folder).
select_jdk() {
  local cand
  for cand in "${JAVA_HOME:-}" "$(dirname "$(dirname "$(readlink -f "$(command -v javac 2>/dev/null || echo /nonexistent)")")")" /usr/lib/jvm/*; do
    if [ -n "$cand" ] && [ -x "$cand/bin/javac" ] && [ "$(java_major "$cand/bin/java")" -ge 21 ] 2>/dev/null; then
      export JAVA_HOME="$cand"
      export PATH="$JAVA_HOME/bin:$PATH"
      return 0
    fi
  done
  echo "no JDK 21 or newer found: set JAVA_HOME or install one (Debian 12 has none: e.g. Eclipse Temurin 21 or 25; Debian 13 and Ubuntu 24.04: apt-get install openjdk-21-jdk)" >&2
  return 1
}

can_install() { [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; }

apt_install() {
  if ! can_install; then return 1; fi
  if [ -z "${_PIER_APT_UPDATED:-}" ]; then
    DEBIAN_FRONTEND=noninteractive apt-get update -qq >/dev/null
    _PIER_APT_UPDATED=1
  fi
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
}

missing() {
  if [ "${CI:-}" = "true" ]; then
    echo "CI=true and $1" >&2
    exit 1
  fi
  echo "warning: $1; the tests that need it will be skipped" >&2
}

# Installs (when root on Debian) and starts PostgreSQL, with a role pier/pier that may create databases.
ensure_postgres() {
  if [ -n "${PIER_TEST_PG_URL:-}" ]; then return 0; fi
  if ! command -v pg_ctlcluster >/dev/null 2>&1; then
    apt_install postgresql || { missing "PostgreSQL is not installed"; return 0; }
  fi
  if ! can_install; then return 0; fi
  local ver
  ver="$(ls /etc/postgresql 2>/dev/null | sort -V | tail -n1)"
  if [ -z "$ver" ]; then missing "no PostgreSQL cluster exists"; return 0; fi
  pg_ctlcluster "$ver" main start 2>/dev/null || true
  for _ in $(seq 1 30); do
    su postgres -c "psql -qtAc 'select 1'" >/dev/null 2>&1 && break
    sleep 1
  done
  su postgres -c "psql -qtAc \"SELECT 1 FROM pg_roles WHERE rolname = 'pier'\"" | grep -q 1 \
    || su postgres -c "psql -qc \"CREATE ROLE pier LOGIN PASSWORD 'pier' CREATEDB\"" >/dev/null
}

# Installs (when root on Debian) and starts a Docker engine on the default socket, then builds the
# local test images (scripts/test-images.sh; no registry is needed). DOCKER_HOST, when set, names
# an engine that is used as it is.
ensure_docker() {
  if ! command -v docker >/dev/null 2>&1 || ! command -v dockerd >/dev/null 2>&1; then
    apt_install docker.io || { missing "Docker is not installed"; return 0; }
  fi
  if ! docker info >/dev/null 2>&1; then
    if [ -n "${DOCKER_HOST:-}" ] || [ "$(id -u)" != 0 ]; then
      missing "the Docker engine at ${DOCKER_HOST:-unix:///var/run/docker.sock} is not reachable"
      return 0
    fi
    local log=/tmp/pier-dockerd.log
    echo "test: starting dockerd (log: $log)" >&2
    # its own session, so that it outlives this run and its process group
    setsid dockerd >"$log" 2>&1 </dev/null &
    for _ in $(seq 1 30); do
      docker info >/dev/null 2>&1 && break
      sleep 1
    done
    if ! docker info >/dev/null 2>&1; then
      tail -n 20 "$log" >&2 || true
      missing "dockerd did not start within 30 s (see $log)"
      return 0
    fi
  fi
  "$(dirname "${BASH_SOURCE[0]}")/test-images.sh" || missing "the test images could not be built"
}
