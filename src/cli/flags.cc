#include "cli/flags.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstdlib>

#include "common/logging.h"
#include "config/suggest.h"
#include "config/units.h"

namespace surge::cli {
namespace {

constexpr size_t kHelpWidth = 100;     // --help lines are wrapped to this many columns
constexpr size_t kMaxFlagColumn = 28;  // longer "--flag VALUE" put their help on the next line

bool startsWith(std::string_view s, std::string_view prefix) {
  return s.size() >= prefix.size() && s.substr(0, prefix.size()) == prefix;
}

bool isHeading(const Flag& f) { return f.name.empty(); }

bool unbounded(double x) {
  return x == std::numeric_limits<double>::lowest() || x == std::numeric_limits<double>::max();
}

std::string formatBound(const Flag& f, double x) {
  if (f.type == FlagType::kDuration) return config::formatDuration(fromSeconds(x));
  char buf[64];
  std::snprintf(buf, sizeof(buf), "%.15g", x);
  return buf;
}

// "must be between 1 and 256", "must be > 0", "must be > 0 and <= 1e+12", "must be at least 1s".
std::string rangeText(const Flag& f) {
  const bool has_min = !unbounded(f.min), has_max = !unbounded(f.max);
  if (has_min && has_max && !f.min_exclusive && !f.max_exclusive) {
    return "must be between " + formatBound(f, f.min) + " and " + formatBound(f, f.max);
  }
  std::string lower, upper;
  if (has_min) lower = (f.min_exclusive ? "> " : ">= ") + formatBound(f, f.min);
  if (has_max) upper = (f.max_exclusive ? "< " : "<= ") + formatBound(f, f.max);
  if (!has_max && !f.min_exclusive) return "must be at least " + formatBound(f, f.min);
  if (!has_min && !f.max_exclusive) return "must be at most " + formatBound(f, f.max);
  return "must be " + lower + (has_min && has_max ? " and " : "") + upper;
}

bool inRange(const Flag& f, double x) {
  if (f.min_exclusive ? !(x > f.min) : !(x >= f.min)) return false;
  if (f.max_exclusive ? !(x < f.max) : !(x <= f.max)) return false;
  return true;
}

std::optional<int64_t> toInt(std::string_view s, bool* overflow) {
  int64_t v = 0;
  const char* end = s.data() + s.size();
  auto r = std::from_chars(s.data(), end, v);
  *overflow = r.ec == std::errc::result_out_of_range && r.ptr == end;
  if (s.empty() || r.ec != std::errc() || r.ptr != end) return std::nullopt;
  return v;
}

std::optional<double> toDouble(std::string_view s) {
  double v = 0;
  const char* end = s.data() + s.size();
  auto r = std::from_chars(s.data(), end, v);
  if (s.empty() || r.ec != std::errc() || r.ptr != end || !std::isfinite(v)) return std::nullopt;
  return v;
}

std::vector<std::string_view> flagNames(const CommandSpec& spec) {
  std::vector<std::string_view> names;
  for (const Flag& f : spec.flags) {
    if (!isHeading(f)) names.push_back(f.name);
  }
  names.push_back("--help");
  return names;
}

// Index of the flag named `name` (or one of its aliases), or -1.
int findFlag(const CommandSpec& spec, std::string_view name) {
  for (size_t i = 0; i < spec.flags.size(); ++i) {
    const Flag& f = spec.flags[i];
    if (isHeading(f)) continue;
    if (f.name == name) return static_cast<int>(i);
    for (const std::string& a : f.aliases) {
      if (a == name) return static_cast<int>(i);
    }
  }
  return -1;
}

std::string joined(const std::vector<std::string>& words) {
  std::string out;
  for (const std::string& w : words) out += (out.empty() ? "" : ", ") + w;
  return out;
}

// Appends `text` wrapped to kHelpWidth, the first line starting at column `column` (already
// reached), continuation lines indented to `column`. '\n' in text forces a break.
void appendWrapped(std::string* out, std::string_view text, size_t column) {
  size_t at = column;
  bool line_start = true;
  size_t pos = 0;
  while (pos < text.size()) {
    if (text[pos] == '\n') {
      *out += "\n" + std::string(column, ' ');
      at = column;
      line_start = true;
      ++pos;
      continue;
    }
    if (text[pos] == ' ') {
      ++pos;
      continue;
    }
    size_t end = text.find_first_of(" \n", pos);
    if (end == std::string_view::npos) end = text.size();
    std::string_view word = text.substr(pos, end - pos);
    if (!line_start && at + 1 + word.size() > kHelpWidth) {
      *out += "\n" + std::string(column, ' ');
      at = column;
      line_start = true;
    }
    if (!line_start) {
      *out += ' ';
      ++at;
    }
    *out += word;
    at += word.size();
    line_start = false;
    pos = end;
  }
  *out += '\n';
}

std::string flagLabel(const Flag& f) {
  std::string label = f.name;
  if (f.type != FlagType::kBool && !f.value_name.empty()) label += " " + f.value_name;
  return label;
}

}  // namespace

Flag section(std::string heading) {
  Flag f;
  f.heading = std::move(heading);
  return f;
}

Status checkValue(const Flag& f, std::string_view value) {
  const std::string found = ", found '" + std::string(value) + "'";
  switch (f.type) {
    case FlagType::kBool:
      if (value == "true" || value == "false") return Status::ok();
      return invalidArgument(f.name + " takes no value (or =true, =false)" + found);
    case FlagType::kString: {
      if (f.choices.empty()) return Status::ok();
      std::vector<std::string_view> candidates;
      for (const std::string& c : f.choices) {
        if (c == value) return Status::ok();
        candidates.push_back(c);
      }
      return invalidArgument(f.name + ": expected one of " + joined(f.choices) + found +
                             config::didYouMean(value, candidates));
    }
    case FlagType::kInt: {
      bool overflow = false;
      auto v = toInt(value, &overflow);
      if (!v) {
        return invalidArgument(f.name + (overflow ? ": out of range" : ": expected an integer") +
                               found);
      }
      if (!inRange(f, static_cast<double>(*v))) {
        return invalidArgument(f.name + ": " + rangeText(f) + found);
      }
      return Status::ok();
    }
    case FlagType::kDouble: {
      auto v = toDouble(value);
      if (!v) return invalidArgument(f.name + ": expected a number" + found);
      if (!inRange(f, *v)) return invalidArgument(f.name + ": " + rangeText(f) + found);
      return Status::ok();
    }
    case FlagType::kDuration: {
      auto d = config::parseDuration(value);
      if (!d.isOk()) return invalidArgument(f.name + ": " + d.status().message());
      if (!inRange(f, toSeconds(*d))) return invalidArgument(f.name + ": " + rangeText(f) + found);
      return Status::ok();
    }
  }
  return Status::ok();
}

Status checkHostPort(std::string_view flag, std::string_view value, bool allow_zero_port) {
  const std::string quoted = "'" + std::string(value) + "'";
  const size_t colon = value.rfind(':');
  if (colon == std::string_view::npos || colon == 0 || colon + 1 == value.size()) {
    return invalidArgument(std::string(flag) + ": " + quoted + " must be host:port");
  }
  long port = 0;
  bool digits = true;
  for (char c : value.substr(colon + 1)) {
    if (c < '0' || c > '9' || port > 65535) {
      digits = false;
      break;
    }
    port = port * 10 + (c - '0');
  }
  if (!digits || port > 65535 || (port == 0 && !allow_zero_port)) {
    return invalidArgument(std::string(flag) + ": " + quoted + " has a bad port (" +
                           (allow_zero_port ? "0" : "1") + "..65535)");
  }
  return Status::ok();
}

Status checkSpec(const CommandSpec& spec) {
  std::vector<std::string_view> seen = {"--help", "-h"};
  auto fail = [&](const std::string& what) {
    return internalError("flag table of '" + spec.path + "': " + what);
  };
  for (const Flag& f : spec.flags) {
    if (isHeading(f)) {
      if (f.heading.empty()) return fail("an entry with neither a name nor a heading");
      continue;
    }
    std::vector<std::string_view> names = {f.name};
    for (const std::string& a : f.aliases) names.push_back(a);
    for (std::string_view n : names) {
      if (!startsWith(n, "--") || n.size() < 3 || n.find('=') != std::string_view::npos) {
        return fail("bad flag name '" + std::string(n) + "'");
      }
      for (std::string_view s : seen) {
        if (s == n) return fail("flag " + std::string(n) + " declared twice");
      }
      seen.push_back(n);
    }
    if (f.required && !f.default_value.empty()) return fail(f.name + ": required with a default");
    if (f.greedy && f.type == FlagType::kBool) return fail(f.name + ": a greedy bool");
    if (!f.choices.empty() && f.type != FlagType::kString) {
      return fail(f.name + ": choices on a non-string flag");
    }
    if (!f.default_value.empty()) {
      if (Status s = checkValue(f, f.default_value); !s.isOk()) {
        return fail("default of " + s.message());
      }
    }
  }
  for (const Subcommand& sub : spec.subcommands) {
    if (sub.name.empty() || sub.name[0] == '-') return fail("bad subcommand '" + sub.name + "'");
  }
  return Status::ok();
}

StatusOr<ParsedArgs> parseArgs(const CommandSpec& spec, const std::vector<std::string>& args) {
  RETURN_IF_ERROR(checkSpec(spec));
  ParsedArgs out;
  out.spec_ = &spec;
  out.values_.resize(spec.flags.size());
  bool only_positionals = false;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (only_positionals || a.empty() || a == "-" || a[0] != '-') {
      if (a.empty()) {  // "" is never a useful path or word (`surge model demo ""` wrote into .)
        return invalidArgument(spec.positional.empty()
                                   ? std::string("empty argument")
                                   : "empty argument (expected " + spec.positional + ")");
      }
      if (out.positionals_.size() < spec.max_positionals) {
        out.positionals_.push_back(a);
        continue;
      }
      if (i == 0 && !spec.subcommands.empty()) {
        std::vector<std::string_view> names;
        std::vector<std::string> words;
        for (const Subcommand& s : spec.subcommands) {
          names.push_back(s.name);
          words.push_back(s.name);
        }
        std::string hint = config::didYouMean(a, names);
        if (hint.empty()) hint = " (subcommands: " + joined(words) + ")";
        return invalidArgument("unknown subcommand '" + a + "'" + hint);
      }
      return invalidArgument("unexpected argument '" + a + "'");
    }
    if (a == "--") {
      only_positionals = true;
      continue;
    }
    std::string name = a;
    std::optional<std::string> inline_value;
    if (startsWith(a, "--")) {
      if (size_t eq = a.find('='); eq != std::string::npos) {
        name = a.substr(0, eq);
        inline_value = a.substr(eq + 1);
      }
    }
    if (name == "--help" || name == "-h") {
      if (inline_value) {
        Flag help;
        help.name = name;
        help.type = FlagType::kBool;
        RETURN_IF_ERROR(checkValue(help, *inline_value));
        if (*inline_value == "false") continue;
      }
      out.help_ = true;
      return out;
    }
    const int index = startsWith(name, "--") ? findFlag(spec, name) : -1;
    if (index < 0) {
      return invalidArgument("unknown option '" + name + "'" +
                             config::didYouMean(name, flagNames(spec)));
    }
    const Flag& f = spec.flags[static_cast<size_t>(index)];
    std::vector<std::string>& values = out.values_[static_cast<size_t>(index)];
    if (f.type == FlagType::kBool) {
      const std::string v = inline_value.value_or("true");
      RETURN_IF_ERROR(checkValue(f, v));
      values = {v};
      continue;
    }
    std::string v;
    if (inline_value) {
      v = *inline_value;
    } else if (i + 1 < args.size() && !startsWith(args[i + 1], "--")) {
      v = args[++i];
    } else {
      return invalidArgument(f.name + " needs a value (" + flagLabel(f) + ")");
    }
    RETURN_IF_ERROR(checkValue(f, v));
    if (!f.repeatable) values.clear();
    values.push_back(v);
    while (f.greedy && i + 1 < args.size() && !startsWith(args[i + 1], "--")) {
      RETURN_IF_ERROR(checkValue(f, args[i + 1]));
      values.push_back(args[++i]);
    }
  }
  for (size_t k = 0; k < spec.flags.size(); ++k) {
    const Flag& f = spec.flags[k];
    if (f.required && out.values_[k].empty()) {
      return invalidArgument(flagLabel(f) + " is required");
    }
  }
  return out;
}

