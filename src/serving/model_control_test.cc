// Model control (model_control.h) against a temporary repository of synthetic models: explicit
// load / reload / unload with drain, the index, none mode's refusal, polling (new, changed and
// removed models and versions; a broken config keeps the old set serving), config overrides, and
// the repository extension's JSON bodies (repository_json.h).
#include "serving/model_control.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <future>
#include <thread>

#include "metrics/registry.h"
#include "runtime/builtin_backends.h"
#include "runtime/synthetic_backend.h"
#include "serving/repository_json.h"
#include "support/wait.h"

namespace surge::serving {
namespace {

using namespace std::chrono_literals;
namespace fs = std::filesystem;

std::string config(int max_batch, const std::string& extra = "") {
  return "backend: \"synthetic\"\nmax_batch_size: " + std::to_string(max_batch) +
         "\ninput [ { name: \"x\" data_type: TYPE_FP32 dims: [ 4 ] } ]\n"
         "output [ { name: \"y\" data_type: TYPE_FP32 dims: [ 2 ] } ]\n" +
         extra;
}

// Instances of version folders holding a file named "broken" fail to load; others delegate to
// the synthetic backend.
class FlakyBackend : public runtime::Backend {
 public:
  FlakyBackend() : synthetic_(runtime::makeSyntheticBackend()) {}
  std::string_view name() const override { return "flaky"; }
  Status validate(const runtime::ModelSpec& spec) const override {
    return synthetic_->validate(spec);
  }
  StatusOr<std::unique_ptr<runtime::ModelInstance>> createInstance(
      const runtime::ModelSpec& spec, const runtime::InstanceSpec& instance) override {
    if (fs::exists(fs::path(spec.version_dir) / "broken")) {
      return internalError("cannot read " + spec.version_dir + "/broken");
    }
    return synthetic_->createInstance(spec, instance);
  }

