// The module dependency rule, checked: every production source file under src/ belongs to one
// module declared in docs/design/architecture.md (the ```module-deps block), and every quoted
// #include of another module's header is an edge that block allows. A new wrong edge fails here
// with the file and line; a new module fails until the document declares it. The declared graph
// itself must be acyclic. Test-only files (*_test.cc, *_benchmark.cc, test_util.h) are exempt:
// a test may reach into what it tests.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <vector>

namespace {

namespace fs = std::filesystem;

struct Rules {
  std::map<std::string, std::set<std::string>> allowed;  // module -> modules it may include
};

std::string sourceDir() { return SURGE_SOURCE_DIR; }

// Reads the ```module-deps block: "module: dep dep ..." per line, '#' starts a comment.
Rules readRules(std::string* error) {
  Rules rules;
  const std::string path = sourceDir() + "/docs/design/architecture.md";
  std::ifstream in(path);
  if (!in) {
    *error = "cannot read " + path;
    return rules;
  }
  std::string line;
  bool inside = false;
  int lineno = 0;
  while (std::getline(in, line)) {
    ++lineno;
    if (!inside) {
      if (line.rfind("```module-deps", 0) == 0) inside = true;
      continue;
    }
    if (line.rfind("```", 0) == 0) return rules;
    if (auto hash = line.find('#'); hash != std::string::npos) line.resize(hash);
    auto colon = line.find(':');
    if (colon == std::string::npos) {
      if (line.find_first_not_of(" \t") != std::string::npos) {
        *error = path + ":" + std::to_string(lineno) + ": expected 'module: deps...'";
        return rules;
      }
      continue;
    }
    std::istringstream name(line.substr(0, colon));
    std::string module;
    name >> module;
    auto& deps = rules.allowed[module];
    std::istringstream rest(line.substr(colon + 1));
    for (std::string dep; rest >> dep;) deps.insert(dep);
  }
  if (!inside) *error = path + ": no ```module-deps block";
  else *error = path + ": unterminated ```module-deps block";
  return rules;
}

// The declared module a path (relative to src/) belongs to: the longest module name that is the
// path's directory prefix ("autoscale/hpa" for "autoscale/hpa/sync.cc") or the path without its
// extension ("net/http_client" for "net/http_client.h"). "" when none.
std::string moduleOf(const Rules& rules, const std::string& rel) {
  std::string best;
  for (const auto& [module, deps] : rules.allowed) {
    (void)deps;
    bool dir = rel.size() > module.size() && rel.compare(0, module.size(), module) == 0 &&
               rel[module.size()] == '/';
    bool stem = false;
    if (rel.size() > module.size() && rel.compare(0, module.size(), module) == 0 &&
        rel[module.size()] == '.' && rel.find('/', module.size()) == std::string::npos) {
      stem = true;
    }
    if ((dir || stem) && module.size() > best.size()) best = module;
  }
  return best;
}

bool testOnly(const fs::path& p) {
  const std::string name = p.filename().string();
  auto ends = [&](const std::string& s) {
    return name.size() >= s.size() && name.compare(name.size() - s.size(), s.size(), s) == 0;
  };
  return ends("_test.cc") || ends("_benchmark.cc") || ends("test_util.h");
}

struct Source {
  std::string rel;  // relative to src/
  fs::path path;
};

std::vector<Source> productionSources() {
  std::vector<Source> out;
  const fs::path src = fs::path(sourceDir()) / "src";
  for (const auto& e : fs::recursive_directory_iterator(src)) {
    if (!e.is_regular_file()) continue;
    const auto ext = e.path().extension().string();
    if (ext != ".h" && ext != ".cc") continue;
    if (testOnly(e.path())) continue;
    out.push_back({fs::relative(e.path(), src).generic_string(), e.path()});
  }
  std::sort(out.begin(), out.end(), [](const Source& a, const Source& b) { return a.rel < b.rel; });
  return out;
}

TEST(Architecture, RulesParseAndNameOnlyDeclaredModules) {
  std::string error;
  Rules rules = readRules(&error);
  ASSERT_TRUE(error.empty()) << error;
  ASSERT_GE(rules.allowed.size(), 10u);
  for (const auto& [module, deps] : rules.allowed) {
    EXPECT_TRUE(fs::exists(fs::path(sourceDir()) / "src" / module) ||
                fs::exists(fs::path(sourceDir()) / "src" / (module + ".h")))
        << "module '" << module << "' has no directory or header under src/";
    for (const auto& d : deps) {
      EXPECT_TRUE(rules.allowed.count(d)) << module << " allows undeclared module " << d;
      EXPECT_NE(d, module) << module << " lists itself";
    }
  }
}

TEST(Architecture, DeclaredGraphIsAcyclic) {
  std::string error;
  Rules rules = readRules(&error);
  ASSERT_TRUE(error.empty()) << error;
  std::map<std::string, int> state;  // 0 new, 1 on stack, 2 done
  std::vector<std::string> stack;
  std::function<void(const std::string&)> visit = [&](const std::string& m) {
    state[m] = 1;
    stack.push_back(m);
    for (const auto& d : rules.allowed[m]) {
      if (state[d] == 1) {
        std::string cycle;
        for (auto it = std::find(stack.begin(), stack.end(), d); it != stack.end(); ++it) {
          cycle += *it + " -> ";
        }
        ADD_FAILURE() << "cycle: " << cycle << d;
      } else if (state[d] == 0) {
        visit(d);
      }
    }
    stack.pop_back();
    state[m] = 2;
  };
  for (const auto& [module, deps] : rules.allowed) {
    (void)deps;
    if (state[module] == 0) visit(module);
  }
}

TEST(Architecture, EveryIncludeIsAnAllowedEdge) {
  std::string error;
  Rules rules = readRules(&error);
  ASSERT_TRUE(error.empty()) << error;
  const auto sources = productionSources();
  ASSERT_GT(sources.size(), 100u);
  size_t edges = 0;
  for (const auto& s : sources) {
    const std::string self = moduleOf(rules, s.rel);
    if (self.empty()) {
      ADD_FAILURE() << "src/" << s.rel
                    << " belongs to no module of docs/design/architecture.md (module-deps)";
      continue;
    }
    std::ifstream in(s.path);
    std::string line;
    int lineno = 0;
    while (std::getline(in, line)) {
      ++lineno;
      auto p = line.find_first_not_of(" \t");
      if (p == std::string::npos || line.compare(p, 8, "#include") != 0) continue;
      auto q1 = line.find('"', p);
      if (q1 == std::string::npos) continue;  // <system> header
      auto q2 = line.find('"', q1 + 1);
      if (q2 == std::string::npos) continue;
      const std::string target = line.substr(q1 + 1, q2 - q1 - 1);
      const std::string other = moduleOf(rules, target);
      if (other.empty()) {
        if (target.find('/') == std::string::npos) continue;  // a sibling header, same module
        ADD_FAILURE() << "src/" << s.rel << ":" << lineno << ": includes \"" << target
                      << "\", which belongs to no declared module";
        continue;
      }
      if (other == self) continue;
      ++edges;
      if (!rules.allowed[self].count(other)) {
        std::string allowed;
        for (const auto& d : rules.allowed[self]) allowed += " " + d;
        ADD_FAILURE() << "src/" << s.rel << ":" << lineno << ": module '" << self
                      << "' includes \"" << target << "\" (module '" << other
                      << "'), which docs/design/architecture.md does not allow; '" << self
                      << "' may use:" << (allowed.empty() ? " nothing" : allowed);
      }
    }
  }
  EXPECT_GT(edges, 50u);  // the scan saw the real include graph
}

// The rule bites: a made-up wrong edge is reported.
TEST(Architecture, ModuleOfUsesLongestDeclaredPrefix) {
  Rules rules;
  rules.allowed["autoscale"] = {};
  rules.allowed["autoscale/hpa"] = {};
  rules.allowed["net"] = {};
  rules.allowed["net/http_client"] = {};
  EXPECT_EQ(moduleOf(rules, "autoscale/hpa/sync.cc"), "autoscale/hpa");
  EXPECT_EQ(moduleOf(rules, "autoscale/controller/controller.h"), "autoscale");
  EXPECT_EQ(moduleOf(rules, "net/http_client.h"), "net/http_client");
  EXPECT_EQ(moduleOf(rules, "net/http_client_test.cc"), "net");
  EXPECT_EQ(moduleOf(rules, "net/http_parser.h"), "net");
  EXPECT_EQ(moduleOf(rules, "lb/balancer.h"), "");
}

}  // namespace