const Flag& ParsedArgs::flag(std::string_view name) const {
  const int index = spec_ ? findFlag(*spec_, name) : -1;
  if (index < 0) {
    std::fprintf(stderr, "surge: bug: flag %.*s is not declared\n", static_cast<int>(name.size()),
                 name.data());
    std::abort();
  }
  return spec_->flags[static_cast<size_t>(index)];
}

const std::string* ParsedArgs::text(std::string_view name) const {
  const Flag& f = flag(name);
  const auto& values = values_[static_cast<size_t>(&f - spec_->flags.data())];
  if (!values.empty()) return &values.back();
  if (!f.default_value.empty()) return &f.default_value;
  return nullptr;
}

bool ParsedArgs::has(std::string_view name) const {
  const Flag& f = flag(name);
  return !values_[static_cast<size_t>(&f - spec_->flags.data())].empty();
}

const std::string& ParsedArgs::str(std::string_view name) const {
  static const std::string kEmpty;
  const std::string* t = text(name);
  return t ? *t : kEmpty;
}

const std::vector<std::string>& ParsedArgs::all(std::string_view name) const {
  const Flag& f = flag(name);
  return values_[static_cast<size_t>(&f - spec_->flags.data())];
}

namespace {
[[noreturn]] void badRead(std::string_view name) {
  std::fprintf(stderr, "surge: bug: flag %.*s read without a value or default\n",
               static_cast<int>(name.size()), name.data());
  std::abort();
}
}  // namespace

