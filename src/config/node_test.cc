#include "config/node.h"

#include <gtest/gtest.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <fstream>

namespace surge::config {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

// Line numbers in the expectations below refer to this text.
constexpr std::string_view kGateway =
    "listen: 0.0.0.0:8080\n"      // 1
    "timeout: 2s\n"               // 2
    "workers: 4\n"                // 3
    "ratio: 0.75\n"               // 4
    "tls: false\n"                // 5
    "max_body: 64MiB\n"           // 6
    "backends:\n"                 // 7
    "  - address: 10.0.0.1:80\n"  // 8
    "    weight: 3\n"             // 9
    "  - address: 10.0.0.2:80\n"  // 10
    "    weight: lots\n"          // 11
    "empty:\n"                    // 12
    "tags: [a, b, c]\n"           // 13
    "retry:\n"                    // 14
    "  per_try_timeout: 150ms\n"  // 15
    "  budget: {ratio: 2.5}\n";   // 16

Node load(std::string_view text) {
  auto n = Node::loadString(text, "gw.yaml");
  EXPECT_TRUE(n.isOk()) << n.status().toString();
  return n.isOk() ? *n : Node();
}

std::string loadError(std::string_view text) {
  auto n = Node::loadString(text, "bad.yaml");
  EXPECT_FALSE(n.isOk());
  EXPECT_EQ(n.status().code(), StatusCode::kInvalidArgument);
  return n.status().message();
}

TEST(Node, ReadsEveryType) {
  Node root = load(kGateway);
  ASSERT_TRUE(root.isMap());
  EXPECT_EQ(*root["listen"].asString(), "0.0.0.0:8080");
  EXPECT_EQ(*root["timeout"].asDuration(), seconds(2));
  EXPECT_EQ(*root["workers"].asInt(), 4);
  EXPECT_DOUBLE_EQ(*root["ratio"].asDouble(), 0.75);
  EXPECT_DOUBLE_EQ(*root["workers"].asDouble(), 4.0);
  EXPECT_EQ(*root["tls"].asBool(), false);
  EXPECT_EQ(*root["max_body"].asBytes(), 64u << 20);
  EXPECT_EQ(*root["retry"]["per_try_timeout"].asDuration(), milliseconds(150));
  EXPECT_DOUBLE_EQ(*root["retry"]["budget"]["ratio"].asDouble(), 2.5);
  EXPECT_EQ(*root["tags"].asStringList(), (std::vector<std::string>{"a", "b", "c"}));
  // A number is also a string (scalars are text); a bare number is a duration in seconds.
  EXPECT_EQ(*root["workers"].asString(), "4");
  EXPECT_EQ(*root["workers"].asDuration(), seconds(4));
}

TEST(Node, ShapesAndSizes) {
  Node root = load(kGateway);
  EXPECT_TRUE(root["backends"].isSequence());
  EXPECT_EQ(root["backends"].size(), 2u);
  EXPECT_TRUE(root["backends"].at(0).isMap());
  EXPECT_TRUE(root["listen"].isScalar());
  EXPECT_TRUE(root["empty"].isNull());
  EXPECT_FALSE(root["empty"].isMissing());
  EXPECT_TRUE(root.has("empty"));
  EXPECT_FALSE(root.has("nope"));
  EXPECT_TRUE(root["nope"].isNull());
  EXPECT_TRUE(root["nope"].isMissing());
  EXPECT_EQ(root["retry"].size(), 2u);
  EXPECT_EQ(root["listen"].size(), 0u);
  EXPECT_EQ(root["backends"].items().size(), 2u);
}

TEST(Node, ErrorsCarryLineColumnAndPath) {
  Node root = load(kGateway);
  EXPECT_EQ(root["backends"].at(1)["weight"].asInt().status().message(),
            "gw.yaml:11:13: backends[1].weight: expected an integer, found 'lots'");
  EXPECT_EQ(root["backends"].at(1)["weight"].location(), "gw.yaml:11:13");
  EXPECT_EQ(root["backends"].at(1)["weight"].path(), "backends[1].weight");
  EXPECT_EQ(root["listen"].asInt().status().message(),
            "gw.yaml:1:9: listen: expected an integer, found '0.0.0.0:8080'");
  EXPECT_EQ(root["tls"].asDuration().status().message(),
            "gw.yaml:5:6: tls: invalid duration 'false': expected a number at 'false' (e.g. '2s', "
            "'150ms', '1m30s')");
  EXPECT_EQ(root["retry"].asString().status().message(),
            "gw.yaml:15:3: retry: expected a string, found a map");
  EXPECT_EQ(root["tags"].asBool().status().message(),
            "gw.yaml:13:7: tags: expected a boolean (true or false), found a sequence");
  EXPECT_EQ(root["retry"]["budget"]["ratio"].asBool().status().message(),
            "gw.yaml:16:19: retry.budget.ratio: expected a boolean (true or false), found '2.5'");
  EXPECT_EQ(root["tags"].at(2).location(), "gw.yaml:13:14");
  EXPECT_EQ(root.location(), "gw.yaml:1:1");
  EXPECT_EQ(root.path(), "");
  EXPECT_EQ(root.error("bad").message(), "gw.yaml:1:1: bad");
  EXPECT_EQ(root["retry"].error("bad").code(), StatusCode::kInvalidArgument);
}

TEST(Node, MissingAndEmptyValues) {
  Node root = load(kGateway);
  // A missing key sits at the map that lacks it.
  EXPECT_EQ(root["retry"]["attempts"].asInt().status().message(),
            "gw.yaml:15:3: retry.attempts: missing required field");
  EXPECT_EQ(root["a"]["b"]["c"].asString().status().message(),
            "gw.yaml:1:1: a.b.c: missing required field");
  // An empty value sits at its key (yaml-cpp would point at the next line).
  EXPECT_EQ(root["empty"].location(), "gw.yaml:12:1");
  EXPECT_EQ(root["empty"].asString().status().message(),
            "gw.yaml:12:1: empty: expected a string, found null");
  EXPECT_EQ(root["backends"].at(5).asString().status().message(),
            "gw.yaml:8:3: backends[5]: missing (the sequence has 2 items)");
  EXPECT_EQ(root["listen"]["port"].asInt().status().message(),
            "gw.yaml:1:9: listen.port: missing required field (its parent is the scalar "
            "'0.0.0.0:8080', not a map)");
  EXPECT_TRUE(root.require("listen").isOk());
  EXPECT_EQ(root.require("empty").message(), "gw.yaml:12:1: empty: must not be empty");
  EXPECT_EQ(root["retry"].require("attempts").message(),
            "gw.yaml:15:3: retry.attempts: missing required field");
}

TEST(Node, GettersWithDefaults) {
  Node root = load(kGateway);
  EXPECT_EQ(*root.getString("listen", "x"), "0.0.0.0:8080");
  EXPECT_EQ(*root.getString("absent", "dflt"), "dflt");
  EXPECT_EQ(*root.getString("empty", "dflt"), "dflt");  // explicit null counts as absent
  EXPECT_EQ(*root.getInt("workers", 1), 4);
  EXPECT_EQ(*root.getInt("absent", 7), 7);
  EXPECT_DOUBLE_EQ(*root.getDouble("absent", 0.5), 0.5);
  EXPECT_EQ(*root.getBool("tls", true), false);
  EXPECT_EQ(*root.getBool("absent", true), true);
  EXPECT_EQ(*root.getDuration("timeout", seconds(9)), seconds(2));
  EXPECT_EQ(*root.getDuration("absent", seconds(9)), seconds(9));
  EXPECT_EQ(*root.getBytes("max_body", 1), 64u << 20);
  EXPECT_EQ(*root.getBytes("absent", 1024), 1024u);
  // Present but malformed is still an error.
  EXPECT_EQ(root["backends"].at(1).getInt("weight", 1).status().message(),
            "gw.yaml:11:13: backends[1].weight: expected an integer, found 'lots'");
  EXPECT_FALSE(root.getBytes("listen", 0).isOk());
  // A default read on a scalar would silently hide a mistake.
  EXPECT_EQ(root["listen"].getInt("port", 80).status().message(),
            "gw.yaml:1:9: listen: expected a map, found '0.0.0.0:8080'");
  // A missing parent yields defaults (the whole section is optional).
  EXPECT_EQ(*root["absent_section"].getInt("port", 80), 80);
}

TEST(Node, RangeChecks) {
  Node root = load("weight: 0\nratio: 1.5\nidle: 10m\n");
  EXPECT_EQ(root.getIntInRange("weight", 1, 1, 10000).status().message(),
            "gw.yaml:1:9: weight: must be between 1 and 10000, found 0");
  EXPECT_EQ(*root.getIntInRange("weight", 1, 0, 1), 0);
  EXPECT_EQ(*root.getIntInRange("absent", 5, 1, 3), 5);  // the default is not checked
  EXPECT_FALSE(root.getDoubleInRange("ratio", 0, 0, 1).isOk());
  EXPECT_DOUBLE_EQ(*root.getDoubleInRange("ratio", 0, 0, 2), 1.5);
  EXPECT_EQ(root.getDurationInRange("idle", seconds(1), seconds(1), seconds(60)).status().message(),
            "gw.yaml:3:7: idle: must be between 1s and 1m, found 10m");
  EXPECT_EQ(*root.getDurationInRange("idle", seconds(1), seconds(1), seconds(3600)),
            std::chrono::minutes(10));
}

TEST(Node, Integers) {
  Node root = load(
      "a: -12\nb: +7\nc: 9223372036854775807\nd: 9223372036854775808\ne: 1.0\n"
      "f: '8080'\ng: 0x10\nh: ''\n");
  EXPECT_EQ(*root["a"].asInt(), -12);
  EXPECT_EQ(*root["b"].asInt(), 7);
  EXPECT_EQ(*root["c"].asInt(), INT64_MAX);
  EXPECT_EQ(root["d"].asInt().status().message(),
            "gw.yaml:4:4: d: expected an integer in the 64-bit range, found "
            "'9223372036854775808'");
  EXPECT_EQ(root["e"].asInt().status().message(),
            "gw.yaml:5:4: e: expected an integer, found '1.0'");
  EXPECT_EQ(*root["f"].asInt(), 8080);  // quoted numbers are read leniently
  EXPECT_FALSE(root["g"].asInt().isOk());
  EXPECT_EQ(root["h"].asInt().status().message(), "gw.yaml:8:4: h: expected an integer, found ''");
}

TEST(Node, Doubles) {
  Node root = load("a: 1e-3\nb: .inf\nc: -.Inf\nd: .nan\ne: +2.5\nf: 1e999\ng: 1.2.3\nh: -0.5\n");
  EXPECT_DOUBLE_EQ(*root["a"].asDouble(), 0.001);
  EXPECT_TRUE(std::isinf(*root["b"].asDouble()) && *root["b"].asDouble() > 0);
  EXPECT_TRUE(std::isinf(*root["c"].asDouble()) && *root["c"].asDouble() < 0);
  EXPECT_TRUE(std::isnan(*root["d"].asDouble()));
  EXPECT_DOUBLE_EQ(*root["e"].asDouble(), 2.5);
  EXPECT_EQ(root["f"].asDouble().status().message(),
            "gw.yaml:6:4: f: expected a number in the double range, found '1e999'");
  EXPECT_EQ(root["g"].asDouble().status().message(),
            "gw.yaml:7:4: g: expected a number, found '1.2.3'");
  EXPECT_DOUBLE_EQ(*root["h"].asDouble(), -0.5);
}

TEST(Node, BooleansAreStrict) {
  Node root = load("a: true\nb: False\nc: TRUE\nd: yes\ne: on\nf: 1\n");
  EXPECT_EQ(*root["a"].asBool(), true);
  EXPECT_EQ(*root["b"].asBool(), false);
  EXPECT_EQ(*root["c"].asBool(), true);
  EXPECT_EQ(root["d"].asBool().status().message(),
            "gw.yaml:4:4: d: expected a boolean (true or false), found 'yes'");
  EXPECT_FALSE(root["e"].asBool().isOk());
  EXPECT_FALSE(root["f"].asBool().isOk());
}

TEST(Node, DurationsAndSizesInFiles) {
  Node root = load(
      "a: 1.5s\nb: 10m30s\nc: 500us\nd: 30\ne: 2sec\nf: 512KiB\ng: 100KB\n"
      "h: 1048576\ni: 12k\n");
  EXPECT_EQ(*root["a"].asDuration(), milliseconds(1500));
  EXPECT_EQ(*root["b"].asDuration(), seconds(630));
  EXPECT_EQ(*root["c"].asDuration(), std::chrono::microseconds(500));
  EXPECT_EQ(*root["d"].asDuration(), seconds(30));
  EXPECT_EQ(root["e"].asDuration().status().message(),
            "gw.yaml:5:4: e: invalid duration '2sec': unknown unit 'sec' (valid units: ns, us, ms, "
            "s, m, h, d)");
  EXPECT_EQ(*root["f"].asBytes(), 512u * 1024);
  EXPECT_EQ(*root["g"].asBytes(), 100000u);
  EXPECT_EQ(*root["h"].asBytes(), 1048576u);
  EXPECT_EQ(root["i"].asBytes().status().message(),
            "gw.yaml:9:4: i: invalid size '12k': ambiguous unit 'k': write KiB (1024-based) or KB "
            "(1000-based)");
}

TEST(Node, OneOfSuggests) {
  Node root = load("algorithm: round_robbin\n");
  EXPECT_EQ(root["algorithm"].asOneOf({"round_robin", "least_request"}).status().message(),
            "gw.yaml:1:12: algorithm: unknown value 'round_robbin' (expected one of: round_robin, "
            "least_request; did you mean 'round_robin'?)");
  EXPECT_EQ(*root.getOneOf("absent", "p2c", {"p2c", "ring_hash"}), "p2c");
  Node ok = load("algorithm: ring_hash\n");
  EXPECT_EQ(*ok.getOneOf("algorithm", "p2c", {"p2c", "ring_hash"}), "ring_hash");
}

TEST(Node, UnknownKeys) {
  Node root = load("listen: x\nlisen: y\nbackends:\n  - adress: a\n    weight: 1\ncolour: red\n");
  EXPECT_EQ(root.checkKeys({"listen", "backends", "color"}).message(),
            "gw.yaml:2:1: unknown field 'lisen' (did you mean 'listen'?)\n"
            "gw.yaml:6:1: unknown field 'colour' (did you mean 'color'?)");
  EXPECT_EQ(root["backends"].at(0).checkKeys({"address", "weight", "zone"}).message(),
            "gw.yaml:4:5: backends[0]: unknown field 'adress' (did you mean 'address'?)");
  EXPECT_EQ(root.checkKeys({"listen", "backends"}).code(), StatusCode::kInvalidArgument);
  EXPECT_TRUE(root.checkKeys({"listen", "lisen", "backends", "colour"}).isOk());
  EXPECT_EQ(root.checkKeys({"unrelated"}).message().find("did you mean"), std::string::npos);
  EXPECT_TRUE(root["absent"].checkKeys({"a"}).isOk());
  EXPECT_EQ(root["listen"].checkKeys({"a"}).message(),
            "gw.yaml:1:9: listen: expected a map, found 'x'");
  std::vector<std::string_view> dynamic = {"listen", "lisen", "backends", "colour"};
  EXPECT_TRUE(root.checkKeysIn(dynamic).isOk());
}

TEST(Node, NestedPathsAndOddKeys) {
  Node root = load("a:\n  b:\n    - c: [1, {d: x}]\n\"dotted.key\": {v: 1}\n");
  Node d = root["a"]["b"].at(0)["c"].at(1)["d"];
  EXPECT_EQ(d.path(), "a.b[0].c[1].d");
  EXPECT_EQ(d.asInt().status().message(),
            "gw.yaml:3:18: a.b[0].c[1].d: expected an integer, "
            "found 'x'");
  EXPECT_EQ(root["dotted.key"]["v"].path(), "[\"dotted.key\"].v");
}

TEST(Node, EntriesInFileOrder) {
  Node root = load("zeta: 1\nalpha: 2\nmid: 3\n");
  auto entries = root.entries();
  ASSERT_EQ(entries.size(), 3u);
  EXPECT_EQ(entries[0].first, "zeta");
  EXPECT_EQ(entries[1].first, "alpha");
  EXPECT_EQ(entries[2].first, "mid");
  EXPECT_EQ(*entries[1].second.asInt(), 2);
  EXPECT_EQ(entries[2].second.path(), "mid");
  EXPECT_EQ(entries[2].second.location(), "gw.yaml:3:6");
  EXPECT_TRUE(load("[1]").entries().empty());
}

TEST(Node, MergeKeys) {
  Node root = load(
      "defaults: &d {weight: 1, zone: a}\n"
      "b1:\n"
      "  <<: *d\n"
      "  weight: 5\n"
      "b2:\n"
      "  <<: [{zone: x}, *d]\n");
  EXPECT_EQ(*root["b1"]["weight"].asInt(), 5);  // explicit wins
  EXPECT_EQ(*root["b1"]["zone"].asString(), "a");
  EXPECT_EQ(*root["b2"]["zone"].asString(), "x");  // the first source wins
  EXPECT_EQ(*root["b2"]["weight"].asInt(), 1);
  EXPECT_EQ(root["b1"].size(), 2u);
  EXPECT_TRUE(root["b1"].checkKeys({"weight", "zone"}).isOk());
  EXPECT_EQ(loadError("a:\n  <<: 3\n"), "bad.yaml:2:3: '<<' must merge a map or a list of maps");
}

// yaml-cpp 0.7's LoadAll loops forever on a ',' outside a flow collection (found by fuzzing):
// these must be errors, at once.
TEST(Node, StrayCommaIsAnErrorNotAHang) {
  EXPECT_EQ(loadError(","),
            "bad.yaml:1:1: unexpected ',' (a ',' belongs inside [...] or {...}; quote the value)");
  EXPECT_EQ(loadError(" ,- -x"),
            "bad.yaml:1:2: unexpected ',' (a ',' belongs inside [...] or {...}; quote the value)");
  EXPECT_EQ(loadError("- a\n,-\n"),
            "bad.yaml:2:1: unexpected ',' (a ',' belongs inside [...] or {...}; quote the value)");
  EXPECT_EQ(loadError("a: 1\n,d: 2\n").substr(0, 14), "bad.yaml:2:1: ");
}

TEST(Node, LoadRejectsBadDocuments) {
  EXPECT_EQ(loadError("a: 1\nb: 2\na: 3\n"), "bad.yaml:3:1: duplicate key 'a' (first at line 1)");
  EXPECT_EQ(loadError("a: 1\n---\nb: 2\n"),
            "bad.yaml:2:1: expected one YAML document, found several ('---')");
  EXPECT_EQ(loadError("? [1, 2]\n: x\n"), "bad.yaml:1:3: map keys must be plain strings");
  std::string cyclic = loadError("a: &x\n  - *x\n");
  EXPECT_NE(cyclic.find("nesting deeper than 64 levels"), std::string::npos) << cyclic;
  // "Billion laughs": 10^9 values after alias expansion.
  std::string bomb = "a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n";
  for (int i = 1; i <= 8; ++i) {
    bomb += "a" + std::to_string(i) + ": &a" + std::to_string(i) + " [";
    for (int j = 0; j < 10; ++j) bomb += (j ? ", *a" : "*a") + std::to_string(i - 1);
    bomb += "]\n";
  }
  EXPECT_NE(loadError(bomb).find("document too large"), std::string::npos);
}

TEST(Node, SyntaxErrorsHaveLineAndColumn) {
  EXPECT_EQ(loadError("a: 1\nb: [1, 2\nc: 3\n"), "bad.yaml:3:2: end of sequence flow not found");
  EXPECT_EQ(loadError("a: 1\n  b: 2\n"), "bad.yaml:2:4: illegal map value");
  EXPECT_EQ(loadError("a: \"x\nb: 1"), "bad.yaml:2:5: illegal EOF in scalar");
  EXPECT_EQ(loadError("a: 1\n- b\n"), "bad.yaml:2:1: end of map not found");
  EXPECT_EQ(loadError("a: 1\n\tb: 1\n"), "bad.yaml:2:1: illegal tab when looking for indentation");
  EXPECT_EQ(loadError("a: *nowhere\n"), "bad.yaml:1:4: the referenced anchor is not defined");
}

TEST(Node, EmptyDocumentIsNull) {
  Node root = load("");
  EXPECT_TRUE(root.isNull());
  EXPECT_FALSE(root.isMissing());
  EXPECT_EQ(*root.getInt("port", 80), 80);
  EXPECT_TRUE(root.checkKeys({"port"}).isOk());
  EXPECT_EQ(root.location(), "gw.yaml:1:1");
  EXPECT_TRUE(load("# only a comment\n").isNull());
}

TEST(Node, CopiesOutliveTheRoot) {
  Node backend;
  {
    Node root = load(kGateway);
    backend = root["backends"].at(0);
  }
  EXPECT_EQ(*backend["address"].asString(), "10.0.0.1:80");
  EXPECT_EQ(backend["weight"].location(), "gw.yaml:9:13");
  Node placeholder;
  EXPECT_TRUE(placeholder.isMissing());
  EXPECT_EQ(placeholder.location(), "<none>:0:0");
}

TEST(Node, LoadFile) {
  std::string path = ::testing::TempDir() + "/surge_node_test.yaml";
  {
    std::ofstream f(path);
    f << "listen: 127.0.0.1:0\nworkers: two\n";
  }
  auto root = Node::loadFile(path);
  ASSERT_TRUE(root.isOk()) << root.status().toString();
  EXPECT_EQ(*(*root)["listen"].asString(), "127.0.0.1:0");
  EXPECT_EQ((*root)["workers"].asInt().status().message(),
            path + ":2:10: workers: expected an integer, found 'two'");
  std::remove(path.c_str());

  auto missing = Node::loadFile("/nonexistent/surge.yaml");
  ASSERT_FALSE(missing.isOk());
  EXPECT_EQ(missing.status().code(), StatusCode::kNotFound);
  EXPECT_EQ(missing.status().message(),
            "cannot open /nonexistent/surge.yaml: No such file or directory");

  auto dir = Node::loadFile(::testing::TempDir());
  ASSERT_FALSE(dir.isOk());
  EXPECT_NE(dir.status().message().find("Is a directory"), std::string::npos)
      << dir.status().message();
}

TEST(ErrorList, JoinsErrors) {
  Node root = load("a: x\nb: y\nc: 3\n");
  ErrorList errors;
  int64_t a = errors.take(root["a"].asInt(), int64_t{-1});
  int64_t b = errors.take(root["b"].asInt(), int64_t{-1});
  int64_t c = errors.take(root["c"].asInt(), int64_t{-1});
  EXPECT_EQ(a, -1);
  EXPECT_EQ(b, -1);
  EXPECT_EQ(c, 3);
  EXPECT_TRUE(errors.add(Status::ok()));
  EXPECT_FALSE(errors.empty());
  EXPECT_EQ(errors.toStatus().message(),
            "gw.yaml:1:4: a: expected an integer, found 'x'\n"
            "gw.yaml:2:4: b: expected an integer, found 'y'");
  EXPECT_TRUE(ErrorList().toStatus().isOk());
}

}  // namespace
}  // namespace surge::config