 private:
  std::unique_ptr<runtime::Backend> synthetic_;
};

class ModelControlTest : public ::testing::Test {
 protected:
  void SetUp() override {
    runtime::registerBuiltinBackends(backends_);
    backends_.add(std::make_unique<FlakyBackend>());
    repo_ = fs::temp_directory_path() /
            ("surge-mc-" + std::to_string(::getpid()) + "-" +
             ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(repo_);
    fs::create_directories(repo_);
  }
  void TearDown() override {
    control_.reset();
    waitForReapers();
    manager_.reset();
    fs::remove_all(repo_);
  }

  void model(const std::string& name, const std::string& text,
             std::vector<std::string> versions = {"1"}) {
    fs::create_directories(repo_ / name);
    std::ofstream(repo_ / name / "config.pbtxt") << text;
    for (const auto& v : versions) fs::create_directories(repo_ / name / v);
  }

  // Starts a manager serving `startup` (scanned now; every valid model folder when
  // `valid_only`, as poll mode's start) and a control in `mode`.
  void start(ModelControlMode mode, const std::vector<std::string>& startup = {},
             bool valid_only = false) {
    auto models = valid_only ? loadRepositoryValid(repo_.string(), backends_)
                             : loadRepositoryModels(repo_.string(), startup, backends_);
    ASSERT_TRUE(models.isOk()) << models.status().message();
    manager_ = std::make_unique<ModelManager>(std::move(models).value(), backends_, registry_,
                                              SteadyClock::instance());
    manager_->start();
    ASSERT_TRUE(manager_->waitLoaded(10s));
    ModelControlOptions o;
    o.mode = mode;
    o.repository = repo_.string();
    o.poll_interval = 1h;  // tests poll with pollNow()
    o.drain_timeout = drain_timeout_;
    control_ = std::make_unique<ModelControl>(o, *manager_, backends_);
    control_->start();
  }

  std::shared_ptr<ServedModel> find(const std::string& name, const std::string& version = "") {
    auto m = manager_->find(name, version);
    return m.isOk() ? *m : nullptr;
  }

  // Tests keep weak references: a strong one would count as a request in flight and make every
  // drain wait for it.
  std::weak_ptr<ServedModel> weak(const std::string& name, const std::string& version = "") {
    return find(name, version);
  }
  bool same(const std::weak_ptr<ServedModel>& w, const std::string& name,
            const std::string& version = "") {
    auto now = find(name, version);
    return now != nullptr && now == w.lock();
  }

  std::string indexText(bool ready_only = false) {
    return renderRepositoryIndex(control_->index(ready_only));
  }

  // Reapers (abandoned loads) may still hold versions built from backends_ and registry_.
  void waitForReapers() {
    ASSERT_TRUE(testing::waitUntil([] { return ModelControl::reapersRunning() == 0; }, 20s, 5ms,
                                   "reapers done"));
  }

  Duration drain_timeout_ = 10s;
  runtime::BackendRegistry backends_;
  metrics::Registry registry_;
  fs::path repo_;
  std::unique_ptr<ModelManager> manager_;
  std::unique_ptr<ModelControl> control_;
};

TEST_F(ModelControlTest, ModeNames) {
  EXPECT_EQ(*parseModelControlMode("explicit"), ModelControlMode::kExplicit);
  EXPECT_EQ(*parseModelControlMode("POLL"), ModelControlMode::kPoll);
  EXPECT_EQ(*parseModelControlMode("none"), ModelControlMode::kNone);
  EXPECT_FALSE(parseModelControlMode("auto").isOk());
  EXPECT_STREQ(modelControlModeName(ModelControlMode::kPoll), "poll");
}

TEST_F(ModelControlTest, NoneModeRefusesLoadAndUnload) {
  model("a", config(8));
  start(ModelControlMode::kNone, {"*"});
  Status s = control_->load("a");
  EXPECT_EQ(s.code(), StatusCode::kUnavailable);
  EXPECT_EQ(s.message(), "explicit model load / unload is not allowed if polling is enabled");
  EXPECT_EQ(control_->unload("a").code(), StatusCode::kUnavailable);
  EXPECT_NE(find("a"), nullptr);
}

TEST_F(ModelControlTest, ExplicitLoadUnloadAndIndex) {
  model("a", config(8));
  model("b", config(4));
  start(ModelControlMode::kExplicit, {"a"});
  EXPECT_EQ(indexText(), R"([{"name":"a","version":"1","state":"READY"},{"name":"b"}])");
  EXPECT_EQ(find("b"), nullptr);

  ASSERT_TRUE(control_->load("b").isOk());
  ASSERT_NE(find("b"), nullptr);
  EXPECT_TRUE(find("b")->ready());  // load answers once ready
  auto b = weak("b");
  EXPECT_EQ(
      indexText(true),
      R"([{"name":"a","version":"1","state":"READY"},{"name":"b","version":"1","state":"READY"}])");
  // Loading again with nothing changed keeps the same instances.
  ASSERT_TRUE(control_->load("b").isOk());
  EXPECT_TRUE(same(b, "b"));

  ASSERT_TRUE(control_->unload("b").isOk());
  EXPECT_EQ(find("b"), nullptr);
  auto missing = manager_->find("b", "");
  EXPECT_EQ(missing.status().code(), StatusCode::kNotFound);
  EXPECT_EQ(indexText(),
            R"([{"name":"a","version":"1","state":"READY"},)"
            R"({"name":"b","version":"1","state":"UNAVAILABLE","reason":"unloaded"}])");
  EXPECT_EQ(indexText(true), R"([{"name":"a","version":"1","state":"READY"}])");
  EXPECT_TRUE(control_->unload("b").isOk());  // unloading what is not loaded is no error

  // Drained, stopped and freed.
  EXPECT_TRUE(b.expired());
  // Its series are gone from /metrics (as Triton removes them); a's stay.
  std::string page = registry_.render();
  EXPECT_EQ(page.find("nv_inference_request_success{model=\"b\""), std::string::npos) << page;
  EXPECT_EQ(page.find("model_latency_count{model=\"b\""), std::string::npos) << page;
  EXPECT_NE(page.find("nv_inference_request_success{model=\"a\""), std::string::npos) << page;

  Status unknown = control_->load("nope");
  EXPECT_EQ(unknown.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(unknown.message().find("failed to load 'nope'"), std::string::npos);
  EXPECT_TRUE(control_->load("b").isOk());
  EXPECT_NE(find("b"), nullptr);
  EXPECT_NE(registry_.render().find("nv_inference_request_success{model=\"b\""),
            std::string::npos);
}

TEST_F(ModelControlTest, ReloadKeepsUnchangedVersionsAndSwapsChangedOnes) {
  model("m", config(8, "version_policy: { all: {} }\n"), {"1", "2"});
  start(ModelControlMode::kExplicit, {"m"});
  auto v1 = weak("m", "1"), v2 = weak("m", "2");
  ASSERT_FALSE(v1.expired());
  ASSERT_FALSE(v2.expired());

  // A new version folder: 1 and 2 keep their instances, 3 is added.
  fs::create_directories(repo_ / "m" / "3");
  ASSERT_TRUE(control_->load("m").isOk());
  EXPECT_TRUE(same(v1, "m", "1"));
  EXPECT_TRUE(same(v2, "m", "2"));
  ASSERT_NE(find("m", "3"), nullptr);

  // Version 2's files change: only 2 is rebuilt.
  std::ofstream(repo_ / "m" / "2" / "model.bin") << "weights";
  ASSERT_TRUE(control_->load("m").isOk());
  EXPECT_TRUE(same(v1, "m", "1"));
  EXPECT_FALSE(same(v2, "m", "2"));
  EXPECT_TRUE(v2.expired());  // the old version 2 was drained and freed
  // The rebuilt version 2 keeps exporting its (shared) series.
  EXPECT_NE(registry_.render().find("nv_inference_request_success{model=\"m\",version=\"2\"}"),
            std::string::npos);

  // Version 1 removed from disk: unloaded; the others stay.
  auto v3 = weak("m", "3");
  fs::remove_all(repo_ / "m" / "1");
  ASSERT_TRUE(control_->load("m").isOk());
  EXPECT_EQ(find("m", "1"), nullptr);
  EXPECT_TRUE(same(v3, "m", "3"));
  EXPECT_EQ(registry_.render().find("nv_inference_request_success{model=\"m\",version=\"1\"}"),
            std::string::npos);

  // The config changes: every version reloads with it.
  std::ofstream(repo_ / "m" / "config.pbtxt") << config(4, "version_policy: { all: {} }\n");
  ASSERT_TRUE(control_->load("m").isOk());
  EXPECT_FALSE(same(v3, "m", "3"));
  EXPECT_EQ(find("m", "3")->spec().max_batch_size, 4);
}

TEST_F(ModelControlTest, FailedReloadKeepsTheOldVersionsServing) {
  model("m", config(8));
  start(ModelControlMode::kExplicit, {"m"});
  auto v1 = weak("m");
  std::ofstream(repo_ / "m" / "config.pbtxt") << "max_batch_size: oops";
  Status s = control_->load("m");
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("load failed for model 'm'"), std::string::npos) << s.message();
  EXPECT_TRUE(same(v1, "m"));
  auto index = control_->index(false);
  ASSERT_EQ(index.size(), 1u);
  EXPECT_EQ(index[0].state, "READY");
  EXPECT_NE(index[0].reason.find("load failed"), std::string::npos);

  // Fixed: the next load succeeds and clears the reason.
  std::ofstream(repo_ / "m" / "config.pbtxt") << config(8);
  ASSERT_TRUE(control_->load("m").isOk());
  EXPECT_EQ(control_->index(false)[0].reason, "");
}

TEST_F(ModelControlTest, VersionThatFailsToLoadLeavesTheOldSetServing) {
  std::string flaky = config(8, "version_policy: { all: {} }\n");
  flaky.replace(flaky.find("synthetic"), 9, "flaky");
  model("m", flaky, {"1"});
  start(ModelControlMode::kExplicit, {"m"});
  auto v1 = weak("m", "1");
  fs::create_directories(repo_ / "m" / "2");
  std::ofstream(repo_ / "m" / "2" / "broken") << "";
  Status s = control_->load("m");
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("version 2: instance m_0: cannot read"), std::string::npos)
      << s.message();
  EXPECT_TRUE(same(v1, "m", "1"));
  EXPECT_EQ(find("m", "2"), nullptr);
  std::string idx = indexText();
  EXPECT_NE(idx.find(R"({"name":"m","version":"2","state":"UNAVAILABLE","reason":"load failed)"),
            std::string::npos)
      << idx;
  fs::remove(repo_ / "m" / "2" / "broken");
  ASSERT_TRUE(control_->load("m").isOk());
  EXPECT_TRUE(same(v1, "m", "1"));
  EXPECT_NE(find("m", "2"), nullptr);
}

TEST_F(ModelControlTest, ConfigOverride) {
  model("m", config(8));
  start(ModelControlMode::kExplicit, {"m"});
  auto before = weak("m");
  const std::string json = R"({"backend":"synthetic","max_batch_size":2,
      "input":[{"name":"x","data_type":"TYPE_FP32","dims":[4]}],
      "output":[{"name":"y","data_type":"TYPE_FP32","dims":[2]}],
      "model_warmup":[]})";
  ASSERT_TRUE(control_->load("m", json).isOk());
  EXPECT_EQ(find("m")->spec().max_batch_size, 2);
  EXPECT_FALSE(same(before, "m"));
  // Loading without the override goes back to config.pbtxt.
  ASSERT_TRUE(control_->load("m").isOk());
  EXPECT_EQ(find("m")->spec().max_batch_size, 8);

