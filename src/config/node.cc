#include "config/node.h"

#include <fcntl.h>
#include <unistd.h>
#include <yaml-cpp/eventhandler.h>
#include <yaml-cpp/yaml.h>

#include <cerrno>
#include <charconv>
#include <cmath>
#include <deque>
#include <limits>
#include <sstream>
#include <system_error>
#include <unordered_map>

#include "config/suggest.h"

namespace surge::config {
namespace internal {

struct Value;

struct Entry {
  std::string key;
  int line = 1;
  int column = 1;
  const Value* value = nullptr;
};

struct Value {
  enum class Kind { kNull, kScalar, kSequence, kMap };
  Kind kind = Kind::kNull;
  int line = 1;
  int column = 1;
  std::string scalar;
  std::vector<const Value*> items;
  std::vector<Entry> entries;
};

struct Document {
  std::string source;
  std::deque<Value> values;  // stable addresses
  const Value* root = nullptr;
};

}  // namespace internal

namespace {

using internal::Document;
using internal::Entry;
using internal::Value;
using Kind = internal::Value::Kind;

// Limits that keep hostile or broken files from exhausting the stack or memory: a self-referencing
// alias recurses forever and a "billion laughs" alias tree expands exponentially.
constexpr int kMaxDepth = 64;
constexpr size_t kMaxValues = 100'000;

std::string formatLocation(const std::string& source, int line, int column) {
  return source + ":" + std::to_string(line) + ":" + std::to_string(column);
}

// Records where each document starts; ignores everything else.
struct DocumentCounter final : YAML::EventHandler {
  std::vector<YAML::Mark> starts;
  void OnDocumentStart(const YAML::Mark& mark) override { starts.push_back(mark); }
  void OnDocumentEnd() override {}
  void OnNull(const YAML::Mark&, YAML::anchor_t) override {}
  void OnAlias(const YAML::Mark&, YAML::anchor_t) override {}
  void OnScalar(const YAML::Mark&, const std::string&, YAML::anchor_t, const std::string&) override {
  }
  void OnSequenceStart(const YAML::Mark&, const std::string&, YAML::anchor_t,
                       YAML::EmitterStyle::value) override {}
  void OnSequenceEnd() override {}
  void OnMapStart(const YAML::Mark&, const std::string&, YAML::anchor_t,
                  YAML::EmitterStyle::value) override {}
  void OnMapEnd() override {}
};

class Converter {
 public:
  explicit Converter(Document& doc) : doc_(doc) {}

  StatusOr<const Value*> convert(const YAML::Node& n, int depth, int fallback_line,
                                 int fallback_column) {
    const YAML::Mark mark = n.Mark();
    int line = mark.line >= 0 ? mark.line + 1 : fallback_line;
    int column = mark.column >= 0 ? mark.column + 1 : fallback_column;
    if (depth > kMaxDepth) {
      return fail(line, column,
                  "nesting deeper than " + std::to_string(kMaxDepth) +
                      " levels (a self-referencing alias?)");
    }
    if (++count_ > kMaxValues) {
      return fail(line, column,
                  "document too large (more than " + std::to_string(kMaxValues) +
                      " values after alias expansion)");
    }
    Value& v = doc_.values.emplace_back();
    v.line = line;
    v.column = column;
    switch (n.Type()) {
      case YAML::NodeType::Undefined:
      case YAML::NodeType::Null:
        v.kind = Kind::kNull;
        // yaml-cpp marks an empty value at the start of the next token; the caller's fallback
        // (the key) is where a reader looks.
        v.line = fallback_line;
        v.column = fallback_column;
        break;
      case YAML::NodeType::Scalar:
        v.kind = Kind::kScalar;
        v.scalar = n.Scalar();
        break;
      case YAML::NodeType::Sequence:
        v.kind = Kind::kSequence;
        for (const YAML::Node& item : n) {
          ASSIGN_OR_RETURN(const Value* c, convert(item, depth + 1, line, column));
          v.items.push_back(c);
        }
        break;
      case YAML::NodeType::Map:
        v.kind = Kind::kMap;
        RETURN_IF_ERROR(convertMap(n, depth, v));
        break;
    }
    return &v;
  }

 private:
  Status fail(int line, int column, const std::string& message) {
    return invalidArgument(formatLocation(doc_.source, line, column) + ": " + message);
  }

  static bool isMergeKey(const YAML::Node& key) {
    return key.IsScalar() && key.Scalar() == "<<" && key.Tag() == "?";
  }