int64_t ParsedArgs::integer(std::string_view name) const {
  const std::string* t = text(name);
  bool overflow = false;
  std::optional<int64_t> v = t ? toInt(*t, &overflow) : std::nullopt;
  if (!v) badRead(name);
  return *v;
}

double ParsedArgs::number(std::string_view name) const {
  const std::string* t = text(name);
  std::optional<double> v = t ? toDouble(*t) : std::nullopt;
  if (!v) badRead(name);
  return *v;
}

Duration ParsedArgs::duration(std::string_view name) const {
  const std::string* t = text(name);
  if (t == nullptr) badRead(name);
  auto d = config::parseDuration(*t);
  if (!d.isOk()) badRead(name);
  return *d;
}

bool ParsedArgs::boolean(std::string_view name) const {
  const std::string* t = text(name);
  return t != nullptr && *t == "true";
}

std::string helpText(const CommandSpec& spec) {
  std::string out;
  for (size_t i = 0; i < spec.synopsis.size() || i == 0; ++i) {
    out += (i == 0 ? "Usage: surge " : "       surge ") + spec.path;
    const std::string line = i < spec.synopsis.size() ? spec.synopsis[i] : "[options]";
    if (!line.empty()) out += " " + line;
    out += "\n";
  }
  if (!spec.description.empty()) {
    out += "\n" + spec.description;
    if (out.back() != '\n') out += '\n';
  }
  if (!spec.subcommands.empty()) {
    out += "\nCommands:\n";
    size_t width = 0;
    for (const Subcommand& s : spec.subcommands) width = std::max(width, s.name.size());
    for (const Subcommand& s : spec.subcommands) {
      out += "  " + s.name + std::string(width - s.name.size() + 2, ' ');
      appendWrapped(&out, s.summary, width + 4);
    }
  }
  size_t column = std::string("-h, --help").size();
  for (const Flag& f : spec.flags) {
    if (!isHeading(f) && flagLabel(f).size() <= kMaxFlagColumn) {
      column = std::max(column, flagLabel(f).size());
    }
  }
  column += 4;  // two spaces of indent, two between the label and the help
  out += "\n";
  if (spec.flags.empty() || !isHeading(spec.flags.front())) out += "Options:\n";
  auto entry = [&](const std::string& label, std::string help) {
    out += "  " + label;
    if (label.size() + 2 + 2 > column) {
      out += "\n" + std::string(column, ' ');
    } else {
      out += std::string(column - 2 - label.size(), ' ');
    }
    appendWrapped(&out, help, column);
  };
  for (const Flag& f : spec.flags) {
    if (isHeading(f)) {
      out += f.heading + "\n";
      continue;
    }
    std::string help = f.help;
    if (!f.choices.empty()) help += (help.empty() ? "one of " : "; one of ") + joined(f.choices);
    if (!f.default_value.empty() && f.type != FlagType::kBool) {
      help += (help.empty() ? "" : " ") + std::string("(default ") + f.default_value + ")";
    }
    if (f.required) help += " [required]";
    entry(flagLabel(f), help);
  }
  entry("-h, --help", "print this help and exit");
  if (!spec.epilog.empty()) {
    out += "\n" + spec.epilog;
    if (out.back() != '\n') out += '\n';
  }
  return out;
}

