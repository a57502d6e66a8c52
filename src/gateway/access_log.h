// The gateway's access log: one line per request (docs/gateway.md, "Access log"; design:
// docs/design/access-log.md). Off the hot path:
//   - a worker formats its entry (formatAccessLogLine, into a reused string: no allocation once
//     grown) and copies it into its own AccessLogRing, a bounded single-producer single-consumer
//     byte ring (two atomics, no lock, no syscall);
//   - one AccessLogWriter thread drains every ring to the file (or stdout) with writev every
//     kDrainInterval, or sooner when a ring passes half full;
//   - a ring without room for an entry drops it and counts it (dropped()); a worker never waits
//     for the writer or the disk.
// Text lines are combined-like; JSON lines are one object each. Every string field is bounded
// (kMax*Bytes, cut at a UTF-8 boundary with "..." appended) and escaped (JSON: net::jsonEscape's
// rules, so invalid UTF-8 becomes U+FFFD; text: control bytes, '"', '\\', DEL and non-ASCII bytes
// as \xHH), so an entry is always exactly one line and JSON always parses.
// Thread-safety: AccessLogRing::push from one producer thread, drain from the writer only;
// AccessLogWriter's reopen(), dropped(), written() from any thread; formatAccessLogLine is pure
// (AccessLogClock is per worker).
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "common/status.h"

namespace surge::gateway {

enum class AccessLogFormat { kText, kJson };

struct AccessLogOptions {
  // "" = off (the default); "stdout" (or "-") = standard output; else a file, opened for append
  // (created 0644) and reopened on SIGHUP (logrotate).
  std::string path;
  AccessLogFormat format = AccessLogFormat::kText;
  // Ring size per worker; an entry that does not fit is dropped and counted.
  uint64_t buffer_bytes = 1 << 20;
  bool enabled() const { return !path.empty(); }
  bool toStdout() const { return path == "stdout" || path == "-"; }
};

// Bounds of the logged string fields (bytes before escaping).
inline constexpr size_t kMaxMethodBytes = 32;
inline constexpr size_t kMaxPathBytes = 1024;
inline constexpr size_t kMaxRequestIdBytes = 128;
inline constexpr size_t kMaxReasonBytes = 128;
inline constexpr size_t kMaxAddressBytes = 256;  // client and upstream

// One request, as the worker saw it. The views need to live only during formatAccessLogLine.
struct AccessLogEntry {
  int64_t start_unix_ms = 0;  // wall-clock time the request head started arriving
  std::string_view client;    // client IP
  std::string_view method;    // "" → "-"
  std::string_view path;      // request target as received; "" → "-"
  int http_minor = 1;
  int status = 0;               // 0: the connection closed before any response
  std::string_view upstream;    // host:port of the backend that answered; "" = local answer
  uint64_t request_bytes = 0;   // from the client: head + body
  uint64_t response_bytes = 0;  // to the client: head + body
  int64_t duration_us = 0;      // head start → last response byte (or close)
  int64_t upstream_us = -1;  // request sent → first response byte of the answering try; -1 none
  std::string_view request_id;  // X-Request-Id as sent upstream (client's or generated); "" → "-"
  int retries = 0;
  std::string_view reason;  // local answer or abort reason; "" → none
};

// Caches the "YYYY-MM-DDTHH:MM:SS" prefix of the current second (one gmtime_r per second).
class AccessLogClock {
 public:
  // Appends "YYYY-MM-DDTHH:MM:SS.mmmZ" (RFC 3339, UTC).
  void appendRfc3339(int64_t unix_ms, std::string& out);