  Status convertMap(const YAML::Node& n, int depth, Value& v) {
    // Explicit keys first: they win over merged ones wherever they appear.
    std::unordered_map<std::string, std::pair<int, int>> explicit_keys;
    for (const auto& kv : n) {
      const YAML::Mark km = kv.first.Mark();
      int line = km.line + 1, column = km.column + 1;
      if (!kv.first.IsScalar()) return fail(line, column, "map keys must be plain strings");
      if (isMergeKey(kv.first)) continue;
      auto [it, inserted] = explicit_keys.emplace(kv.first.Scalar(), std::make_pair(line, column));
      if (!inserted) {
        return fail(line, column,
                    "duplicate key '" + kv.first.Scalar() + "' (first at line " +
                        std::to_string(it->second.first) + ")");
      }
    }
    std::unordered_map<std::string, bool> added;
    for (const auto& kv : n) {
      const YAML::Mark km = kv.first.Mark();
      int line = km.line + 1, column = km.column + 1;
      if (isMergeKey(kv.first)) {
        ASSIGN_OR_RETURN(const Value* merged, convert(kv.second, depth + 1, line, column));
        std::vector<const Value*> sources;
        if (merged->kind == Kind::kMap) {
          sources.push_back(merged);
        } else if (merged->kind == Kind::kSequence) {
          sources = merged->items;
        }
        if (sources.empty()) return fail(line, column, "'<<' must merge a map or a list of maps");
        for (const Value* src : sources) {
          if (src->kind != Kind::kMap) {
            return fail(src->line, src->column, "'<<' must merge a map or a list of maps");
          }
          for (const Entry& e : src->entries) {
            if (explicit_keys.count(e.key) != 0 || added.count(e.key) != 0) continue;
            added[e.key] = true;
            v.entries.push_back(e);
          }
        }
        continue;
      }
      ASSIGN_OR_RETURN(const Value* value, convert(kv.second, depth + 1, line, column));
      added[kv.first.Scalar()] = true;
      v.entries.push_back(Entry{kv.first.Scalar(), line, column, value});
    }
    return Status::ok();
  }

  Document& doc_;
  size_t count_ = 0;
};

bool isSimpleKey(std::string_view key) {
  if (key.empty()) return false;
  for (char c : key) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '_' || c == '-';
    if (!ok) return false;
  }
  return true;
}

std::string joinPath(const std::string& parent, std::string_view key) {
  if (!isSimpleKey(key)) {
    std::string quoted;
    for (char c : key) {
      if (c == '"' || c == '\\') quoted += '\\';
      quoted += c;
    }
    return parent + "[\"" + quoted + "\"]";
  }
  if (parent.empty()) return std::string(key);
  return parent + "." + std::string(key);
}

std::string quoteFound(std::string_view text) {
  constexpr size_t kMax = 60;
  std::string out = "'";
  for (size_t i = 0; i < text.size() && i < kMax; ++i) {
    if (text[i] == '\n') {
      out += "\\n";
    } else {
      out += text[i];
    }
  }
  if (text.size() > kMax) out += "...";
  return out + "'";
}

std::string joinNames(std::initializer_list<std::string_view> names) {
  std::string out;
  for (std::string_view n : names) {
    if (!out.empty()) out += ", ";
    out += n;
  }
  return out;
}

const std::string& noSource() {
  static const std::string kNone = "<none>";
  return kNone;
}

}  // namespace

// ---- loading ------------------------------------------------------------------------------------

Node::Node() = default;

Node::Node(std::shared_ptr<const Document> doc, const Value* value, const Value* parent,
           std::string path, int line, int column)
    : doc_(std::move(doc)),
      value_(value),
      parent_(parent),
      path_(std::move(path)),
      line_(line),
      column_(column) {}

StatusOr<Node> Node::loadFile(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    int err = errno;
    std::string msg = "cannot open " + path + ": " + std::generic_category().message(err);
    return err == ENOENT ? notFound(msg) : invalidArgument(msg);
  }
  std::string text;
  char buf[16384];
  for (;;) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      int err = errno;
      ::close(fd);
      return invalidArgument("cannot read " + path + ": " + std::generic_category().message(err));
    }
    if (n == 0) break;
    text.append(buf, static_cast<size_t>(n));
  }
  ::close(fd);
  return loadString(text, path);
}

