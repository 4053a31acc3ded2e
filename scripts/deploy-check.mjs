// `npm run deploy:check` (part of `npm test`): validates the deployment examples offline,
// without docker or kubectl (CI machines have neither):
// - docker/compose*.yml against the Compose specification's JSON schema, plus dclint's
//   checks (duplicate ports, unbound interfaces, explicit image tags…), through dclint;
// - every manifest in docker/k8s against the Kubernetes API's JSON schemas, through the
//   validators kubernetes-models ships for each kind (types, required fields, formats);
// - docker/k8s/kustomization.yaml: every resource it lists exists, every manifest but the
//   *.example.yaml ones is listed.
// That the environment variables, config keys and probe paths in these files exist in
// workgate itself is checked by apps/gateway/src/health/deploy-manifests.spec.ts.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { basename, join, relative } from 'node:path';
import { DCLinter } from 'dclint';
import { Deployment } from 'kubernetes-models/apps/v1';
import { Job } from 'kubernetes-models/batch/v1';
import { PodDisruptionBudget } from 'kubernetes-models/policy/v1';
import { ConfigMap, Secret, Service } from 'kubernetes-models/v1';
import { parseAllDocuments } from 'yaml';

const root = join(import.meta.dirname, '..');
const dockerDir = join(root, 'docker');
const k8sDir = join(dockerDir, 'k8s');
const problems = [];
const fail = (file, message) => problems.push(`${relative(root, file)}: ${message}`);

// The kinds the example uses; a manifest of any other kind fails until it is added here
// (an unknown kind would otherwise pass unvalidated).
const MODELS = new Map(
  [ConfigMap, Secret, Service, Deployment, Job, PodDisruptionBudget].map((model) => [
    `${model.apiVersion}/${model.kind}`,
    model,
  ]),
);

// Ordering rules are style, and these files are ordered by dependency (data stores, then
// the apps, then the proxy) for the reader; every other dclint rule stays on, as errors
// or warnings, and a warning fails the check like an error (lint runs with 0 warnings).
const DCLINT_RULES = {
  'services-alphabetical-order': 0,
  'service-keys-order': 0,
  'top-level-properties-order': 0,
  // docker/compose.yml builds the image and names it (`image: workgate:local`) on purpose:
  // Compose tags what it built with that name.
  'no-build-and-image': 0,
};

async function checkCompose() {
  const files = readdirSync(dockerDir)
    .filter((name) => /^compose.*\.ya?ml$/.test(name))
    .map((name) => join(dockerDir, name));
  const linter = new DCLinter({ rules: DCLINT_RULES, quiet: false, debug: false, exclude: [] });
  const results = linter.lintFiles(files, false);
  if (results.some((r) => r.errorCount + r.warningCount > 0))
    problems.push(await linter.formatResults(results, 'stylish'));
  return files.length;
}

function checkManifest(file, doc, index) {
  const where = `document ${index + 1}`;
  const model = MODELS.get(`${doc?.apiVersion}/${doc?.kind}`);
  if (!model) return fail(file, `${where}: no validator for ${doc?.apiVersion} ${doc?.kind}`);
  try {
    new model(doc).validate();
  } catch (err) {
    const details = (err.errors ?? []).map((e) => `${e.instancePath || '/'} ${e.message}`);
    fail(file, `${where} (${doc.kind} ${doc.metadata?.name}): ${details.join('; ') || err}`);
  }
}

function readYamlDocuments(file) {
  const docs = parseAllDocuments(readFileSync(file, 'utf8'));
  for (const doc of docs)
    for (const error of doc.errors) fail(file, `YAML: ${error.message.split('\n')[0]}`);
  return docs.map((doc) => doc.toJS());
}

function checkKustomization(manifests) {
  const file = join(k8sDir, 'kustomization.yaml');
  if (!existsSync(file)) return fail(file, 'missing');
  const [k] = readYamlDocuments(file);
  if (k?.apiVersion !== 'kustomize.config.k8s.io/v1beta1' || k?.kind !== 'Kustomization')
    fail(file, 'expected apiVersion kustomize.config.k8s.io/v1beta1, kind Kustomization');
  const listed = new Set(k?.resources ?? []);
  for (const resource of listed)
    if (!existsSync(join(k8sDir, resource))) fail(file, `lists ${resource}, which does not exist`);
  for (const manifest of manifests) {
    const name = basename(manifest);
    if (!name.endsWith('.example.yaml') && !listed.has(name))
      fail(file, `does not list ${name} (or rename it *.example.yaml)`);
  }
}

function checkKubernetes() {
  const manifests = readdirSync(k8sDir)
    .filter((name) => /\.ya?ml$/.test(name) && name !== 'kustomization.yaml')
    .map((name) => join(k8sDir, name));
  let count = 0;
  for (const file of manifests)
    readYamlDocuments(file).forEach((doc, index) => {
      count++;
      checkManifest(file, doc, index);
    });
  checkKustomization(manifests);
  return count;
}

const composeFiles = await checkCompose();
const objects = checkKubernetes();
if (problems.length) {
  console.error(`deploy:check failed:\n${problems.join('\n')}`);
  process.exit(1);
}
console.log(
  `deploy:check: ${composeFiles} compose files and ${objects} Kubernetes objects valid (Compose spec schema via dclint, Kubernetes schemas via kubernetes-models)`,
);
