#!/bin/sh
# Prepares the browser tests (run by `make e2e-setup`, which `make test` runs before pytest).
#
# 1. Debian's Chromium at /usr/bin/chromium: installed with apt-get when we are root and it is
#    missing. Playwright never downloads a browser of its own here.
# 2. axe-core from the npm registry into tests/e2e/node_modules, exactly as package-lock.json pins it.
#
# Nothing here fails the build: when a step is impossible it says so, and the tests that need it
# skip with the same message.
set -u
here=$(cd "$(dirname "$0")" && pwd)

if [ -x /usr/bin/chromium ]; then
	echo "e2e: Chromium found at /usr/bin/chromium"
elif [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
	echo "e2e: installing Debian's chromium package (apt-get)"
	export DEBIAN_FRONTEND=noninteractive
	if ! apt-get install -y --no-install-recommends chromium >/dev/null 2>&1; then
		apt-get update -qq >/dev/null 2>&1 || true
		apt-get install -y --no-install-recommends chromium >/dev/null 2>&1 || true
	fi
	if [ -x /usr/bin/chromium ]; then
		echo "e2e: Chromium installed at /usr/bin/chromium"
	else
		echo "e2e: SKIPPING browser tests: apt-get could not install chromium"
	fi
else
	echo "e2e: SKIPPING browser tests: /usr/bin/chromium is missing and cannot be installed" \
		"here (needs root and apt-get); run 'apt-get install chromium' as root to enable them"
fi

pinned=$(sed -n 's/.*"axe-core": *"\([^"]*\)".*/\1/p' "$here/package.json")
installed=$(sed -n 's/^  "version": *"\([^"]*\)".*/\1/p' "$here/node_modules/axe-core/package.json" 2>/dev/null)
if [ -n "$installed" ] && [ "$installed" = "$pinned" ]; then
	echo "e2e: axe-core $installed already installed"
elif command -v npm >/dev/null 2>&1; then
	if (cd "$here" && npm ci --no-audit --no-fund --loglevel=error >/dev/null); then
		echo "e2e: axe-core $pinned installed from package-lock.json"
	else
		echo "e2e: SKIPPING accessibility tests: 'npm ci' could not install axe-core $pinned"
	fi
else
	echo "e2e: SKIPPING accessibility tests: npm is missing (install Node.js and npm to enable them)"
fi
exit 0
