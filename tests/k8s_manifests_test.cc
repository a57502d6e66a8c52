// deploy/k8s is correct before anyone applies it: every object validates against the Kubernetes and
// KEDA schemas (tools/k8s-validate under Node.js), the Prometheus configuration passes `promtool
// check config`, the Grafana dashboard is JSON whose panels query metrics surge exports, and
// surge's own parsers accept the HPA, the ScaledObject and the autoscaler's config as shipped; and
// `kubectl kustomize` (no cluster, no standalone kustomize) renders the base and every overlay with
// one surge image name:tag, one scaler, and the model-repository overlays' volume wiring.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <optional>
#include <regex>
#include <set>
#include <string>
#include <vector>

#include "autoscale/autoscale_config.h"
#include "autoscale/hpa/hpa.h"
#include "autoscale/keda.h"
#include "config/node.h"
#include "support/process.h"

namespace surge {
namespace {

using namespace std::chrono_literals;
using surge::testing::Process;

std::filesystem::path sourceDir() {
  const char* s = std::getenv("SURGE_SOURCE_DIR");
  return s ? std::filesystem::path(s) : std::filesystem::current_path();
}
std::filesystem::path k8sDir() { return sourceDir() / "deploy" / "k8s"; }

// Runs argv; returns the exit code and the stdout lines joined.
int run(const std::vector<std::string>& argv, std::string* out) {
  Process p;
  std::string err;
  const std::string log = ::testing::TempDir() + "/k8s-manifests-stderr.log";
  if (!p.start(argv, &err, log)) {
    *out = "cannot start " + argv[0] + ": " + err;
    return -1;
  }
  p.waitForLine("\x01never", 60s);  // reads stdout until EOF
  auto code = p.wait(10s);
  out->clear();
  for (const auto& l : p.lines()) *out += l + "\n";
  std::ifstream f(log);
  *out += std::string(std::istreambuf_iterator<char>(f), {});
  return code.value_or(-1);
}

TEST(K8sManifests, ValidateAgainstKubernetesAndKedaSchemas) {
  const auto validator = sourceDir() / "tools" / "k8s-validate";
  ASSERT_TRUE(std::filesystem::exists(validator / "node_modules" / "kubernetes-models"))
      << "run scripts/install-deps (npm ci in tools/k8s-validate)";
  std::string out;
  EXPECT_EQ(run({"node", (validator / "validate.mjs").string(), k8sDir().string()}, &out), 0)
      << out;
  // Every manifest file counted: at least the Deployments, Services, RBAC, HPA and ScaledObject.
  EXPECT_NE(out.find(" objects valid, 0 problems"), std::string::npos) << out;
}

TEST(K8sManifests, ValidatorRejectsABadObject) {
  const auto dir = std::filesystem::path(::testing::TempDir()) / "bad-k8s";
  std::filesystem::create_directories(dir);
  std::ofstream(dir / "bad.yaml") << "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: x}\n"
                                     "spec: {replicas: two, selector: {}, template: {}}\n";
  std::string out;
  EXPECT_EQ(run({"node", (sourceDir() / "tools/k8s-validate/validate.mjs").string(), dir.string()},
                &out),
            1)
      << out;
  EXPECT_NE(out.find("/spec/replicas"), std::string::npos) << out;
}

TEST(K8sManifests, PrometheusConfigPassesPromtool) {
  std::string out;
  EXPECT_EQ(run({"promtool", "check", "config", (k8sDir() / "base/prometheus.yml").string()}, &out),
            0)
      << out;
}

TEST(K8sManifests, GrafanaDashboardQueriesExportedMetrics) {
  std::ifstream f(k8sDir() / "base/grafana-dashboard.json");
  nlohmann::json d = nlohmann::json::parse(f, nullptr, /*allow_exceptions=*/false);
  ASSERT_FALSE(d.is_discarded());
  std::set<std::string> titles;
  for (const auto& p : d["panels"]) {
    titles.insert(p["title"].get<std::string>());
    ASSERT_FALSE(p["targets"].empty()) << p.dump();
  }
  // The issue's five panels: RPS, p99, queue length, batch size, replicas.
  for (const char* needle : {"Requests per second", "p99", "Queue length", "batch size",
                             "Replicas"}) {
    bool found = false;
    for (const auto& t : titles) found |= t.find(needle) != std::string::npos;
    EXPECT_TRUE(found) << needle;
  }
  const std::string all = d.dump();
  for (const char* metric : {"surge_gateway_requests_total", "model_latency_bucket",
                             "model_request_queue_length", "surge_serve_batch_size_sum",
                             "surge_autoscaler_desired_replicas"}) {
    EXPECT_NE(all.find(metric), std::string::npos) << metric;
  }
}

TEST(K8sManifests, SurgeParsesTheShippedHpaScaledObjectAndAutoscalerConfig) {
  auto hpa = config::Node::loadFile((k8sDir() / "overlays/hpa/hpa.yaml").string());
  ASSERT_TRUE(hpa.isOk()) << hpa.status().message();
  auto spec = autoscale::parseHpaSpec(*hpa);
  ASSERT_TRUE(spec.isOk()) << spec.status().message();
  EXPECT_EQ(spec->min_replicas, 2);
  EXPECT_EQ(spec->max_replicas, 20);
  EXPECT_EQ(spec->metrics.size(), 3u);

  auto so = config::Node::loadFile((k8sDir() / "overlays/keda/scaledobject.yaml").string());
  ASSERT_TRUE(so.isOk()) << so.status().message();
  auto keda = autoscale::parseScaledObject(*so);
  ASSERT_TRUE(keda.isOk()) << keda.status().message();

  // The policy (HPA spec, predictive, admin); `target: {kind: kubernetes}` is the Kubernetes
  // actuator's to read.
  auto root = config::Node::loadFile(
      (k8sDir() / "base/autoscale.yaml").string());
  ASSERT_TRUE(root.isOk()) << root.status().message();
  auto policy = autoscale::parseAutoscalePolicy(*root);
  ASSERT_TRUE(policy.isOk()) << policy.status().message();
  auto kind = (*root)["target"]["kind"].asString();
  ASSERT_TRUE(kind.isOk());
  EXPECT_EQ(*kind, "kubernetes");
}

// ---- kubectl kustomize: exactly what `kubectl apply -k DIR` sends ------------------------------

// The project VERSION in CMakeLists.txt: the tag of the one surge image.
std::string projectVersion() {
  std::ifstream f(sourceDir() / "CMakeLists.txt");
  const std::string all((std::istreambuf_iterator<char>(f)), {});
  std::smatch m;
  if (!std::regex_search(all, m, std::regex(R"(project\(surge VERSION ([0-9]+\.[0-9]+\.[0-9]+))"))) {
    return "";
  }
  return m[1].str();
}

struct Rendered {
  int code = -1;
  std::string err;                    // kubectl's stderr (or why it did not start)
  std::vector<config::Node> objects;  // one per YAML document
};

// Runs `kubectl kustomize dir` (kubectl's built-in kustomize: Debian 12's kubectl 1.20 has v2.0.3)
// and parses each document of its output.
Rendered kustomize(const std::filesystem::path& dir) {
  Rendered r;
  Process p;
  std::string error;
  const std::string log = ::testing::TempDir() + "/kustomize-stderr.log";
  if (!p.start({"kubectl", "kustomize", dir.string()}, &error, log)) {
    r.err = "cannot start kubectl (scripts/install-deps installs kubernetes-client): " + error;
    return r;
  }
  p.waitForLine("\x01never", 60s);  // reads stdout until EOF
  r.code = p.wait(10s).value_or(-1);
  std::ifstream f(log);
  r.err = std::string(std::istreambuf_iterator<char>(f), {});
  std::vector<std::string> docs(1);
  for (const auto& l : p.lines()) {
    if (l == "---") {
      docs.emplace_back();
    } else {
      docs.back() += l + "\n";
    }
  }
  for (size_t i = 0; i < docs.size(); ++i) {
    auto n = config::Node::loadString(docs[i], dir.string() + " document " + std::to_string(i));
    if (!n.isOk()) {
      r.code = -1;
      r.err += n.status().message() + "\n";
    } else if (!n->isNull()) {
      r.objects.push_back(*n);
    }
  }
  return r;
}

std::string str(const config::Node& n) {
  auto s = n.asString();
  return s.isOk() ? *s : "";
}

// The containers (init containers first) of every pod template in the rendered objects.
std::vector<config::Node> containers(const std::vector<config::Node>& objects) {
  std::vector<config::Node> out;
  for (const auto& o : objects) {
    const auto pod = o["spec"]["template"]["spec"];
    for (const char* key : {"initContainers", "containers"}) {
      for (const auto& c : pod[key].items()) out.push_back(c);
    }
  }
  return out;
}

const config::Node* find(const std::vector<config::Node>& objects, std::string_view kind,
                         std::string_view name) {
  for (const auto& o : objects) {
    if (str(o["kind"]) == kind && str(o["metadata"]["name"]) == name) return &o;
  }
  return nullptr;
}

// The item of a sequence (containers, volumes, mounts, env) with this name.
std::optional<config::Node> findItem(const config::Node& list, std::string_view name) {
  for (const auto& i : list.items()) {
    if (str(i["name"]) == name) return i;
  }
  return std::nullopt;
}

std::vector<std::filesystem::path> kustomizations() {
  std::vector<std::filesystem::path> dirs{k8sDir() / "base"};
  for (const auto& e : std::filesystem::directory_iterator(k8sDir() / "overlays")) {
    if (std::filesystem::exists(e.path() / "kustomization.yaml")) dirs.push_back(e.path());
  }
  std::sort(dirs.begin() + 1, dirs.end());
  return dirs;
}

TEST(K8sManifests, KustomizeRendersEveryOverlayWithOneSurgeImageAndOneScaler) {
  const std::string version = projectVersion();
  ASSERT_FALSE(version.empty()) << "no project(surge VERSION x.y.z) in CMakeLists.txt";
  const std::string image = "surge:" + version;
  const auto dirs = kustomizations();
  ASSERT_GE(dirs.size(), 6u);  // base, surge-autoscaler, hpa, keda, models-pvc, models-s3
  for (const auto& dir : dirs) {
    SCOPED_TRACE(dir.string());
    const auto r = kustomize(dir);
    ASSERT_EQ(r.code, 0) << r.err;
    ASSERT_GE(r.objects.size(), 15u) << r.err;
    int surge_containers = 0;
    for (const auto& c : containers(r.objects)) {
      const std::string img = str(c["image"]);
      const std::string repo = img.substr(0, img.find(':'));
      if (repo == "surge") {
        EXPECT_EQ(img, image) << c.location();
        ++surge_containers;
      } else {
        // Anything else is pinned to a tag (no implicit :latest).
        EXPECT_NE(img.find(':'), std::string::npos) << c.location() << " " << img;
        EXPECT_EQ(img.find(":latest"), std::string::npos) << c.location() << " " << img;
      }
    }
    EXPECT_GE(surge_containers, 2) << "model server and gateway";
    // One scaler at most: two controllers writing one scale fight each other. (The base holds
    // surge-autoscaler at 0 replicas, so that its image comes from the base's `images:` too.)
    int scalers = 0;
    for (const auto& o : r.objects) {
      const std::string kind = str(o["kind"]);
      const auto replicas = o["spec"]["replicas"].asInt();
      const bool running = !replicas.isOk() || *replicas > 0;
      scalers += kind == "HorizontalPodAutoscaler" || kind == "ScaledObject" ||
                 (kind == "Deployment" && str(o["metadata"]["name"]) == "surge-autoscaler" &&
                  running);
      // A running pod's ServiceAccount is part of the same render.
      const std::string sa = str(o["spec"]["template"]["spec"]["serviceAccountName"]);
      if (running && !sa.empty()) {
        EXPECT_NE(find(r.objects, "ServiceAccount", sa), nullptr) << o.location() << " " << sa;
      }
      if (kind != "Namespace") {
        EXPECT_EQ(str(o["metadata"]["namespace"]), "surge") << o.location() << " " << kind;
      }
      EXPECT_EQ(str(o["metadata"]["labels"]["app.kubernetes.io/part-of"]), "surge")
          << o.location() << " " << kind;
    }
    EXPECT_EQ(scalers, dir.filename() == "base" ? 0 : 1);
  }
}

TEST(K8sManifests, TheSurgeImageIsNamedInOnePlace) {
  // Exactly one kustomization names the surge image (base/), with the project VERSION as tag...
  int places = 0;
  for (const auto& dir : kustomizations()) {
    auto k = config::Node::loadFile((dir / "kustomization.yaml").string());
    ASSERT_TRUE(k.isOk()) << k.status().message();
    for (const auto& i : (*k)["images"].items()) {
      if (str(i["name"]) != "surge") continue;
      ++places;
      EXPECT_EQ(dir.filename(), "base");
      EXPECT_EQ(str(i["newName"]), "surge");
      EXPECT_EQ(str(i["newTag"]), projectVersion());
    }
  }
  EXPECT_EQ(places, 1);
  // ...and scripts/build-image tags what the manifests run.
  std::string out;
  EXPECT_EQ(run({(sourceDir() / "scripts/build-image").string(), "--print-tag"}, &out), 0) << out;
  EXPECT_EQ(out, "surge:" + projectVersion() + "\n");
}

TEST(K8sManifests, ModelRepositoryOverlaysMountTheRepository) {
  {
    SCOPED_TRACE("models-pvc");
    const auto r = kustomize(k8sDir() / "overlays/models-pvc");
    ASSERT_EQ(r.code, 0) << r.err;
    const auto* pvc = find(r.objects, "PersistentVolumeClaim", "model-repository");
    ASSERT_NE(pvc, nullptr);
    const auto* d = find(r.objects, "Deployment", "model-server");
    ASSERT_NE(d, nullptr);
    const auto pod = (*d)["spec"]["template"]["spec"];
    EXPECT_FALSE(findItem(pod["initContainers"], "demo-model").has_value());
    const auto v = findItem(pod["volumes"], "models");
    ASSERT_TRUE(v.has_value());
    EXPECT_EQ(str((*v)["persistentVolumeClaim"]["claimName"]), "model-repository");
    EXPECT_TRUE((*v)["emptyDir"].isMissing()) << v->location();
    const auto c = findItem(pod["containers"], "model-server");
    ASSERT_TRUE(c.has_value());
    const auto m = findItem((*c)["volumeMounts"], "models");
    ASSERT_TRUE(m.has_value());
    EXPECT_EQ(str((*m)["mountPath"]), "/models");
  }
  {
    SCOPED_TRACE("models-s3");
    const auto r = kustomize(k8sDir() / "overlays/models-s3");
    ASSERT_EQ(r.code, 0) << r.err;
    const auto* d = find(r.objects, "Deployment", "model-server");
    ASSERT_NE(d, nullptr);
    const auto pod = (*d)["spec"]["template"]["spec"];
    EXPECT_FALSE(findItem(pod["initContainers"], "demo-model").has_value());
    const auto sync = findItem(pod["initContainers"], "model-sync");
    ASSERT_TRUE(sync.has_value());
    EXPECT_EQ(str((*sync)["image"]), "surge-model-sync:" + projectVersion());
    EXPECT_EQ(str((*sync)["envFrom"].at(0)["secretRef"]["name"]), "model-repository-s3");
    EXPECT_TRUE(findItem((*sync)["env"], "MODEL_REPOSITORY").has_value());
    auto args = (*sync)["args"].asStringList();
    ASSERT_TRUE(args.isOk()) << args.status().message();
    ASSERT_GE(args->size(), 2u);
    EXPECT_EQ(args->at(args->size() - 2), "$(MODEL_REPOSITORY)");
    EXPECT_EQ(args->back(), "/models");
    const auto sm = findItem((*sync)["volumeMounts"], "models");
    ASSERT_TRUE(sm.has_value());
    EXPECT_EQ(str((*sm)["mountPath"]), "/models");
    const auto v = findItem(pod["volumes"], "models");
    ASSERT_TRUE(v.has_value());
    EXPECT_TRUE((*v)["emptyDir"].isMap()) << v->location();
    const auto c = findItem(pod["containers"], "model-server");
    ASSERT_TRUE(c.has_value());
    EXPECT_TRUE(findItem((*c)["volumeMounts"], "models").has_value());
  }
}

TEST(K8sManifests, KustomizeFailuresAreReported) {
  const auto dir = std::filesystem::path(::testing::TempDir()) / "bad-kustomization";
  std::filesystem::create_directories(dir);
  std::ofstream(dir / "kustomization.yaml") << "resources:\n  - missing.yaml\n";
  const auto r = kustomize(dir);
  EXPECT_NE(r.code, 0);
  EXPECT_NE(r.err.find("missing.yaml"), std::string::npos) << r.err;
}

}  // namespace
}  // namespace surge
