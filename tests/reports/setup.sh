#!/bin/sh
# Prepares the report tests (run by `make reports-setup`, which `make test` runs before pytest):
# Debian's poppler-utils (pdftoppm, pdftotext) turns the PDFs into pictures and text to check.
# It never fails the build: when poppler cannot be installed it says so and those tests skip.
set -u
# HarfBuzz's subsetter: WeasyPrint subsets the embedded fonts with it, else with fontTools, about
# 0.9 s more per PDF (docs/deployment.md). Installed when root and missing; never fails.
if ! ldconfig -p 2>/dev/null | grep -q libharfbuzz-subset; then
	if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
		echo "reports: installing Debian's libharfbuzz-subset0 (apt-get)"
		DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends libharfbuzz-subset0 \
			>/dev/null 2>&1 || echo "reports: libharfbuzz-subset0 could not be installed: PDFs are slower"
	else
		echo "reports: libharfbuzz-subset0 is missing: PDFs subset fonts with fontTools (slower)"
	fi
fi
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