  Status bad = control_->load("m", "{not json");
  EXPECT_EQ(bad.code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(bad.message().rfind("Invalid config override: ", 0), 0u) << bad.message();
  Status invalid = control_->load("m", R"({"backend":"synthetic","max_batch_size":2})");
  EXPECT_EQ(invalid.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(invalid.message().find("input"), std::string::npos) << invalid.message();
  EXPECT_EQ(find("m")->spec().max_batch_size, 8);  // still serving
}

TEST_F(ModelControlTest, UnloadDrainsRequestsInFlight) {
  model("m", config(8));
  model("other", config(8));
  start(ModelControlMode::kExplicit, {"*"});
  auto held = find("m");  // a request in flight holds its version
  auto unloaded = std::async(std::launch::async, [&] { return control_->unload("m"); });
  ASSERT_TRUE(testing::waitUntil([&] { return find("m") == nullptr; }, 5s, 1ms, "out of lookup"));
  EXPECT_EQ(unloaded.wait_for(100ms), std::future_status::timeout);  // still draining
  auto index = control_->index(false);
  ASSERT_EQ(index.size(), 2u);
  EXPECT_EQ(index[0].state, "UNLOADING");
  EXPECT_EQ(index[1].state, "READY");  // the other model serves throughout
  EXPECT_NE(find("other"), nullptr);
  held.reset();  // the request finishes
  ASSERT_EQ(unloaded.wait_for(5s), std::future_status::ready);
  EXPECT_TRUE(unloaded.get().isOk());
  EXPECT_EQ(control_->index(false)[0].reason, "unloaded");
}

TEST_F(ModelControlTest, PollAppliesNewChangedAndRemovedModels) {
  model("keep", config(8));
  model("gone", config(8));
  start(ModelControlMode::kPoll, {"*"});
  auto keep = weak("keep");
  // Poll mode refuses explicit requests.
  EXPECT_EQ(control_->load("keep").code(), StatusCode::kUnavailable);

  model("fresh", config(8));
  fs::remove_all(repo_ / "gone");
  control_->pollNow();
  EXPECT_NE(find("fresh"), nullptr);
  EXPECT_EQ(find("gone"), nullptr);
  EXPECT_TRUE(same(keep, "keep"));  // untouched

  // A broken config keeps the old version serving; fixing it reloads.
  auto fresh = weak("fresh");
  std::ofstream(repo_ / "fresh" / "config.pbtxt") << "max_batch_size: [";
  control_->pollNow();
  EXPECT_TRUE(same(fresh, "fresh"));
  auto idx = control_->index(false);
  ASSERT_EQ(idx.size(), 2u);
  EXPECT_EQ(idx[0].name, "fresh");
  EXPECT_EQ(idx[0].state, "READY");
  EXPECT_NE(idx[0].reason.find("load failed"), std::string::npos);
  std::ofstream(repo_ / "fresh" / "config.pbtxt") << config(2);
  control_->pollNow();
  ASSERT_NE(find("fresh"), nullptr);
  EXPECT_EQ(find("fresh")->spec().max_batch_size, 2);
  EXPECT_TRUE(same(keep, "keep"));

  // A new version under the latest policy replaces the old one.
  fs::create_directories(repo_ / "keep" / "2");
  control_->pollNow();
  EXPECT_EQ(find("keep", "1"), nullptr);
  ASSERT_NE(find("keep", "2"), nullptr);
}

TEST_F(ModelControlTest, FingerprintSeesFileChanges) {
  model("m", config(8), {"1", "2"});
  ModelFingerprint a = fingerprintModel((repo_ / "m").string());
  EXPECT_EQ(a.versions.size(), 2u);
  EXPECT_EQ(fingerprintModel((repo_ / "m").string()), a);
  std::ofstream(repo_ / "m" / "1" / "model.pt") << "x";
  ModelFingerprint b = fingerprintModel((repo_ / "m").string());
  EXPECT_EQ(b.config, a.config);
  EXPECT_NE(b.versions[1], a.versions[1]);
  EXPECT_EQ(b.versions[2], a.versions[2]);
  std::ofstream(repo_ / "m" / "labels.txt") << "cat\n";
  EXPECT_NE(fingerprintModel((repo_ / "m").string()).config, b.config);
}

// --- regressions of the model control review ----------------------------------------------------

bool validUtf8(const std::string& s) {
  for (size_t i = 0; i < s.size();) {
    auto c = static_cast<unsigned char>(s[i]);
    size_t n = c < 0x80             ? 1
               : (c & 0xE0) == 0xC0 ? 2
               : (c & 0xF0) == 0xE0 ? 3
               : (c & 0xF8) == 0xF0 ? 4
                                    : 0;
    if (n == 0 || i + n > s.size()) return false;
    for (size_t k = 1; k < n; ++k) {
      if ((static_cast<unsigned char>(s[i + k]) & 0xC0) != 0x80) return false;
    }
    i += n;
  }
  return true;
}

TEST(ModelNames, Validation) {
  for (const char* ok : {"m", "resnet.v1", "a-b_c", "mod\xc3\xa8le", "x..y"}) {
    EXPECT_TRUE(validateModelName(ok).isOk()) << ok;
  }
  EXPECT_TRUE(validateModelName(std::string(kMaxModelNameBytes, 'a')).isOk());
  const std::vector<std::string> bad = {
      "",  ".", "..", ".hidden", "a/b", "a\\b", "../../../../proc", std::string("st\0x", 4),
      "a\nb", "a\x01", "a\x7f", "\xff", "\xc3", "\xc0\xaf", "\xed\xa0\x80", "a\xc2\x85",
      std::string(kMaxModelNameBytes + 1, 'a')};
  for (const auto& name : bad) {
    Status s = validateModelName(name);
    EXPECT_EQ(s.code(), StatusCode::kInvalidArgument) << printableName(name);
    EXPECT_TRUE(validUtf8(s.message())) << s.message();
    for (char c : s.message()) EXPECT_GE(static_cast<unsigned char>(c), 0x20) << s.message();
  }
  EXPECT_EQ(printableName(std::string("st\0\xff\n'", 6)), "st\\x00\\xff\\x0a\\x27");
  EXPECT_EQ(printableName(std::string(100, 'a')), std::string(64, 'a') + "...");
}

TEST_F(ModelControlTest, BadNamesFailFirstAndLeaveNoState) {
  model("steady", config(8));
  start(ModelControlMode::kExplicit, {"steady"});
  const std::string override_json = R"({"backend":"synthetic","max_batch_size":2,
      "input":[{"name":"x","data_type":"TYPE_FP32","dims":[4]}],
      "output":[{"name":"y","data_type":"TYPE_FP32","dims":[2]}]})";
  // The file system cuts "steady\0..." at the NUL: without the check it named steady's folder.
  const std::string nul = std::string("steady\0\xff\n", 9);
  for (const std::string& name : {nul, std::string("../steady"), std::string("..")}) {
    Status s = control_->load(name, override_json);
    EXPECT_EQ(s.code(), StatusCode::kInvalidArgument) << s.message();
    EXPECT_EQ(s.message().rfind("invalid model name '", 0), 0u) << s.message();
    EXPECT_TRUE(validUtf8(s.message()));
    EXPECT_EQ(control_->unload(name).code(), StatusCode::kInvalidArgument);
    EXPECT_EQ(find(name), nullptr);
  }
  EXPECT_EQ(manager_->all().size(), 1u);
  EXPECT_EQ(control_->recordCount(), 1u);
  EXPECT_EQ(registry_.render().find("\xff"), std::string::npos);
  // A folder with such a name in the repository is skipped by the scan, the poll and the index.
  fs::create_directories(repo_ / "bad\x01name" / "1");
  std::ofstream(repo_ / "bad\x01name" / "config.pbtxt") << config(8);
  auto folders = listModelFolders(repo_.string());
  ASSERT_TRUE(folders.isOk());
  EXPECT_EQ(*folders, std::vector<std::string>{"steady"});
  control_->pollNow();
  EXPECT_EQ(indexText(), R"([{"name":"steady","version":"1","state":"READY"}])");
}

