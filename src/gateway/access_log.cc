#include "gateway/access_log.h"

#include <fcntl.h>
#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <ctime>

#include "common/logging.h"
#include "net/http_util.h"

namespace surge::gateway {

namespace {

void appendInt(std::string& out, int64_t v) {
  char b[24];
  auto [p, ec] = std::to_chars(b, b + sizeof b, v);
  out.append(b, p);
}

// Microseconds as milliseconds with three decimals ("12.345").
void appendMs(std::string& out, int64_t us) {
  if (us < 0) us = 0;
  appendInt(out, us / 1000);
  int64_t frac = us % 1000;
  char b[4] = {'.', static_cast<char>('0' + frac / 100), static_cast<char>('0' + frac / 10 % 10),
               static_cast<char>('0' + frac % 10)};
  out.append(b, 4);
}

// Text escaping (nginx's): bytes outside printable ASCII, '"' and '\\' become \xHH.
void appendTextEscaped(std::string& out, std::string_view s) {
  static const char kHex[] = "0123456789ABCDEF";
  size_t run = 0;  // start of the current run of bytes that need no escaping (appended at once)
  for (size_t i = 0; i < s.size(); ++i) {
    auto c = static_cast<unsigned char>(s[i]);
    if (c >= 0x20 && c < 0x7f && c != '"' && c != '\\') continue;
    out.append(s.data() + run, i - run);
    char b[4] = {'\\', 'x', kHex[c >> 4], kHex[c & 0xf]};
    out.append(b, 4);
    run = i + 1;
  }
  out.append(s.data() + run, s.size() - run);
}

// A bounded, escaped string field; `empty` is written for "" (text: -, json: null).
void appendField(std::string& out, std::string_view s, size_t max, AccessLogFormat f,
                 bool quoted_text) {
  bool cut = false;
  std::string_view v = boundField(s, max, &cut);
  if (f == AccessLogFormat::kJson) {
    if (s.empty()) {
      out.append("null");
      return;
    }
    out.push_back('"');
    net::appendJsonEscaped(out, v);
    if (cut) out.append("...");
    out.push_back('"');
    return;
  }
  if (quoted_text) out.push_back('"');
  if (s.empty()) {
    out.push_back('-');
  } else {
    appendTextEscaped(out, v);
    if (cut) out.append("...");
  }
  if (quoted_text) out.push_back('"');
}

}  // namespace

std::string_view boundField(std::string_view s, size_t max, bool* truncated) {
  *truncated = s.size() > max;
  if (!*truncated) return s;
  size_t n = max;
  // Back up over continuation bytes (10xxxxxx) so no sequence is split (at most 3).
  for (int i = 0; i < 3 && n > 0 && (static_cast<unsigned char>(s[n]) & 0xC0) == 0x80; ++i) --n;
  return s.substr(0, n);
}

void AccessLogClock::appendRfc3339(int64_t unix_ms, std::string& out) {
  int64_t sec = unix_ms >= 0 ? unix_ms / 1000 : (unix_ms - 999) / 1000;
  int64_t ms = unix_ms - sec * 1000;
  if (sec != second_) {
    second_ = sec;
    time_t t = static_cast<time_t>(sec);
    tm parts{};
    ::gmtime_r(&t, &parts);
    prefix_len_ = std::strftime(prefix_, sizeof prefix_, "%Y-%m-%dT%H:%M:%S", &parts);
  }
  out.append(prefix_, prefix_len_);
  char b[5] = {'.', static_cast<char>('0' + ms / 100), static_cast<char>('0' + ms / 10 % 10),
               static_cast<char>('0' + ms % 10), 'Z'};
  out.append(b, 5);
}

void formatAccessLogLine(const AccessLogEntry& e, AccessLogFormat f, AccessLogClock& clock,
                         std::string& out) {
  if (f == AccessLogFormat::kJson) {
    out.append("{\"time\":\"");
    clock.appendRfc3339(e.start_unix_ms, out);
    out.append("\",\"client\":");
    appendField(out, e.client, kMaxAddressBytes, f, true);
    out.append(",\"method\":");
    appendField(out, e.method, kMaxMethodBytes, f, true);
    out.append(",\"path\":");
    appendField(out, e.path, kMaxPathBytes, f, true);
    out.append(e.http_minor == 0 ? ",\"protocol\":\"HTTP/1.0\"" : ",\"protocol\":\"HTTP/1.1\"");
    out.append(",\"status\":");
    appendInt(out, e.status);
    out.append(",\"upstream\":");
    appendField(out, e.upstream, kMaxAddressBytes, f, true);
    out.append(",\"request_bytes\":");
    appendInt(out, static_cast<int64_t>(e.request_bytes));
    out.append(",\"response_bytes\":");
    appendInt(out, static_cast<int64_t>(e.response_bytes));
    out.append(",\"duration_ms\":");
    appendMs(out, e.duration_us);
    out.append(",\"upstream_ms\":");
    if (e.upstream_us < 0) {
      out.append("null");
    } else {
      appendMs(out, e.upstream_us);
    }
    out.append(",\"request_id\":");
    appendField(out, e.request_id, kMaxRequestIdBytes, f, true);
    out.append(",\"retries\":");
    appendInt(out, e.retries);
    out.append(",\"reason\":");
    appendField(out, e.reason, kMaxReasonBytes, f, true);
    out.append("}\n");
    return;
  }
  appendField(out, e.client, kMaxAddressBytes, f, false);
  out.append(" - - [");
  clock.appendRfc3339(e.start_unix_ms, out);
  out.append("] \"");
  appendField(out, e.method, kMaxMethodBytes, f, false);
  out.push_back(' ');
  appendField(out, e.path, kMaxPathBytes, f, false);
  out.append(e.http_minor == 0 ? " HTTP/1.0\" " : " HTTP/1.1\" ");
  appendInt(out, e.status);
  out.push_back(' ');
  appendInt(out, static_cast<int64_t>(e.request_bytes));
  out.push_back(' ');
  appendInt(out, static_cast<int64_t>(e.response_bytes));
  out.push_back(' ');
  appendField(out, e.upstream, kMaxAddressBytes, f, false);
  out.push_back(' ');
  appendMs(out, e.duration_us);
  out.push_back(' ');
  if (e.upstream_us < 0) {
    out.push_back('-');
  } else {
    appendMs(out, e.upstream_us);
  }
  out.push_back(' ');
  appendField(out, e.request_id, kMaxRequestIdBytes, f, true);
  out.push_back(' ');
  appendInt(out, e.retries);
  out.push_back(' ');
  appendField(out, e.reason, kMaxReasonBytes, f, true);
  out.push_back('\n');
}

// ---- ring ---------------------------------------------------------------------------------------

AccessLogRing::AccessLogRing(size_t capacity) : cap_(capacity), buf_(new char[capacity]) {}

bool AccessLogRing::push(std::string_view line, bool* past_half) {
  const uint64_t head = head_.load(std::memory_order_relaxed);
  const uint64_t tail = tail_.load(std::memory_order_acquire);
  const uint64_t used = head - tail;
  if (line.size() > cap_ - used) {
    dropped_.store(dropped_.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
    return false;
  }
  size_t pos = static_cast<size_t>(head % cap_);
  size_t first = std::min(line.size(), cap_ - pos);
  std::memcpy(buf_.get() + pos, line.data(), first);
  if (first < line.size()) std::memcpy(buf_.get(), line.data() + first, line.size() - first);
  head_.store(head + line.size(), std::memory_order_release);
  if (past_half) *past_half = used <= cap_ / 2 && used + line.size() > cap_ / 2;
  return true;
}

size_t AccessLogRing::peek(std::string_view seg[2]) const {
  const uint64_t tail = tail_.load(std::memory_order_relaxed);
  const uint64_t head = head_.load(std::memory_order_acquire);
  size_t n = static_cast<size_t>(head - tail);
  size_t pos = static_cast<size_t>(tail % cap_);
  size_t first = std::min(n, cap_ - pos);
  seg[0] = std::string_view(buf_.get() + pos, first);
  seg[1] = std::string_view(buf_.get(), n - first);
  return n;
}

void AccessLogRing::consume(size_t n) {
  tail_.store(tail_.load(std::memory_order_relaxed) + n, std::memory_order_release);
}

// ---- writer -------------------------------------------------------------------------------------

AccessLogWriter::AccessLogWriter(AccessLogOptions options, int producers)
    : options_(std::move(options)) {
  for (int i = 0; i < producers; ++i) {
    rings_.push_back(std::make_unique<AccessLogRing>(static_cast<size_t>(options_.buffer_bytes)));
  }
}

AccessLogWriter::~AccessLogWriter() {
  stop();
  if (own_fd_ && fd_ >= 0) ::close(fd_);
}

Status AccessLogWriter::open() {
  if (options_.toStdout()) {
    // A description of its own for standard output, non-blocking: a reader that stops reading
    // (a full pipe) then costs dropped entries, never a writer stuck in write() that would hold up
    // shutdown. O_APPEND: when stdout is a file, write at its end, never over the ready line.
    // Not every stdout can be reopened (a socket): then a blocking duplicate.
    int fd = ::open("/proc/self/fd/1", O_WRONLY | O_APPEND | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0) fd = ::fcntl(STDOUT_FILENO, F_DUPFD_CLOEXEC, 0);
    if (fd < 0) {
      return invalidArgument(std::string("access_log: cannot use stdout: ") + std::strerror(errno));
    }
    fd_ = fd;
    own_fd_ = true;
    return Status::ok();
  }
  int fd = ::open(options_.path.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0) {
    return invalidArgument("access_log: cannot open '" + options_.path +
                           "': " + std::strerror(errno));
  }
  fd_ = fd;
  own_fd_ = true;
  return Status::ok();
}

void AccessLogWriter::start() {
  if (thread_.joinable()) return;
  thread_ = std::thread([this] { run(); });
}

void AccessLogWriter::stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (stop_) return;
    stop_ = true;
  }
  cv_.notify_one();
  if (thread_.joinable()) thread_.join();
  drainOnce(/*final=*/true);  // what came after the thread's last pass (or all, without one)
}