StatusOr<Node> Node::loadString(std::string_view text, std::string source_name) {
  auto doc = std::make_shared<Document>();
  doc->source = std::move(source_name);
  // The documents are counted first with a bounded loop: yaml-cpp 0.7's LoadAll never returns on
  // a ',' outside a flow collection (",", "- a\n,-"): its parser then reports the same document
  // start forever (found by fuzz/gateway_config). A start that does not advance is that bug.
  std::vector<YAML::Node> docs;
  try {
    std::string owned(text);
    std::istringstream in(owned);
    YAML::Parser parser(in);
    DocumentCounter counter;
    while (counter.starts.size() < 3 && parser.HandleNextDocument(counter)) {
      size_t n = counter.starts.size();
      if (n >= 2 && counter.starts[n - 1].pos == counter.starts[n - 2].pos) {
        const YAML::Mark& m = counter.starts[n - 1];
        size_t pos = static_cast<size_t>(m.pos);
        std::string what = pos < owned.size() ? std::string(1, owned[pos]) : std::string("end");
        return invalidArgument(formatLocation(doc->source, m.line + 1, m.column + 1) +
                               ": unexpected '" + what +
                               "' (a ',' belongs inside [...] or {...}; quote the value)");
      }
    }
    if (counter.starts.size() > 1) {
      const YAML::Mark& m = counter.starts[1];
      return invalidArgument(formatLocation(doc->source, m.line + 1, m.column + 1) +
                             ": expected one YAML document, found several ('---')");
    }
    if (!counter.starts.empty()) docs.push_back(YAML::Load(owned));
  } catch (const YAML::Exception& e) {
    return invalidArgument(formatLocation(doc->source, e.mark.line + 1, e.mark.column + 1) + ": " +
                           e.msg);
  }
  if (docs.empty()) {
    doc->root = &doc->values.emplace_back();
  } else {
    Converter converter(*doc);
    try {
      ASSIGN_OR_RETURN(doc->root, converter.convert(docs[0], 0, 1, 1));
    } catch (const YAML::Exception& e) {
      return invalidArgument(formatLocation(doc->source, e.mark.line + 1, e.mark.column + 1) +
                             ": " + e.msg);
    }
  }
  const Value* root = doc->root;
  return Node(std::move(doc), root, nullptr, "", root->line, root->column);
}

// ---- shape and navigation -----------------------------------------------------------------------

bool Node::isNull() const { return value_ == nullptr || value_->kind == Kind::kNull; }
bool Node::isMissing() const { return value_ == nullptr; }
bool Node::isMap() const { return value_ != nullptr && value_->kind == Kind::kMap; }
bool Node::isSequence() const { return value_ != nullptr && value_->kind == Kind::kSequence; }
bool Node::isScalar() const { return value_ != nullptr && value_->kind == Kind::kScalar; }

Node Node::child(const Value* v, std::string path, int line, int column) const {
  return Node(doc_, v, nullptr, std::move(path), line, column);
}

Node Node::missingChild(std::string path) const {
  return Node(doc_, nullptr, value_, std::move(path), line_, column_);
}

bool Node::has(std::string_view key) const {
  if (!isMap()) return false;
  for (const Entry& e : value_->entries) {
    if (e.key == key) return true;
  }
  return false;
}

Node Node::operator[](std::string_view key) const {
  std::string p = joinPath(path_, key);
  if (isMap()) {
    for (const Entry& e : value_->entries) {
      if (e.key == key) return child(e.value, std::move(p), e.value->line, e.value->column);
    }
  }
  return missingChild(std::move(p));
}

size_t Node::size() const {
  if (isSequence()) return value_->items.size();
  if (isMap()) return value_->entries.size();
  return 0;
}

Node Node::at(size_t i) const {
  std::string p = path_ + "[" + std::to_string(i) + "]";
  if (isSequence() && i < value_->items.size()) {
    const Value* v = value_->items[i];
    return child(v, std::move(p), v->line, v->column);
  }
  return missingChild(std::move(p));
}

std::vector<Node> Node::items() const {
  std::vector<Node> out;
  if (!isSequence()) return out;
  for (size_t i = 0; i < value_->items.size(); ++i) out.push_back(at(i));
  return out;
}

std::vector<std::pair<std::string, Node>> Node::entries() const {
  std::vector<std::pair<std::string, Node>> out;
  if (!isMap()) return out;
  for (const Entry& e : value_->entries) {
    out.emplace_back(e.key, child(e.value, joinPath(path_, e.key), e.value->line, e.value->column));
  }
  return out;
}

// ---- where --------------------------------------------------------------------------------------

const std::string& Node::sourceName() const { return doc_ ? doc_->source : noSource(); }

std::string Node::location() const { return formatLocation(sourceName(), line_, column_); }

std::string Node::path() const { return path_; }

Status Node::error(std::string_view message) const {
  std::string m = location() + ": ";
  if (!path_.empty()) m += path_ + ": ";
  m += message;
  return invalidArgument(std::move(m));
}