TEST_F(ModelControlTest, UnknownNamesLeaveNoState) {
  model("m", config(8));
  start(ModelControlMode::kExplicit, {"m"});
  for (int i = 0; i < 200; ++i) {
    Status l = control_->load("nope" + std::to_string(i));
    EXPECT_EQ(l.code(), StatusCode::kInvalidArgument);
    EXPECT_EQ(l.message(), "failed to load 'nope" + std::to_string(i) + "': no model folder 'nope" +
                               std::to_string(i) + "' in the repository");
    EXPECT_TRUE(control_->unload("gone" + std::to_string(i)).isOk());  // Triton: 200
  }
  EXPECT_EQ(control_->recordCount(), 1u);
  EXPECT_EQ(indexText(), R"([{"name":"m","version":"1","state":"READY"}])");
  // Unloading a served model whose folder is gone forgets it once it is drained.
  ASSERT_TRUE(control_->unload("m").isOk());
  fs::remove_all(repo_ / "m");
  ASSERT_TRUE(control_->unload("m").isOk());
  EXPECT_EQ(control_->recordCount(), 0u);
}

TEST_F(ModelControlTest, ClientMessagesHaveNoServerPaths) {
  model("m", "backend: \"synthetic\"\nmax_batch_size: [\n");
  start(ModelControlMode::kExplicit);
  Status s = control_->load("m");
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(s.message().find(repo_.string()), std::string::npos) << s.message();
  EXPECT_EQ(s.message().rfind("load failed for model 'm': m/config.pbtxt", 0), 0u) << s.message();
  EXPECT_EQ(indexText().find(repo_.string()), std::string::npos) << indexText();
}

