#include "metrics/text_parser.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <limits>

#include "metrics/exposition.h"

namespace surge::metrics {
namespace {

bool isNameChar(char c, bool first) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == ':' ||
         (!first && c >= '0' && c <= '9');
}

// A cursor over one line; errors name the line.
class LineParser {
 public:
  LineParser(std::string_view line, size_t line_no) : s_(line), line_no_(line_no) {}

  Status fail(const std::string& message) const {
    return invalidArgument("line " + std::to_string(line_no_) + ": " + message);
  }
  void skipSpace() {
    while (pos_ < s_.size() && (s_[pos_] == ' ' || s_[pos_] == '\t')) ++pos_;
  }
  bool atEnd() const { return pos_ >= s_.size(); }
  char peek() const { return atEnd() ? '\0' : s_[pos_]; }
  bool consume(char c) {
    if (peek() != c) return false;
    ++pos_;
    return true;
  }
  std::string_view name() {
    size_t start = pos_;
    while (pos_ < s_.size() && isNameChar(s_[pos_], pos_ == start)) ++pos_;
    return s_.substr(start, pos_ - start);
  }
  std::string_view token() {
    size_t start = pos_;
    while (pos_ < s_.size() && s_[pos_] != ' ' && s_[pos_] != '\t') ++pos_;
    return s_.substr(start, pos_ - start);
  }
  std::string_view rest() const { return s_.substr(std::min(pos_, s_.size())); }

  StatusOr<std::string> quoted() {
    if (!consume('"')) return fail("expected '\"' to open a label value");
    std::string out;
    while (!atEnd()) {
      char c = s_[pos_++];
      if (c == '"') return out;
      if (c != '\\') {
        out += c;
        continue;
      }
      if (atEnd()) break;
      char e = s_[pos_++];
      if (e == 'n') {
        out += '\n';
      } else if (e == '\\' || e == '"') {
        out += e;
      } else {
        out += '\\';  // unknown escapes stay as written (Prometheus is lenient here too)
        out += e;
      }
    }
    return fail("unterminated label value");
  }

 private:
  std::string_view s_;
  size_t line_no_;
  size_t pos_ = 0;
};

std::optional<double> parseValue(std::string_view t) {
  if (t == "+Inf" || t == "Inf" || t == "+inf" || t == "inf") {
    return std::numeric_limits<double>::infinity();
  }
  if (t == "-Inf" || t == "-inf") return -std::numeric_limits<double>::infinity();
  if (t == "NaN" || t == "nan") return std::numeric_limits<double>::quiet_NaN();
  if (!t.empty() && t[0] == '+') t.remove_prefix(1);
  double v = 0;
  auto [ptr, ec] = std::from_chars(t.data(), t.data() + t.size(), v);
  if (ec != std::errc() || ptr != t.data() + t.size() || t.empty()) return std::nullopt;
  return v;
}

std::string unescapeHelp(std::string_view s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '\\' && i + 1 < s.size() && (s[i + 1] == 'n' || s[i + 1] == '\\')) {
      out += s[i + 1] == 'n' ? '\n' : '\\';
      ++i;
    } else {
      out += s[i];
    }
  }
  return out;
}

Status parseComment(LineParser& p, ParsedPage& page) {
  p.skipSpace();
  std::string_view keyword = p.name();
  if (keyword != "HELP" && keyword != "TYPE") return Status::ok();  // a plain comment
  p.skipSpace();
  std::string family(p.name());
  if (family.empty()) return p.fail("expected a metric name after # " + std::string(keyword));
  if (!p.atEnd() && !p.consume(' ') && !p.consume('\t')) {
    return p.fail("invalid metric name in # " + std::string(keyword));
  }
  if (keyword == "HELP") {
    page.help[family] = unescapeHelp(p.rest());
    return Status::ok();
  }
  p.skipSpace();
  std::string type(p.token());
  static const char* kTypes[] = {"counter", "gauge", "histogram", "summary", "untyped"};
  if (std::find(std::begin(kTypes), std::end(kTypes), type) == std::end(kTypes)) {
    return p.fail("unknown metric type '" + type + "'");
  }
  page.types[family] = type;
  return Status::ok();
}