std::string Node::description() const {
  if (value_ == nullptr) return "nothing";
  switch (value_->kind) {
    case Kind::kNull:
      return "null";
    case Kind::kScalar:
      return quoteFound(value_->scalar);
    case Kind::kSequence:
      return "a sequence";
    case Kind::kMap:
      return "a map";
  }
  return "?";
}

Status Node::expected(std::string_view what) const {
  if (value_ == nullptr) {
    if (parent_ != nullptr && parent_->kind == Kind::kSequence) {
      return error("missing (the sequence has " + std::to_string(parent_->items.size()) +
                   " items)");
    }
    if (parent_ != nullptr && parent_->kind == Kind::kScalar) {
      return error("missing required field (its parent is the scalar " +
                   quoteFound(parent_->scalar) + ", not a map)");
    }
    return error("missing required field");
  }
  return error("expected " + std::string(what) + ", found " + description());
}

Status Node::notAMap() const { return error("expected a map, found " + description()); }

StatusOr<std::string> Node::scalarFor(std::string_view what) const {
  if (!isScalar()) return expected(what);
  return value_->scalar;
}

// ---- typed reads --------------------------------------------------------------------------------

StatusOr<std::string> Node::asString() const { return scalarFor("a string"); }

StatusOr<int64_t> Node::asInt() const {
  ASSIGN_OR_RETURN(std::string s, scalarFor("an integer"));
  std::string_view t = s;
  if (t.size() > 1 && t[0] == '+') t.remove_prefix(1);
  int64_t v = 0;
  auto [ptr, ec] = std::from_chars(t.data(), t.data() + t.size(), v);
  if (ec == std::errc::result_out_of_range) {
    return expected("an integer in the 64-bit range");
  }
  if (ec != std::errc() || ptr != t.data() + t.size() || t.empty()) return expected("an integer");
  return v;
}

StatusOr<double> Node::asDouble() const {
  ASSIGN_OR_RETURN(std::string s, scalarFor("a number"));
  if (s == ".inf" || s == ".Inf" || s == ".INF" || s == "+.inf" || s == "+.Inf" || s == "+.INF") {
    return std::numeric_limits<double>::infinity();
  }
  if (s == "-.inf" || s == "-.Inf" || s == "-.INF") return -std::numeric_limits<double>::infinity();
  if (s == ".nan" || s == ".NaN" || s == ".NAN") return std::numeric_limits<double>::quiet_NaN();
  std::string_view t = s;
  if (t.size() > 1 && t[0] == '+') t.remove_prefix(1);
  double v = 0;
  auto [ptr, ec] = std::from_chars(t.data(), t.data() + t.size(), v, std::chars_format::general);
  if (ec == std::errc::result_out_of_range) return expected("a number in the double range");
  if (ec != std::errc() || ptr != t.data() + t.size() || t.empty()) return expected("a number");
  return v;
}

StatusOr<bool> Node::asBool() const {
  ASSIGN_OR_RETURN(std::string s, scalarFor("a boolean (true or false)"));
  if (s == "true" || s == "True" || s == "TRUE") return true;
  if (s == "false" || s == "False" || s == "FALSE") return false;
  return expected("a boolean (true or false)");
}

StatusOr<Duration> Node::asDuration() const {
  ASSIGN_OR_RETURN(std::string s, scalarFor("a duration (e.g. '2s', '150ms')"));
  StatusOr<Duration> d = parseDuration(s);
  if (!d.isOk()) return error(d.status().message());
  return d;
}

StatusOr<uint64_t> Node::asBytes() const {
  ASSIGN_OR_RETURN(std::string s, scalarFor("a size (e.g. '64MiB', '1048576')"));
  StatusOr<uint64_t> b = parseBytes(s);
  if (!b.isOk()) return error(b.status().message());
  return b;
}

StatusOr<std::string> Node::asOneOf(std::initializer_list<std::string_view> allowed) const {
  std::string names = joinNames(allowed);
  ASSIGN_OR_RETURN(std::string s, scalarFor("one of: " + names));
  for (std::string_view a : allowed) {
    if (a == s) return s;
  }
  std::string hint = closestMatch(s, std::vector<std::string_view>(allowed));
  return error("unknown value " + quoteFound(s) + " (expected one of: " + names +
               (hint.empty() ? "" : "; did you mean '" + hint + "'?") + ")");
}

StatusOr<std::vector<std::string>> Node::asStringList() const {
  if (!isSequence()) return expected("a list of strings");
  std::vector<std::string> out;
  for (size_t i = 0; i < value_->items.size(); ++i) {
    ASSIGN_OR_RETURN(std::string s, at(i).asString());
    out.push_back(std::move(s));
  }
  return out;
}