TEST_F(ModelControlTest, FailedFirstLoadLeavesNoMetricSeries) {
  std::string flaky = config(8);
  flaky.replace(flaky.find("synthetic"), 9, "flaky");
  model("f", flaky);
  std::ofstream(repo_ / "f" / "1" / "broken") << "";
  start(ModelControlMode::kExplicit);
  EXPECT_EQ(control_->load("f").code(), StatusCode::kInvalidArgument);
  std::string page = registry_.render();
  EXPECT_EQ(page.find("model=\"f\""), std::string::npos) << page;
}

TEST_F(ModelControlTest, UnreadableConfigIsRecordedLikeAnyLoadError) {
  model("m", config(8));
  fs::remove(repo_ / "m" / "config.pbtxt");
  fs::create_directories(repo_ / "m" / "config.pbtxt");  // exists, cannot be read as a file
  start(ModelControlMode::kExplicit);
  Status s = control_->load("m");
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("m/config.pbtxt: cannot read"), std::string::npos) << s.message();
  auto idx = control_->index(false);
  ASSERT_EQ(idx.size(), 1u);
  EXPECT_EQ(idx[0].state, "UNAVAILABLE");
  EXPECT_EQ(idx[0].reason, s.message());
}

TEST_F(ModelControlTest, PollModeStartsWithBrokenAndUnfinishedFolders) {
  {
    auto empty = loadRepositoryValid(repo_.string(), backends_);
    ASSERT_TRUE(empty.isOk());
    EXPECT_TRUE(empty->empty());
  }
  model("ok", config(8));
  fs::create_directories(repo_ / "half" / "1");  // being copied: no config.pbtxt yet
  model("broken", "max_batch_size: [\n");
  start(ModelControlMode::kPoll, {}, /*valid_only=*/true);
  control_->pollNow();
  auto idx = control_->index(false);
  ASSERT_EQ(idx.size(), 3u) << indexText();
  EXPECT_EQ(idx[0].name, "broken");
  EXPECT_EQ(idx[0].state, "UNAVAILABLE");
  EXPECT_EQ(idx[1].name, "half");
  EXPECT_EQ(idx[1].state, "UNAVAILABLE");
  EXPECT_NE(idx[1].reason.find("half: missing config.pbtxt"), std::string::npos) << idx[1].reason;
  EXPECT_EQ(idx[2].state, "READY");
  std::ofstream(repo_ / "half" / "config.pbtxt") << config(8);
  control_->pollNow();
  EXPECT_NE(find("half"), nullptr);
}