 private:
  int64_t second_ = INT64_MIN;
  char prefix_[32] = {};
  size_t prefix_len_ = 0;
};

// Appends one line (ending in '\n') for `e` to `out`.
//   text: CLIENT - - [TIME] "METHOD PATH HTTP/1.x" STATUS REQ_BYTES RESP_BYTES UPSTREAM
//         DURATION_MS UPSTREAM_MS "REQUEST_ID" RETRIES "REASON"   (missing values: -)
//   json: {"time":..,"client":..,"method":..,"path":..,"protocol":..,"status":..,"upstream":..,
//          "request_bytes":..,"response_bytes":..,"duration_ms":..,"upstream_ms":..,
//          "request_id":..,"retries":..,"reason":..}   (missing strings and numbers: null)
void formatAccessLogLine(const AccessLogEntry& e, AccessLogFormat format, AccessLogClock& clock,
                         std::string& out);

// `s` cut to at most `max` bytes at a UTF-8 sequence boundary; *truncated tells whether it was.
std::string_view boundField(std::string_view s, size_t max, bool* truncated);

// Bounded single-producer single-consumer byte ring of whole lines.
class AccessLogRing {
 public:
  explicit AccessLogRing(size_t capacity);
  // Producer: copies `line` in, or drops it (counted) when it does not fit. Returns false when
  // dropped. *past_half: the ring crossed half full with this entry (nudge the writer).
  bool push(std::string_view line, bool* past_half = nullptr);
  // Consumer: the readable bytes as up to two segments; consume(n) after writing n of them.
  size_t peek(std::string_view seg[2]) const;
  void consume(size_t n);
  uint64_t dropped() const { return dropped_.load(std::memory_order_relaxed); }
  size_t capacity() const { return cap_; }

 private:
  const size_t cap_;
  std::unique_ptr<char[]> buf_;
  alignas(64) std::atomic<uint64_t> head_{0};  // written by the producer
  alignas(64) std::atomic<uint64_t> tail_{0};  // written by the consumer
  alignas(64) std::atomic<uint64_t> dropped_{0};
};

// Owns the rings (one per worker) and the writer thread.
class AccessLogWriter {
 public:
  static constexpr std::chrono::milliseconds kDrainInterval{20};

  AccessLogWriter(AccessLogOptions options, int producers);
  ~AccessLogWriter();
  AccessLogWriter(const AccessLogWriter&) = delete;
  AccessLogWriter& operator=(const AccessLogWriter&) = delete;

  // Opens the destination. Error: "access_log: cannot open 'PATH': REASON".
  Status open();
  void start();
  // Drains what the rings hold, then stops the thread (idempotent). Producers must have stopped.
  void stop();
  // The file is reopened by the writer before its next write (SIGHUP; logrotate's move + HUP).
  void reopen() {
    reopen_.store(true, std::memory_order_release);
    nudge();
  }
  // Wakes the writer early (a ring passed half full).
  void nudge();
  // One step of the writer: reopen if asked, then write what every ring holds. Only while the
  // writer thread is not running (tests; stop() uses it for the last entries).
  void flushNow() { drainOnce(/*final=*/false); }

  AccessLogRing& ring(int i) { return *rings_[static_cast<size_t>(i)]; }
  const AccessLogOptions& options() const { return options_; }
  // Entries dropped: rings full, plus lines lost to write errors.
  uint64_t dropped() const;
  uint64_t writtenBytes() const { return written_bytes_.load(std::memory_order_relaxed); }

 private:
  void run();
  // Reopens when asked, then writes every ring's content; returns false when nothing was there.
  // A full non-blocking stdout keeps the rest in the ring, unless `final` (then it is dropped).
  bool drainOnce(bool final);
  void reopenNow();

  AccessLogOptions options_;
  std::vector<std::unique_ptr<AccessLogRing>> rings_;
  int fd_ = -1;
  bool own_fd_ = false;
  std::thread thread_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;
  bool woken_ = false;
  std::atomic<bool> reopen_{false};
  std::atomic<uint64_t> write_errors_lines_{0};
  std::atomic<uint64_t> written_bytes_{0};
  int64_t last_error_log_s_ = 0;
};

}  // namespace surge::gateway