StatusOr<int64_t> Node::asIntInRange(int64_t lo, int64_t hi) const {
  ASSIGN_OR_RETURN(int64_t v, asInt());
  if (v < lo || v > hi) {
    return error("must be between " + std::to_string(lo) + " and " + std::to_string(hi) +
                 ", found " + std::to_string(v));
  }
  return v;
}

StatusOr<double> Node::asDoubleInRange(double lo, double hi) const {
  ASSIGN_OR_RETURN(double v, asDouble());
  if (!(v >= lo && v <= hi)) {
    return error("must be between " + std::to_string(lo) + " and " + std::to_string(hi) +
                 ", found " + value_->scalar);
  }
  return v;
}

// ---- reads with defaults ------------------------------------------------------------------------

#define SURGE_CONFIG_GET(key, def, read)       \
  if (!isNull() && !isMap()) return notAMap(); \
  Node c = (*this)[key];                       \
  if (c.isNull()) return def;                  \
  return c.read

StatusOr<std::string> Node::getString(std::string_view key, std::string def) const {
  SURGE_CONFIG_GET(key, def, asString());
}
StatusOr<int64_t> Node::getInt(std::string_view key, int64_t def) const {
  SURGE_CONFIG_GET(key, def, asInt());
}
StatusOr<double> Node::getDouble(std::string_view key, double def) const {
  SURGE_CONFIG_GET(key, def, asDouble());
}
StatusOr<bool> Node::getBool(std::string_view key, bool def) const {
  SURGE_CONFIG_GET(key, def, asBool());
}
StatusOr<Duration> Node::getDuration(std::string_view key, Duration def) const {
  SURGE_CONFIG_GET(key, def, asDuration());
}
StatusOr<uint64_t> Node::getBytes(std::string_view key, uint64_t def) const {
  SURGE_CONFIG_GET(key, def, asBytes());
}
StatusOr<std::string> Node::getOneOf(std::string_view key, std::string def,
                                     std::initializer_list<std::string_view> allowed) const {
  SURGE_CONFIG_GET(key, def, asOneOf(allowed));
}
StatusOr<int64_t> Node::getIntInRange(std::string_view key, int64_t def, int64_t lo,
                                      int64_t hi) const {
  SURGE_CONFIG_GET(key, def, asIntInRange(lo, hi));
}
StatusOr<double> Node::getDoubleInRange(std::string_view key, double def, double lo,
                                        double hi) const {
  SURGE_CONFIG_GET(key, def, asDoubleInRange(lo, hi));
}

#undef SURGE_CONFIG_GET

StatusOr<Duration> Node::getDurationInRange(std::string_view key, Duration def, Duration lo,
                                            Duration hi) const {
  if (!isNull() && !isMap()) return notAMap();
  Node c = (*this)[key];
  if (c.isNull()) return def;
  ASSIGN_OR_RETURN(Duration d, c.asDuration());
  if (d < lo || d > hi) {
    return c.error("must be between " + formatDuration(lo) + " and " + formatDuration(hi) +
                   ", found " + formatDuration(d));
  }
  return d;
}

// ---- key checks ---------------------------------------------------------------------------------

Status Node::checkKeys(std::initializer_list<std::string_view> allowed) const {
  return checkKeysIn(std::vector<std::string_view>(allowed));
}

Status Node::checkKeysIn(const std::vector<std::string_view>& allowed) const {
  if (isNull()) return Status::ok();
  if (!isMap()) return notAMap();
  ErrorList errors;
  for (const Entry& e : value_->entries) {
    bool known = false;
    for (std::string_view a : allowed) known = known || a == e.key;
    if (known) continue;
    Node at_key(doc_, e.value, nullptr, path_, e.line, e.column);
    errors.add(at_key.error("unknown field " + quoteFound(e.key) + didYouMean(e.key, allowed)));
  }
  return errors.toStatus();
}

Status Node::require(std::string_view key) const {
  if (!isNull() && !isMap()) return notAMap();
  Node c = (*this)[key];
  if (c.isMissing()) return c.expected("");
  if (c.isNull()) return c.error("must not be empty");
  return Status::ok();
}

// ---- ErrorList ----------------------------------------------------------------------------------

bool ErrorList::add(const Status& s) {
  if (s.isOk()) return true;
  messages_.push_back(s.message());
  return false;
}

Status ErrorList::toStatus() const {
  if (messages_.empty()) return Status::ok();
  std::string joined;
  for (const std::string& m : messages_) {
    if (!joined.empty()) joined += "\n";
    joined += m;
  }
  return invalidArgument(std::move(joined));
}

}  // namespace surge::config