TEST_F(ModelControlTest, StopDoesNotWaitForAnAbandonedLoad) {
  model("slow",
        config(8, R"(parameters { key: "load_latency_us" value { string_value: "3000000" } })"));
  start(ModelControlMode::kExplicit);
  std::promise<Status> answered;
  control_->loadAsync("slow", std::nullopt, [&](Status s) { answered.set_value(s); });
  ASSERT_TRUE(testing::waitUntil(
      [&] {
        auto idx = control_->index(false);
        return !idx.empty() && idx[0].state == "LOADING";
      },
      5s, 1ms, "loading"));
  auto t0 = std::chrono::steady_clock::now();
  control_->stop();
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 1s);
  EXPECT_EQ(answered.get_future().get().code(), StatusCode::kUnavailable);
  EXPECT_EQ(registry_.render().find("model=\"slow\""), std::string::npos);
  waitForReapers();
}

TEST_F(ModelControlTest, UnloadDrainIsBoundedByTheDrainTimeout) {
  // 1 row per batch, 100 ms each: 30 queued requests would take 3 s.
  model("m",
        config(1, R"(parameters { key: "base_latency_us" value { string_value: "100000" } })"));
  drain_timeout_ = 300ms;
  start(ModelControlMode::kExplicit, {"m"});
  std::atomic<int> answered{0}, unloaded{0};
  for (int i = 0; i < 30; ++i) {
    auto w = std::make_unique<InferWork>();
    w->inputs.emplace_back(runtime::DataType::kFp32, runtime::Shape{1, 4});
    w->outputs_wanted = {true};
    // Like the inference service: the request holds its version until answered.
    w->done = [held = find("m"), &answered, &unloaded](WorkResult&& r) {
      if (r.status.code() == StatusCode::kUnavailable &&
          r.status.message() == "model 'm' was unloaded") {
        unloaded.fetch_add(1);
      }
      answered.fetch_add(1);
    };
    ASSERT_TRUE(find("m")->batcher().enqueue(std::move(w)).isOk());
  }
  auto t0 = std::chrono::steady_clock::now();
  ASSERT_TRUE(control_->unload("m").isOk());
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 1500ms);
  EXPECT_EQ(answered.load(), 30);
  EXPECT_GE(unloaded.load(), 20);
}