std::string errorText(const CommandSpec& spec, std::string_view message) {
  return "surge " + spec.path + ": " + std::string(message) + "\nRun 'surge " + spec.path +
         " --help' for usage.\n";
}

int usageError(const CommandSpec& spec, std::string_view message) {
  std::fputs(errorText(spec, message).c_str(), stderr);
  return 2;
}

Flag logFormatFlag() {
  return {.name = "--log-format",
          .value_name = "FORMAT",
          .help = "log lines as text, or as JSON objects (one per line: time, level, component, "
                  "message, fields) for a log pipeline; also read from SURGE_LOG_FORMAT, and "
                  "passed to the processes this command starts",
          .choices = {"text", "json"}};
}

namespace {

// SURGE_LOG_FORMAT, read only by the commands that declare --log-format and only when the flag is
// absent (after --help: a bad value never breaks --help, nor a command that does not log).
Status applyLogFormatEnv() {
  const char* env = std::getenv(kLogFormatEnv);
  if (env == nullptr || *env == '\0' || setLogFormatByName(env)) return Status::ok();
  // The value as the flag's error would quote it, but printable: it comes from the environment.
  std::string shown;
  for (const char* p = env; *p != '\0' && shown.size() < 64; ++p) {
    const auto u = static_cast<unsigned char>(*p);
    if (u >= 0x20 && u < 0x7f) {
      shown.push_back(*p);
    } else {
      char hex[8];
      std::snprintf(hex, sizeof hex, "\\x%02x", u);
      shown += hex;
    }
  }
  return invalidArgument(std::string(kLogFormatEnv) + ": expected one of text, json, found '" +
                         shown + "'");
}

}  // namespace

std::optional<ParsedArgs> parseOrExit(const CommandSpec& spec, const std::vector<std::string>& args,
                                      int* exit_code) {
  auto parsed = parseArgs(spec, args);
  if (!parsed.isOk()) {
    if (parsed.status().code() == StatusCode::kInternal) {
      std::fprintf(stderr, "surge %s: %s\n", spec.path.c_str(), parsed.status().message().c_str());
      *exit_code = 1;
    } else {
      *exit_code = usageError(spec, parsed.status().message());
    }
    return std::nullopt;
  }
  if (parsed->help()) {
    std::fputs(helpText(spec).c_str(), stdout);
    std::fflush(stdout);
    *exit_code = 0;
    return std::nullopt;
  }
  if (findFlag(spec, "--log-format") >= 0) {
    if (parsed->has("--log-format")) {
      const std::string& format = parsed->str("--log-format");  // one of the choices
      setLogFormatByName(format);
      ::setenv(kLogFormatEnv, format.c_str(), 1);  // before any thread: children inherit it
    } else if (Status s = applyLogFormatEnv(); !s.isOk()) {
      *exit_code = usageError(spec, s.message());
      return std::nullopt;
    }
  }
  return std::move(parsed).value();
}

}  // namespace surge::cli