Status parseSampleLine(LineParser& p, ParsedPage& page) {
  ParsedSample s;
  s.name = std::string(p.name());
  if (s.name.empty()) return p.fail("expected a metric name");
  p.skipSpace();
  if (p.consume('{')) {
    for (;;) {
      p.skipSpace();
      if (p.consume('}')) break;
      std::string label(p.name());
      if (label.empty()) return p.fail("expected a label name or '}'");
      p.skipSpace();
      if (!p.consume('=')) return p.fail("expected '=' after label name '" + label + "'");
      p.skipSpace();
      ASSIGN_OR_RETURN(std::string value, p.quoted());
      for (const auto& [n, v] : s.labels) {
        if (n == label) return p.fail("duplicate label '" + label + "'");
      }
      s.labels.emplace_back(std::move(label), std::move(value));
      p.skipSpace();
      if (p.consume(',')) continue;
      if (p.consume('}')) break;
      return p.fail("expected ',' or '}' after a label value");
    }
  }
  p.skipSpace();
  std::string_view value_text = p.token();
  std::optional<double> value = parseValue(value_text);
  if (!value) return p.fail("invalid sample value '" + std::string(value_text) + "'");
  s.value = *value;
  p.skipSpace();
  if (!p.atEnd()) {
    std::string_view ts = p.token();
    int64_t t = 0;
    auto [ptr, ec] = std::from_chars(ts.data(), ts.data() + ts.size(), t);
    if (ec != std::errc() || ptr != ts.data() + ts.size()) {
      return p.fail("invalid timestamp '" + std::string(ts) + "'");
    }
    s.timestamp_ms = t;
    p.skipSpace();
    if (!p.atEnd()) return p.fail("unexpected text after the timestamp");
  }
  page.samples.push_back(std::move(s));
  return Status::ok();
}

}  // namespace

const std::string* ParsedSample::label(std::string_view name) const {
  for (const auto& [n, v] : labels) {
    if (n == name) return &v;
  }
  return nullptr;
}

bool ParsedSample::matches(const LabelPairs& filter) const {
  for (const auto& [n, v] : filter) {
    const std::string* have = label(n);
    if (have == nullptr || *have != v) return false;
  }
  return true;
}

StatusOr<ParsedPage> parseText(std::string_view text) {
  ParsedPage page;
  size_t line_no = 0;
  size_t start = 0;
  while (start < text.size()) {
    size_t end = text.find('\n', start);
    if (end == std::string_view::npos) end = text.size();
    std::string_view line = text.substr(start, end - start);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    start = end + 1;
    ++line_no;
    LineParser p(line, line_no);
    p.skipSpace();
    if (p.atEnd()) continue;
    if (p.consume('#')) {
      RETURN_IF_ERROR(parseComment(p, page));
    } else {
      RETURN_IF_ERROR(parseSampleLine(p, page));
    }
  }
  return page;
}

std::vector<const ParsedSample*> ParsedPage::find(std::string_view name,
                                                  const LabelPairs& filter) const {
  std::vector<const ParsedSample*> out;
  for (const ParsedSample& s : samples) {
    if (s.name == name && s.matches(filter)) out.push_back(&s);
  }
  return out;
}

std::optional<double> ParsedPage::value(std::string_view name, const LabelPairs& filter) const {
  for (const ParsedSample& s : samples) {
    if (s.name == name && s.matches(filter)) return s.value;
  }
  return std::nullopt;
}

double ParsedPage::sum(std::string_view name, const LabelPairs& filter) const {
  double total = 0;
  for (const ParsedSample& s : samples) {
    if (s.name == name && s.matches(filter)) total += s.value;
  }
  return total;
}

std::optional<double> ParsedPage::quantile(double q, std::string_view name,
                                           const LabelPairs& filter) const {
  std::map<double, double> by_le;
  std::string bucket_name = std::string(name) + "_bucket";
  for (const ParsedSample& s : samples) {
    if (s.name != bucket_name || !s.matches(filter)) continue;
    const std::string* le = s.label("le");
    if (le == nullptr) continue;
    std::optional<double> bound = parseValue(*le);
    if (!bound || std::isnan(*bound)) continue;
    by_le[*bound] += s.value;
  }
  return histogramQuantile(q, std::vector<std::pair<double, double>>(by_le.begin(), by_le.end()));
}

std::optional<double> histogramQuantile(double q,
                                        const std::vector<std::pair<double, double>>& buckets) {
  if (buckets.size() < 2 || !std::isinf(buckets.back().first) || buckets.back().first < 0) {
    return std::nullopt;
  }
  // Counts scraped from different series may be a little out of step; force them monotonic.
  std::vector<double> counts;
  counts.reserve(buckets.size());
  double running = 0;
  for (const auto& [bound, count] : buckets) {
    running = std::max(running, count);
    counts.push_back(running);
  }
  double observations = counts.back();
  if (!(observations > 0)) return std::nullopt;
  if (std::isnan(q)) return q;
  if (q < 0) return -std::numeric_limits<double>::infinity();
  if (q > 1) return std::numeric_limits<double>::infinity();
  double rank = q * observations;
  size_t b = 0;
  while (b < buckets.size() - 1 && counts[b] < rank) ++b;
  if (b == buckets.size() - 1) return buckets[buckets.size() - 2].first;
  if (b == 0 && buckets[0].first <= 0) return buckets[0].first;
  double start = 0, end = buckets[b].first, count = counts[b];
  if (b > 0) {
    start = buckets[b - 1].first;
    count -= counts[b - 1];
    rank -= counts[b - 1];
  }
  if (!(count > 0)) return start;
  return start + (end - start) * (rank / count);
}

}  // namespace surge::metrics
