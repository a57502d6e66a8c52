#include "autoscale/predict/history.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <sstream>

namespace surge::autoscale {
namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) {
    s.remove_suffix(1);
  }
  return s;
}

bool isDigit(char c) { return c >= '0' && c <= '9'; }

// Reads exactly `n` digits at s[*pos].
bool digits(std::string_view s, size_t* pos, size_t n, int* out) {
  if (*pos + n > s.size()) return false;
  int v = 0;
  for (size_t i = 0; i < n; ++i) {
    char c = s[*pos + i];
    if (!isDigit(c)) return false;
    v = v * 10 + (c - '0');
  }
  *pos += n;
  *out = v;
  return true;
}

int daysInMonth(int64_t year, int month) {
  static const int kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  if (month == 2) {
    bool leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
    return leap ? 29 : 28;
  }
  return kDays[month - 1];
}

StatusOr<int64_t> parseRfc3339(std::string_view s) {
  auto bad = [&](const char* why) {
    return invalidArgument(std::string("expected Unix seconds or an RFC 3339 time like "
                                       "2026-01-05T14:30:00Z (") +
                           why + "), found '" + std::string(s) + "'");
  };
  size_t p = 0;
  int year = 0, month = 0, day = 0, hour = 0, minute = 0, second = 0;
  if (!digits(s, &p, 4, &year) || p >= s.size() || s[p++] != '-' || !digits(s, &p, 2, &month) ||
      p >= s.size() || s[p++] != '-' || !digits(s, &p, 2, &day)) {
    return bad("date YYYY-MM-DD");
  }
  if (p >= s.size() || (s[p] != 'T' && s[p] != 't' && s[p] != ' ')) return bad("missing 'T'");
  ++p;
  if (!digits(s, &p, 2, &hour) || p >= s.size() || s[p++] != ':' || !digits(s, &p, 2, &minute) ||
      p >= s.size() || s[p++] != ':' || !digits(s, &p, 2, &second)) {
    return bad("time hh:mm:ss");
  }
  if (month < 1 || month > 12 || day < 1 || day > daysInMonth(year, month)) {
    return bad("no such date");
  }
  if (hour > 23 || minute > 59 || second > 60) return bad("time out of range");
  if (second == 60) second = 59;  // a leap second: Unix time has none
  if (p < s.size() && s[p] == '.') {
    ++p;
    size_t start = p;
    while (p < s.size() && isDigit(s[p])) ++p;
    if (p == start) return bad("empty fraction");
  }
  int64_t offset = 0;
  if (p < s.size() && (s[p] == 'Z' || s[p] == 'z')) {
    ++p;
  } else if (p < s.size() && (s[p] == '+' || s[p] == '-')) {
    int sign = s[p++] == '-' ? -1 : 1;
    int oh = 0, om = 0;
    if (!digits(s, &p, 2, &oh) || p >= s.size() || s[p++] != ':' || !digits(s, &p, 2, &om) ||
        oh > 23 || om > 59) {
      return bad("offset ±hh:mm");
    }
    offset = sign * (oh * 3600 + om * 60);
  } else {
    return bad("missing offset Z or ±hh:mm");
  }
  if (p != s.size()) return bad("trailing characters");
  int64_t days = daysFromCivil(year, month, day);
  return days * 86400 + hour * 3600 + minute * 60 + second - offset;
}

// The shape of a header: neither field parses.
bool looksLikeHeader(std::string_view line) {
  size_t comma = line.find(',');
  if (comma == std::string_view::npos) return false;
  std::string_view a = trim(line.substr(0, comma));
  std::string_view b = trim(line.substr(comma + 1));
  if (a.empty() || b.empty()) return false;
  double v = 0;
  auto r = std::from_chars(b.data(), b.data() + b.size(), v);
  bool b_is_number = r.ec == std::errc() && r.ptr == b.data() + b.size();
  return !parseTimestamp(a).isOk() && !b_is_number;
}

}  // namespace

int64_t daysFromCivil(int64_t year, int month, int day) {
  year -= month <= 2 ? 1 : 0;
  const int64_t era = (year >= 0 ? year : year - 399) / 400;
  const int64_t yoe = year - era * 400;
  const int64_t mp = month > 2 ? month - 3 : month + 9;
  const int64_t doy = (153 * mp + 2) / 5 + day - 1;
  const int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + doe - 719468;
}

void civilFromDays(int64_t days, int64_t* year, int* month, int* day) {
  days += 719468;
  const int64_t era = (days >= 0 ? days : days - 146096) / 146097;
  const int64_t doe = days - era * 146097;
  const int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const int64_t mp = (5 * doy + 2) / 153;
  *day = static_cast<int>(doy - (153 * mp + 2) / 5 + 1);
  *month = static_cast<int>(mp < 10 ? mp + 3 : mp - 9);
  *year = yoe + era * 400 + (*month <= 2 ? 1 : 0);
}

