#!/bin/sh
# Prepares the report tests (run by `make reports-setup`, which `make test` runs before pytest):
# Debian's poppler-utils (pdftoppm, pdftotext) turns the PDFs into pictures and text to check.
# It never fails the build: when poppler cannot be installed it says so and those tests skip.
set -u
if command -v pdftoppm >/dev/null 2>&1 && command -v pdftotext >/dev/null 2>&1; then
	echo "reports: poppler-utils found ($(command -v pdftoppm))"
elif [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
	echo "reports: installing Debian's poppler-utils (apt-get)"
	export DEBIAN_FRONTEND=noninteractive
	if ! apt-get install -y --no-install-recommends poppler-utils >/dev/null 2>&1; then
		apt-get update -qq >/dev/null 2>&1 || true
		apt-get install -y --no-install-recommends poppler-utils >/dev/null 2>&1 || true
	fi
	command -v pdftoppm >/dev/null 2>&1 && echo "reports: poppler-utils installed" ||
		echo "reports: SKIPPING PDF picture tests: apt-get could not install poppler-utils"
else
	echo "reports: SKIPPING PDF picture tests: pdftoppm is missing and cannot be installed here" \
		"(needs root and apt-get); run 'apt-get install poppler-utils' as root to enable them"
fi
exit 0
