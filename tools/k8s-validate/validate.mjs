// Validates surge's Kubernetes manifests (deploy/k8s) against the Kubernetes and KEDA schemas
// (npm packages kubernetes-models and @kubernetes-models/keda, installed by scripts/install-deps
// with `npm ci` from the committed package-lock.json). Every YAML document must be a known kind
// that passes its schema; kustomization.yaml files must name files that exist. Prints one line per
// problem as "file:document: message" and exits 1 if there is any.
// Usage: node tools/k8s-validate/validate.mjs DIR...
import fs from "node:fs";
import path from "node:path";
import { parseAllDocuments } from "yaml";

const groups = {
  "v1": () => import("kubernetes-models/v1"),
  "apps/v1": () => import("kubernetes-models/apps/v1"),
  "policy/v1": () => import("kubernetes-models/policy/v1"),
  "rbac.authorization.k8s.io/v1": () => import("kubernetes-models/rbac.authorization.k8s.io/v1"),
  "networking.k8s.io/v1": () => import("kubernetes-models/networking.k8s.io/v1"),
  "autoscaling/v2": () => import("kubernetes-models/autoscaling/v2"),
  "discovery.k8s.io/v1": () => import("kubernetes-models/discovery.k8s.io/v1"),
  "keda.sh/v1alpha1": () => import("@kubernetes-models/keda/keda.sh/v1alpha1"),
};
const kustomizeKeys = new Set(["apiVersion", "kind", "namespace", "labels", "resources",
  "configMapGenerator", "secretGenerator", "images", "patches", "components", "namePrefix",
  "nameSuffix", "commonAnnotations", "replicas", "generatorOptions", "bases",
  "patchesStrategicMerge"]);

const problems = [];
let checked = 0;

function walk(dir, out) {
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) walk(p, out);
    else if (/\.ya?ml$/.test(e.name)) out.push(p);
  }
  return out;
}

function checkKustomization(file, doc) {
  const dir = path.dirname(file);
  for (const key of Object.keys(doc)) {
    if (!kustomizeKeys.has(key)) problems.push(`${file}: unknown kustomization field '${key}'`);
  }
  for (const r of [...(doc.resources ?? []), ...(doc.bases ?? [])]) {
    const p = path.join(dir, r);
    if (!fs.existsSync(p)) problems.push(`${file}: resources: '${r}' does not exist`);
    else if (fs.statSync(p).isDirectory() && !fs.existsSync(path.join(p, "kustomization.yaml"))) {
      problems.push(`${file}: resources: '${r}' has no kustomization.yaml`);
    }
  }
  for (const p of doc.patchesStrategicMerge ?? []) {
    if (!fs.existsSync(path.join(dir, p))) problems.push(`${file}: patchesStrategicMerge: '${p}' does not exist`);
  }
  for (const g of doc.configMapGenerator ?? []) {
    for (const f of g.files ?? []) {
      const src = f.includes("=") ? f.split("=")[1] : f;
      if (!fs.existsSync(path.join(dir, src))) {
        problems.push(`${file}: configMapGenerator ${g.name}: file '${src}' does not exist`);
      }
    }
  }
}

// Files under deploy/k8s that are configuration read by programs, not Kubernetes objects.
const notObjects = new Set(["gateway-config.yaml", "autoscale.yaml", "prometheus.yml",
  "prometheus-adapter-rules.yaml"]);

// Strategic-merge patches are partial objects (or `$patch: delete`), not objects to validate.
const patches = new Set();
for (const root of process.argv.slice(2)) {
  for (const file of walk(root, []).filter((f) => path.basename(f) === "kustomization.yaml")) {
    for (const d of parseAllDocuments(fs.readFileSync(file, "utf8"))) {
      for (const p of d.toJS()?.patchesStrategicMerge ?? []) {
        patches.add(path.resolve(path.dirname(file), p));
      }
    }
  }
}

for (const root of process.argv.slice(2)) {
  for (const file of walk(root, []).sort()) {
    if (notObjects.has(path.basename(file)) || patches.has(path.resolve(file))) continue;
    const docs = parseAllDocuments(fs.readFileSync(file, "utf8"));
    let index = 0;
    for (const d of docs) {
      const where = `${file}:${index++}`;
      if (d.errors.length) {
        problems.push(`${where}: YAML: ${d.errors[0].message}`);
        continue;
      }
      const obj = d.toJS();
      if (obj == null) continue;
      if (obj.kind === "Kustomization") {
        checkKustomization(file, obj);
        checked++;
        continue;
      }
      const load = groups[obj.apiVersion];
      if (!load) {
        problems.push(`${where}: unknown apiVersion '${obj.apiVersion}'`);
        continue;
      }
      const mod = await load();
      const Model = mod[obj.kind];
      if (!Model) {
        problems.push(`${where}: unknown kind '${obj.kind}' in ${obj.apiVersion}`);
        continue;
      }
      try {
        new Model(obj).validate();
        checked++;
      } catch (e) {
        const details = (e.errors ?? []).map((x) => `${x.instancePath} ${x.message}`).join("; ");
        problems.push(`${where}: ${obj.kind} ${obj.metadata?.name ?? ""}: ${details || e.message}`);
      }
    }
  }
}
for (const p of problems) console.log(p);
console.log(`${checked} objects valid, ${problems.length} problems`);
process.exit(problems.length ? 1 : 0);
