#include "autoscale/sources/proc_stats.h"

#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstring>
#include <fstream>
#include <sstream>

namespace surge::autoscale {
namespace {

StatusOr<std::string> readFile(const std::string& path, int64_t pid) {
  std::ifstream in(path);
  if (!in) {
    int err = errno;
    if (err == ENOENT || err == ESRCH) {
      return notFound("process " + std::to_string(pid) + " not found");
    }
    return unavailable("cannot read " + path + ": " + std::strerror(err));
  }
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

bool parseInt(std::string_view s, int64_t& out) {
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  return ec == std::errc() && p == s.data() + s.size();
}

}  // namespace

StatusOr<int64_t> parseProcStatCpuTicks(std::string_view stat) {
  size_t close = stat.rfind(')');
  if (close == std::string_view::npos) {
    return invalidArgument("malformed /proc stat: no ')' after the command name");
  }
  // After ')': field 3 (state) is the first token; utime is field 14, stime field 15.
  std::string_view rest = stat.substr(close + 1);
  int field = 2;
  int64_t utime = -1, stime = -1;
  size_t i = 0;
  while (i < rest.size() && field < 15) {
    while (i < rest.size() && (rest[i] == ' ' || rest[i] == '\n')) ++i;
    size_t j = i;
    while (j < rest.size() && rest[j] != ' ' && rest[j] != '\n') ++j;
    if (j == i) break;
    ++field;
    std::string_view tok = rest.substr(i, j - i);
    if (field == 14 || field == 15) {
      int64_t v = 0;
      if (!parseInt(tok, v) || v < 0) {
        return invalidArgument("malformed /proc stat: field " + std::to_string(field) + " is '" +
                               std::string(tok) + "'");
      }
      (field == 14 ? utime : stime) = v;
    }
    i = j;
  }
  if (utime < 0 || stime < 0) return invalidArgument("malformed /proc stat: too few fields");
  return utime + stime;
}

StatusOr<int64_t> parseProcStatusRssBytes(std::string_view status) {
  size_t pos = 0;
  while (pos < status.size()) {
    size_t eol = status.find('\n', pos);
    std::string_view line =
        status.substr(pos, eol == std::string_view::npos ? std::string_view::npos : eol - pos);
    pos = eol == std::string_view::npos ? status.size() : eol + 1;
    if (line.substr(0, 6) != "VmRSS:") continue;
    std::string_view v = line.substr(6);
    size_t b = v.find_first_not_of(" \t");
    size_t e = v.find_first_of(" \t", b);
    if (b == std::string_view::npos) return invalidArgument("malformed /proc status: empty VmRSS");
    std::string_view num = v.substr(b, e == std::string_view::npos ? e : e - b);
    int64_t kb = 0;
    if (!parseInt(num, kb) || kb < 0) {
      return invalidArgument("malformed /proc status: VmRSS '" + std::string(num) + "'");
    }
    std::string_view unit = e == std::string_view::npos ? "" : v.substr(e);
    size_t ub = unit.find_first_not_of(" \t");
    unit = ub == std::string_view::npos ? "" : unit.substr(ub);
    if (unit != "kB") {
      return invalidArgument("malformed /proc status: VmRSS unit '" + std::string(unit) + "'");
    }
    return kb * 1024;
  }
  return notFound("no VmRSS in /proc status");
}

StatusOr<int64_t> readProcCpuTicks(int64_t pid, const std::string& proc_root) {
  if (pid <= 0) return invalidArgument("no pid");
  ASSIGN_OR_RETURN(std::string text,
                   readFile(proc_root + "/" + std::to_string(pid) + "/stat", pid));
  if (text.empty()) return notFound("process " + std::to_string(pid) + " not found");
  return parseProcStatCpuTicks(text);
}

StatusOr<int64_t> readProcRssBytes(int64_t pid, const std::string& proc_root) {
  if (pid <= 0) return invalidArgument("no pid");
  ASSIGN_OR_RETURN(std::string text,
                   readFile(proc_root + "/" + std::to_string(pid) + "/status", pid));
  if (text.empty()) return notFound("process " + std::to_string(pid) + " not found");
  return parseProcStatusRssBytes(text);
}

int64_t clockTicksPerSecond() {
  static const int64_t hz = [] {
    long v = ::sysconf(_SC_CLK_TCK);
    return v > 0 ? static_cast<int64_t>(v) : int64_t{100};
  }();
  return hz;
}

}  // namespace surge::autoscale
