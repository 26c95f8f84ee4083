#!/bin/sh
# Install Debian's headless-capable Chromium and its WebDriver for the browser test of the verification page.
# Idempotent and quiet: a no-op when /usr/bin/chromium and /usr/bin/chromedriver exist. Never fails the build:
# without root or apt-get it says so and exits 0, and the browser test skips naming this script.
# Another apt-get or dpkg run (unattended-upgrades, a colleague's install) holds its locks for a while: this waits
# for them, up to APT_LOCK_WAIT seconds (default 600), instead of failing at once and leaving the browser tests
# skipped. apt-get waits for the dpkg lock itself (DPkg::Lock::Timeout); the package lists' lock of
# `apt-get update` is retried here until the same deadline.
set -u
APT_LOCK_WAIT=${APT_LOCK_WAIT:-600}

if [ -x /usr/bin/chromium ] && [ -x /usr/bin/chromedriver ]; then
    echo "install-chromium: chromium and chromedriver already installed"
    exit 0
fi
if ! command -v apt-get >/dev/null 2>&1; then
    echo "install-chromium: apt-get not available; install chromium and chromium-driver yourself (browser test skipped)"
    exit 0
fi
SUDO=""
if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
        SUDO="sudo -n"
    else
        echo "install-chromium: not root and no passwordless sudo; run as root: apt-get install chromium chromium-driver"
        exit 0
    fi
fi

export DEBIAN_FRONTEND=noninteractive
APT="$SUDO apt-get -o DPkg::Lock::Timeout=$APT_LOCK_WAIT"
LOG=$(mktemp)

# `apt-get update`, retried while another process holds a lock, until APT_LOCK_WAIT seconds have passed.
update_lists() {
    deadline=$(($(date +%s) + APT_LOCK_WAIT))
    while :; do
        if $APT update -qq >"$LOG" 2>&1; then
            return 0
        fi
        if ! grep -q -e "Could not get lock" -e "Unable to lock" -e "Unable to acquire" "$LOG" \
            || [ "$(date +%s)" -ge "$deadline" ]; then
            return 1
        fi
        echo "install-chromium: another apt-get or dpkg holds the package lock; waiting for it"
        sleep 5
    done
}

echo "install-chromium: installing chromium and chromium-driver with apt-get"
if update_lists \
    && $APT install -y -qq --no-install-recommends chromium chromium-driver >>"$LOG" 2>&1; then
    echo "install-chromium: installed $(/usr/bin/chromium --version 2>/dev/null || echo chromium)"
else
    tail -n 20 "$LOG"
    echo "install-chromium: apt-get could not install chromium and chromium-driver (browser test skipped)"
fi
rm -f "$LOG"
exit 0