void AccessLogWriter::nudge() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    woken_ = true;
  }
  cv_.notify_one();
}

uint64_t AccessLogWriter::dropped() const {
  uint64_t n = write_errors_lines_.load(std::memory_order_relaxed);
  for (const auto& r : rings_) n += r->dropped();
  return n;
}

void AccessLogWriter::run() {
  std::unique_lock<std::mutex> lock(mu_);
  while (!stop_) {
    cv_.wait_for(lock, kDrainInterval, [this] { return stop_ || woken_; });
    woken_ = false;
    lock.unlock();
    drainOnce(/*final=*/false);
    lock.lock();
  }
}

void AccessLogWriter::reopenNow() {
  if (!own_fd_ || options_.toStdout()) return;
  int fd = ::open(options_.path.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0) {
    SURGE_LOG(kWarn, "gateway",
              "access_log: cannot reopen '" + options_.path + "': " + std::strerror(errno) +
                  " (still writing to the old file)");
    return;
  }
  ::close(fd_);
  fd_ = fd;
}

bool AccessLogWriter::drainOnce(bool final) {
  if (reopen_.exchange(false, std::memory_order_acq_rel)) reopenNow();
  if (fd_ < 0) return false;
  bool any = false;
  for (auto& r : rings_) {
    std::string_view seg[2];
    size_t n = r->peek(seg);
    if (n == 0) continue;
    any = true;
    iovec iov[2] = {{const_cast<char*>(seg[0].data()), seg[0].size()},
                    {const_cast<char*>(seg[1].data()), seg[1].size()}};
    int cnt = seg[1].empty() ? 1 : 2;
    size_t done = 0;
    bool keep_rest = false;  // a full non-blocking pipe: the rest waits for the next pass
    while (done < n) {
      // Skip what was already written of the segments.
      iovec v[2];
      int k = 0;
      size_t skip = done;
      for (int i = 0; i < cnt; ++i) {
        if (skip >= iov[i].iov_len) {
          skip -= iov[i].iov_len;
          continue;
        }
        v[k++] = iovec{static_cast<char*>(iov[i].iov_base) + skip, iov[i].iov_len - skip};
        skip = 0;
      }
      ssize_t w = ::writev(fd_, v, k);
      const int err = w < 0 ? errno : 0;
      if (err == EINTR) continue;
      if ((err == EAGAIN || err == EWOULDBLOCK) && !final) {
        // A full pipe (non-blocking stdout): keep the rest for the next pass; the ring fills
        // and the workers drop meanwhile.
        keep_rest = true;
        break;
      }
      if (w <= 0) {
        // Disk full, closed stdout...: the lines are lost, counted as dropped, warned about at
        // most once a minute; the workers never notice.
        uint64_t lost = 0;
        size_t left = done;
        for (int i = 0; i < cnt; ++i) {
          std::string_view s = seg[i];
          if (left >= s.size()) {
            left -= s.size();
            continue;
          }
          lost += static_cast<uint64_t>(
              std::count(s.begin() + static_cast<ptrdiff_t>(left), s.end(), '\n'));
          left = 0;
        }
        write_errors_lines_.fetch_add(lost, std::memory_order_relaxed);
        int64_t now_s = std::chrono::duration_cast<std::chrono::seconds>(
                            std::chrono::steady_clock::now().time_since_epoch())
                            .count();
        if (now_s - last_error_log_s_ >= 60 || last_error_log_s_ == 0) {
          last_error_log_s_ = now_s;
          SURGE_LOG(kWarn, "gateway",
                    "access_log: write to '" + options_.path + "' failed: " +
                        (w < 0 ? std::strerror(err) : "no progress") + " (entries dropped)");
        }
        break;
      }
      done += static_cast<size_t>(w);
    }
    written_bytes_.fetch_add(done, std::memory_order_relaxed);
    r->consume(keep_rest ? done : n);
  }
  return any;
}

}  // namespace surge::gateway