StatusOr<int64_t> parseTimestamp(std::string_view text) {
  std::string_view s = trim(text);
  if (s.empty()) return invalidArgument("empty timestamp");
  bool numeric = true;
  for (char c : s) {
    if (!isDigit(c) && c != '.' && c != '-') numeric = false;
  }
  if (numeric && s.find('-', 1) == std::string_view::npos) {
    double v = 0;
    auto r = std::from_chars(s.data(), s.data() + s.size(), v);
    if (r.ec != std::errc() || r.ptr != s.data() + s.size() || !std::isfinite(v)) {
      return invalidArgument("expected Unix seconds, found '" + std::string(s) + "'");
    }
    if (v < 0 || v > 253402300799.0) {  // up to 9999-12-31T23:59:59Z
      return invalidArgument("Unix seconds out of range (0 .. 9999-12-31), found '" +
                             std::string(s) + "'");
    }
    return static_cast<int64_t>(std::floor(v));
  }
  return parseRfc3339(s);
}

std::string formatRfc3339(int64_t t) {
  int64_t days = t >= 0 ? t / 86400 : -((-t + 86399) / 86400);
  int64_t sec = t - days * 86400;
  int64_t year = 0;
  int month = 0, day = 0;
  civilFromDays(days, &year, &month, &day);
  char buf[48];
  std::snprintf(buf, sizeof(buf), "%04lld-%02d-%02dT%02d:%02d:%02dZ", static_cast<long long>(year),
                month, day, static_cast<int>(sec / 3600), static_cast<int>(sec / 60 % 60),
                static_cast<int>(sec % 60));
  return buf;
}

StatusOr<std::vector<RpsSample>> parseRpsHistory(std::string_view text, const std::string& name) {
  std::vector<RpsSample> out;
  size_t line_no = 0;
  size_t pos = 0;
  bool first_content = true;
  while (pos < text.size()) {
    size_t nl = text.find('\n', pos);
    std::string_view line =
        text.substr(pos, nl == std::string_view::npos ? std::string_view::npos : nl - pos);
    pos = nl == std::string_view::npos ? text.size() : nl + 1;
    ++line_no;
    std::string_view t = trim(line);
    if (t.empty() || t.front() == '#') continue;
    const bool first = first_content;
    first_content = false;
    if (first && looksLikeHeader(t)) continue;
    const std::string where = name + ":" + std::to_string(line_no) + ": ";
    size_t comma = t.find(',');
    if (comma == std::string_view::npos) {
      return invalidArgument(where + "expected 'timestamp,rps', found '" + std::string(t) + "'");
    }
    std::string_view ts = trim(t.substr(0, comma));
    std::string_view rs = trim(t.substr(comma + 1));
    if (rs.find(',') != std::string_view::npos) {
      return invalidArgument(where + "expected 2 fields 'timestamp,rps', found '" +
                             std::string(t) + "'");
    }
    auto when = parseTimestamp(ts);
    if (!when.isOk()) return invalidArgument(where + "timestamp: " + when.status().message());
    double rps = 0;
    auto r = std::from_chars(rs.data(), rs.data() + rs.size(), rps);
    if (rs.empty() || r.ec != std::errc() || r.ptr != rs.data() + rs.size() ||
        !std::isfinite(rps) || rps < 0) {
      return invalidArgument(where + "rps: expected a number >= 0, found '" + std::string(rs) +
                             "'");
    }
    out.push_back({*when, rps});
  }
  return out;
}

StatusOr<std::vector<RpsSample>> loadRpsHistory(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return notFound("cannot read history file '" + path + "': " + std::strerror(errno));
  }
  std::ostringstream ss;
  ss << in.rdbuf();
  if (in.bad()) return unavailable("error reading history file '" + path + "'");
  return parseRpsHistory(ss.str(), path);
}

Status appendRpsHistory(const std::string& path, const RpsSample& sample) {
  if (!std::isfinite(sample.rps) || sample.rps < 0) {
    return invalidArgument("appendRpsHistory: rps must be a finite number >= 0");
  }
  char line[96];
  int n = std::snprintf(line, sizeof(line), "%lld,%.10g\n",
                        static_cast<long long>(sample.unix_seconds), sample.rps);
  std::string text(line, static_cast<size_t>(n));

  // New file: header and line in one write; O_EXCL decides the race between two creators.
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_APPEND | O_CLOEXEC, 0644);
  if (fd >= 0) {
    text = "timestamp,rps\n" + text;
  } else if (errno == EEXIST) {
    fd = ::open(path.c_str(), O_RDWR | O_APPEND | O_CLOEXEC);
    if (fd < 0) {
      return unavailable("cannot append to history file '" + path + "': " + std::strerror(errno));
    }
    // A crash mid-line (another writer, an old version) would glue our line to it: start fresh.
    struct stat st {};
    if (::fstat(fd, &st) == 0 && st.st_size > 0) {
      char last = '\n';
      if (::pread(fd, &last, 1, st.st_size - 1) == 1 && last != '\n') text = "\n" + text;
    }
  } else {
    return unavailable("cannot create history file '" + path + "': " + std::strerror(errno));
  }
  ssize_t written = ::write(fd, text.data(), text.size());
  int err = errno;
  ::close(fd);
  if (written != static_cast<ssize_t>(text.size())) {
    return unavailable("cannot append to history file '" + path +
                       "': " + (written < 0 ? std::strerror(err) : "short write"));
  }
  return Status::ok();
}

}  // namespace surge::autoscale