TEST_F(ModelControlTest, PendingOperationsAndOverridesAreCapped) {
  model("slow",
        config(8, R"(parameters { key: "load_latency_us" value { string_value: "2000000" } })"));
  model("m", config(8));
  start(ModelControlMode::kExplicit);
  Status big = control_->load("m", std::string(ModelControl::kMaxConfigOverrideBytes + 1, ' '));
  EXPECT_EQ(big.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(big.message().find("at most 1048576"), std::string::npos) << big.message();

  std::atomic<int> answers{0}, refused{0};
  auto count = [&](Status s) {
    if (s.code() == StatusCode::kResourceExhausted) refused.fetch_add(1);
    answers.fetch_add(1);
  };
  control_->loadAsync("slow", std::nullopt, count);
  const int n = static_cast<int>(ModelControl::kMaxPendingOperations) + 10;
  for (int i = 0; i < n; ++i) control_->unloadAsync("u" + std::to_string(i), count);
  EXPECT_GE(refused.load(), 10);
  control_->stop();  // the queued ones answer Unavailable, the load is abandoned
  EXPECT_EQ(answers.load(), n + 1);
}

TEST_F(ModelControlTest, DuplicatePendingOperationsCoalesce) {
  model("slow",
        config(8, R"(parameters { key: "load_latency_us" value { string_value: "300000" } })"));
  model("m", config(8));
  start(ModelControlMode::kExplicit, {"m"});
  std::promise<Status> slow;
  control_->loadAsync("slow", std::nullopt, [&](Status s) { slow.set_value(s); });
  // Queued behind the slow load: 200 equal unloads are one operation (none refused), then a
  // load of the same model after them is its own operation and runs after the unload.
  std::atomic<int> ok{0};
  for (int i = 0; i < 200; ++i) {
    control_->unloadAsync("m", [&](Status s) { ok.fetch_add(s.isOk() ? 1 : 0); });
  }
  std::promise<Status> reloaded;
  control_->loadAsync("m", std::nullopt, [&](Status s) { reloaded.set_value(s); });
  EXPECT_TRUE(slow.get_future().get().isOk());
  EXPECT_TRUE(reloaded.get_future().get().isOk());
  EXPECT_EQ(ok.load(), 200);
  EXPECT_NE(find("m"), nullptr);  // load ran after the unload
}

TEST(RepositoryJson, Bodies) {
  EXPECT_EQ(*parseIndexRequest(""), false);
  EXPECT_EQ(*parseIndexRequest(R"({"ready":true})"), true);
  EXPECT_EQ(*parseIndexRequest("{}"), false);
  EXPECT_FALSE(parseIndexRequest(R"({"ready":"yes"})").isOk());
  EXPECT_FALSE(parseIndexRequest("[").isOk());

  EXPECT_FALSE(parseLoadRequest("").value().has_value());
  EXPECT_EQ(parseLoadRequest(R"({"parameters":{"config":"{}"}})").value().value(), "{}");
  auto file = parseLoadRequest(R"({"parameters":{"file:1/model.pt":"AAAA"}})");
  ASSERT_FALSE(file.isOk());
  EXPECT_NE(file.status().message().find("not supported"), std::string::npos);
  EXPECT_FALSE(parseLoadRequest(R"({"parameters":{"config":3}})").isOk());
  EXPECT_FALSE(parseLoadRequest(R"({"parameters":{"whatever":"x"}})").isOk());

  EXPECT_EQ(*parseUnloadRequest(""), false);
  EXPECT_EQ(*parseUnloadRequest(R"({"parameters":{"unload_dependents":true}})"), true);
  EXPECT_FALSE(parseUnloadRequest(R"({"parameters":{"unload_dependents":1}})").isOk());

  EXPECT_EQ(
      renderRepositoryIndex(
          {{"a", "1", "READY", ""}, {"b", "", "", ""}, {"c", "2", "UNAVAILABLE", "bad \"x\""}}),
      R"([{"name":"a","version":"1","state":"READY"},{"name":"b"},)"
      R"({"name":"c","version":"2","state":"UNAVAILABLE","reason":"bad \"x\""}])");
}

}  // namespace
}  // namespace surge::serving
