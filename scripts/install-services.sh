#!/bin/sh
# What the tests need from Debian: redis-server and haproxy, run for real, and libnss3, which the
# inspector test's Chromium shell (from npm) loads. Installs whichever is missing (apt-get;
# root), says what it did, and changes nothing when all are there. The tests
# start their own instances on free ports: the packages' own system services are kept from
# starting (and stopped if they did), so nothing holds port 6379 or 80 in the way.
set -u

say() { printf 'install-services: %s\n' "$*"; }
die() { printf 'install-services: %s\n' "$*" >&2; exit 1; }

missing=''
command -v redis-server >/dev/null 2>&1 || [ -x /usr/bin/redis-server ] || missing="$missing redis-server"
command -v haproxy >/dev/null 2>&1 || [ -x /usr/sbin/haproxy ] || missing="$missing haproxy"
# The inspector's browser test runs a Chromium shell from npm that loads the system's NSS.
ldconfig -p 2>/dev/null | grep -q 'libnss3\.so' || missing="$missing libnss3"

if [ -z "$missing" ]; then
  say "redis-server, haproxy and libnss3 are installed already: nothing to do"
  exit 0
fi

command -v apt-get >/dev/null 2>&1 || die "missing:$missing, and there is no apt-get here: install them with this system's package manager"
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null 2>&1 || die "missing:$missing; installing needs root: run this script as root"
  SUDO='sudo'
else
  SUDO=''
fi

# Debian's postinst starts each package's service unless policy-rc.d says no (101): say no for
# the time of this install, unless the machine already has such a policy of its own.
policy=/usr/sbin/policy-rc.d
ours=''
if [ ! -e "$policy" ]; then
  printf '#!/bin/sh\nexit 101\n' | $SUDO tee "$policy" >/dev/null && $SUDO chmod 755 "$policy" && ours=1
fi
cleanup() { [ -n "$ours" ] && $SUDO rm -f "$policy"; }
trap cleanup EXIT INT TERM

export DEBIAN_FRONTEND=noninteractive
say "installing:$missing (apt-get install -y$missing)"
# shellcheck disable=SC2086 # $missing is a list of package names
if ! $SUDO apt-get install -y -q $missing; then
  say "install failed; updating the package lists (apt-get update) and trying again"
  $SUDO apt-get update -q || die "apt-get update failed: check the network and /etc/apt/sources.list"
  # shellcheck disable=SC2086
  $SUDO apt-get install -y -q $missing || die "apt-get install$missing failed (see above)"
fi

# Belt and braces: were a service started anyway (no policy-rc.d honoured), stop and disable it.
for svc in redis-server haproxy; do
  if command -v systemctl >/dev/null 2>&1 && systemctl is-active --quiet "$svc" 2>/dev/null; then
    $SUDO systemctl stop "$svc" && $SUDO systemctl disable --quiet "$svc" && say "stopped and disabled the system $svc service"
  elif [ -x "/etc/init.d/$svc" ] && "/etc/init.d/$svc" status >/dev/null 2>&1; then
    $SUDO "/etc/init.d/$svc" stop >/dev/null && say "stopped the system $svc service"
  fi
done

command -v redis-server >/dev/null 2>&1 || [ -x /usr/bin/redis-server ] || die "redis-server is still missing after the install"
command -v haproxy >/dev/null 2>&1 || [ -x /usr/sbin/haproxy ] || die "haproxy is still missing after the install"
ldconfig -p 2>/dev/null | grep -q 'libnss3\.so' || die "libnss3 is still missing after the install"
say "installed: $(redis-server --version 2>/dev/null | cut -d' ' -f1-3); $(/usr/sbin/haproxy -v 2>/dev/null | head -1)"
