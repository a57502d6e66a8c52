// config::Node: a YAML value that remembers where it came from, so every config error reads
// "gateway.yaml:12:7: backends[1].weight: expected an integer, found 'heavy'".
// The file is parsed once by yaml-cpp (hidden in node.cc; no yaml-cpp type leaks out of this
// header) into an immutable tree owned by a shared document; a Node is (document, value, path),
// cheap to copy and safe to read from any thread. Loading rejects duplicate keys, non-scalar keys,
// several documents in one file, nesting deeper than 64 levels and alias bombs; it supports YAML
// merge keys ("<<: *defaults"; explicit keys win).
//
// Conventions:
//  - Lines and columns are 1-based. A missing key has the location of the map that lacks it; an
//    empty value ("timeout:") has the location of its key.
//  - An explicit null ("key:", "key: ~", "key: null") counts as absent for get*(key, default).
//  - Scalars are read leniently: a quoted "8080" is an integer for asInt(). Booleans are strictly
//    true/false (any case) — "yes"/"on" are errors (the YAML 1.1 "Norway problem").
//  - Reading a missing node with as*() says "missing required field".
// Complexity: operator[] is O(keys in the map); everything else O(1) or O(size).
// Thread-safety: Node is an immutable value; any number of threads may read copies concurrently.
#pragma once

#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/clock.h"
#include "common/status.h"
#include "config/units.h"

namespace surge::config {

namespace internal {
struct Value;
struct Document;
}  // namespace internal

class Node {
 public:
  // A missing node with no source (location "<none>:0:0"); useful as a placeholder.
  Node();

  // Reads and parses a file. Errors: "cannot open <path>: No such file or directory",
  // "<path>:3:5: <yaml parser message>", duplicate keys etc. An empty file is a null root.
  static StatusOr<Node> loadFile(const std::string& path);
  // Parses text; errors name `source_name` as the file.
  static StatusOr<Node> loadString(std::string_view text, std::string source_name = "<string>");

  // ---- shape ------------------------------------------------------------------------------------
  bool isNull() const;     // missing, or an explicit null
  bool isMissing() const;  // the key (or index) is not there at all
  bool isMap() const;
  bool isSequence() const;
  bool isScalar() const;

  // ---- navigation -------------------------------------------------------------------------------
  bool has(std::string_view key) const;         // present in a map (even with a null value)
  Node operator[](std::string_view key) const;  // missing key → missing Node, path "parent.key"
  size_t size() const;                          // sequence items or map entries; 0 otherwise
  Node at(size_t i) const;                      // sequence item; out of range → missing Node
  std::vector<Node> items() const;              // sequence items (empty for non-sequences)
  std::vector<std::pair<std::string, Node>> entries() const;  // map entries in file order

  // ---- typed reads: InvalidArgument "file:line:col: path: <expected>, found <what>" -------------
  StatusOr<std::string> asString() const;  // any scalar, verbatim
  StatusOr<int64_t> asInt() const;         // decimal, optional sign
  StatusOr<double> asDouble() const;       // decimal or exponent form, .inf/-.inf/.nan
  StatusOr<bool> asBool() const;           // true/false
  StatusOr<Duration> asDuration() const;   // see units.h; a bare number is seconds
  StatusOr<uint64_t> asBytes() const;      // see units.h
  // A string that must be one of `allowed`: "... unknown value 'round_robbin' for algorithm
  // (expected one of: round_robin, least_request; did you mean 'round_robin'?)".
  StatusOr<std::string> asOneOf(std::initializer_list<std::string_view> allowed) const;
  StatusOr<std::vector<std::string>> asStringList() const;  // a sequence of scalars

  // ---- reads with defaults: `def` when the key is absent or null; error when malformed ----------
  // (also an error when *this is present but not a map).
  StatusOr<std::string> getString(std::string_view key, std::string def) const;
  StatusOr<int64_t> getInt(std::string_view key, int64_t def) const;
  StatusOr<double> getDouble(std::string_view key, double def) const;
  StatusOr<bool> getBool(std::string_view key, bool def) const;
  StatusOr<Duration> getDuration(std::string_view key, Duration def) const;
  StatusOr<uint64_t> getBytes(std::string_view key, uint64_t def) const;
  StatusOr<std::string> getOneOf(std::string_view key, std::string def,
                                 std::initializer_list<std::string_view> allowed) const;
  // With a closed range [lo, hi] check: "... weight: must be between 1 and 10000, found 0".
  // The default is not range-checked.
  StatusOr<int64_t> getIntInRange(std::string_view key, int64_t def, int64_t lo, int64_t hi) const;
  StatusOr<double> getDoubleInRange(std::string_view key, double def, double lo, double hi) const;
  StatusOr<Duration> getDurationInRange(std::string_view key, Duration def, Duration lo,
                                        Duration hi) const;
  StatusOr<int64_t> asIntInRange(int64_t lo, int64_t hi) const;
  StatusOr<double> asDoubleInRange(double lo, double hi) const;

  // Rejects keys not in `allowed`, each at its own location: "file:line:col: <path>: unknown field
  // 'lisen' (did you mean 'listen'?)" (several unknown keys → one line each). A null node passes;
  // a scalar or sequence fails with "expected a map".
  Status checkKeys(std::initializer_list<std::string_view> allowed) const;
  Status checkKeysIn(const std::vector<std::string_view>& allowed) const;
  // Fails with "missing required field" when the key is absent or null.
  Status require(std::string_view key) const;

  // ---- where ------------------------------------------------------------------------------------
  std::string location() const;           // "file:line:col"
  std::string path() const;               // "backends[1].weight"; "" for the root
  const std::string& sourceName() const;  // the file name (or the loadString source name)
  int line() const { return line_; }      // 1-based
  int column() const { return column_; }  // 1-based
  // InvalidArgument "file:line:col: path: message" (no "path: " for the root).
  Status error(std::string_view message) const;

 private:
  Node(std::shared_ptr<const internal::Document> doc, const internal::Value* value,
       const internal::Value* parent, std::string path, int line, int column);

  Node child(const internal::Value* v, std::string path, int line, int column) const;
  Node missingChild(std::string path) const;
  Status expected(std::string_view what) const;  // "expected <what>, found <description>"
  Status notAMap() const;
  std::string description() const;
  StatusOr<std::string> scalarFor(std::string_view what) const;

  std::shared_ptr<const internal::Document> doc_;
  const internal::Value* value_ = nullptr;   // null when missing
  const internal::Value* parent_ = nullptr;  // set on missing nodes: the container that lacks it
  std::string path_;
  int line_ = 0;
  int column_ = 0;
};

// Gathers several errors so a config is reported in one go (architecture rule: report every
// error, apply nothing). toStatus() joins the messages with newlines.
class ErrorList {
 public:
  // Records `s` if it is an error; returns whether it was OK.
  bool add(const Status& s);
  // Records the error of `v` if any; returns the value or `fallback`.
  template <typename T>
  T take(StatusOr<T> v, T fallback) {
    if (v.isOk()) return std::move(v).value();
    add(v.status());
    return fallback;
  }
  bool empty() const { return messages_.empty(); }
  Status toStatus() const;

 private:
  std::vector<std::string> messages_;
};

}  // namespace surge::config
