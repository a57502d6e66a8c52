#include "autoscale/local/local_target_config.h"

#include <unistd.h>

#include <cctype>
#include <climits>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "autoscale/hpa/hpa.h"
#include "net/url.h"

namespace surge::autoscale {
namespace {

constexpr const char* kPlaceholders[] = {"repo", "name", "index", "run_dir"};

// Checks that every {placeholder} in `text` is known; braces are escaped as {{ and }}.
Status checkTemplate(const config::Node& where, const std::string& text) {
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '{') {
      if (i + 1 < text.size() && text[i + 1] == '{') {
        ++i;
        continue;
      }
      size_t end = text.find('}', i);
      if (end == std::string::npos) return where.error("unterminated '{' in '" + text + "'");
      std::string name = text.substr(i + 1, end - i - 1);
      bool known = false;
      for (const char* p : kPlaceholders) known = known || name == p;
      if (!known) {
        return where.error("unknown placeholder '{" + name +
                           "}' (expected {repo}, {name}, {index} or {run_dir})");
      }
      i = end;
    } else if (text[i] == '}') {
      if (i + 1 < text.size() && text[i + 1] == '}') {
        ++i;
        continue;
      }
      return where.error("unmatched '}' in '" + text + "'");
    }
  }
  return Status::ok();
}

std::string selfExe() {
  char buf[PATH_MAX];
  ssize_t n = ::readlink("/proc/self/exe", buf, sizeof buf - 1);
  if (n <= 0) return "/proc/self/exe";
  return std::string(buf, static_cast<size_t>(n));
}

StatusOr<int64_t> quantity(const config::Node& n) {
  auto text = n.asString();
  if (!text.isOk()) return text.status();
  auto q = parseQuantityMilli(*text);
  if (!q.isOk()) return n.error(q.status().message());
  if (*q < 0) return n.error("must not be negative");
  return *q;
}

Status checkPositive(const config::Node& n, Duration d) {
  if (d <= Duration(0)) return n.error("must be greater than 0");
  return Status::ok();
}

}  // namespace

std::vector<std::string> defaultLocalArgs() {
  // gRPC on an ephemeral port: replicas never collide on Triton's 8001 (the gateway speaks HTTP).
  return {"serve", "--model-repository", "{repo}", "--listen", "127.0.0.1:0",
          "--grpc-listen", "127.0.0.1:0"};
}

std::string expandLocalTemplate(const std::string& text, const std::string& repo,
                                const std::string& name, int64_t index,
                                const std::string& run_dir) {
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if ((c == '{' || c == '}') && i + 1 < text.size() && text[i + 1] == c) {
      out += c;
      ++i;
      continue;
    }
    if (c == '{') {
      size_t end = text.find('}', i);
      if (end != std::string::npos) {
        std::string key = text.substr(i + 1, end - i - 1);
        const std::string* value = nullptr;
        std::string index_text = std::to_string(index);
        if (key == "repo") value = &repo;
        if (key == "name") value = &name;
        if (key == "index") value = &index_text;
        if (key == "run_dir") value = &run_dir;
        if (value) {
          out += *value;
          i = end;
          continue;
        }
      }
    }
    out += c;
  }
  return out;
}

StatusOr<LocalTargetConfig> parseLocalTarget(const config::Node& target) {
  LocalTargetConfig c;
  config::ErrorList errors;
  if (!target.isMap()) return target.error("expected a map (the target block)");
  errors.add(target.checkKeys({"kind", "command", "args", "model_repository", "resources", "env",
                               "gateway", "min_replicas", "max_replicas", "slow_start",
                               "ready_timeout", "unready_timeout", "drain_timeout",
                               "termination_grace_period", "probe", "crash_backoff", "run_dir",
                               "name_prefix"}));
  auto kind = target["kind"].asOneOf({"local"});
  if (!kind.isOk()) return kind.status();  // another kind: nothing below applies

  c.command = errors.take(target.getString("command", ""), std::string());
  if (c.command.empty()) c.command = selfExe();

  config::Node args = target["args"];
  if (args.isNull()) {
    c.args = defaultLocalArgs();
  } else {
    auto list = args.asStringList();
    if (errors.add(list.status())) {
      c.args = *list;
      for (size_t i = 0; i < c.args.size(); ++i) errors.add(checkTemplate(args.at(i), c.args[i]));
    }
  }
  bool uses_repo = false;
  for (const auto& a : c.args) uses_repo = uses_repo || a.find("{repo}") != std::string::npos;

  c.model_repository = errors.take(target.getString("model_repository", ""), std::string());
  if (c.model_repository.empty()) {
    if (uses_repo) {
      errors.add(target["model_repository"].error(
          "missing required field (the args template uses {repo})"));
    }
  } else {
    std::error_code ec;
    if (!std::filesystem::is_directory(c.model_repository, ec)) {
      errors.add(target["model_repository"].error("'" + c.model_repository +
                                                  "' is not a directory"));
    }
  }

  config::Node resources = target["resources"];
  if (!resources.isNull()) {
    errors.add(resources.checkKeys({"requests"}));
    config::Node requests = resources["requests"];
    if (!requests.isNull()) {
      errors.add(requests.checkKeys({"cpu", "memory"}));
      for (const char* r : {"cpu", "memory"}) {
        if (requests[r].isNull()) continue;
        auto q = quantity(requests[r]);
        if (errors.add(q.status())) c.requests_milli[r] = *q;
      }
    }
  }

  config::Node env = target["env"];
  if (!env.isNull()) {
    if (!env.isMap()) {
      errors.add(env.error("expected a map of NAME: value"));
    } else {
      for (const auto& [key, value] : env.entries()) {
        if (key.empty() || key.find('=') != std::string::npos) {
          errors.add(value.error("invalid environment variable name '" + key + "'"));
          continue;
        }
        auto v = value.asString();
        if (!errors.add(v.status())) continue;
        if (errors.add(checkTemplate(value, *v))) c.env[key] = *v;
      }
    }
  }

  config::Node gw = target["gateway"];
  if (!gw.isNull()) {
    errors.add(gw.checkKeys({"admin", "token", "token_file", "weight", "zone"}));
    c.gateway_admin = errors.take(gw.getString("admin", c.gateway_admin), c.gateway_admin);
    if (auto u = net::parseUrl(c.gateway_admin); !u.isOk()) {
      errors.add(gw["admin"].error(u.status().message()));
    } else if (u->target != "/") {
      errors.add(gw["admin"].error("the admin URL '" + c.gateway_admin +
                                   "' must not have a path or query"));
    } else {
      c.gateway_admin = u->origin();
    }
    c.gateway_token = errors.take(gw.getString("token", ""), std::string());
    std::string token_file = errors.take(gw.getString("token_file", ""), std::string());
    if (!token_file.empty()) {
      if (!c.gateway_token.empty()) {
        errors.add(gw["token_file"].error("give token or token_file, not both"));
      } else {
        std::ifstream in(token_file);
        if (!in) {
          errors.add(gw["token_file"].error("cannot read '" + token_file + "'"));
        } else {
          std::stringstream ss;
          ss << in.rdbuf();
          c.gateway_token = ss.str();
          while (!c.gateway_token.empty() &&
                 (c.gateway_token.back() == '\n' || c.gateway_token.back() == '\r' ||
                  c.gateway_token.back() == ' ')) {
            c.gateway_token.pop_back();
          }
          if (c.gateway_token.empty()) errors.add(gw["token_file"].error("the file is empty"));
        }
      }
    }
    c.weight = static_cast<int32_t>(
        errors.take(gw.getIntInRange("weight", c.weight, 1, 10000), int64_t{c.weight}));
    c.zone = errors.take(gw.getString("zone", ""), std::string());
  }

  c.min_replicas = static_cast<int32_t>(
      errors.take(target.getIntInRange("min_replicas", c.min_replicas, 0, 1000), int64_t{2}));
  c.max_replicas = static_cast<int32_t>(
      errors.take(target.getIntInRange("max_replicas", c.max_replicas, 1, 1000), int64_t{32}));
  if (c.max_replicas < c.min_replicas) {
    errors.add(target["max_replicas"].isMissing()
                   ? target["min_replicas"].error("must not exceed max_replicas (" +
                                                  std::to_string(c.max_replicas) + ")")
                   : target["max_replicas"].error("must be >= min_replicas (" +
                                                  std::to_string(c.min_replicas) + ")"));
  }

  auto duration = [&](const config::Node& parent, std::string_view key, Duration* out,
                      bool positive) {
    auto d = parent.getDuration(key, *out);
    if (!errors.add(d.status())) return;
    if (positive && !parent[key].isNull() && !errors.add(checkPositive(parent[key], *d))) return;
    *out = *d;
  };
  duration(target, "slow_start", &c.slow_start, false);
  duration(target, "ready_timeout", &c.ready_timeout, true);
  duration(target, "unready_timeout", &c.unready_timeout, true);
  duration(target, "drain_timeout", &c.drain_timeout, false);
  duration(target, "termination_grace_period", &c.termination_grace_period, false);

  config::Node probe = target["probe"];
  if (!probe.isNull()) {
    errors.add(probe.checkKeys({"path", "period", "timeout", "failure_threshold"}));
    c.probe_path = errors.take(probe.getString("path", c.probe_path), c.probe_path);
    if (c.probe_path.empty() || c.probe_path[0] != '/') {
      errors.add(probe["path"].error("must start with '/'"));
    }
    duration(probe, "period", &c.probe_period, true);
    duration(probe, "timeout", &c.probe_timeout, true);
    c.failure_threshold = static_cast<int32_t>(errors.take(
        probe.getIntInRange("failure_threshold", c.failure_threshold, 1, 1000), int64_t{3}));
  }

  config::Node backoff = target["crash_backoff"];
  if (!backoff.isNull()) {
    errors.add(backoff.checkKeys({"initial", "max", "reset_after"}));
    duration(backoff, "initial", &c.backoff_initial, false);
    duration(backoff, "max", &c.backoff_max, false);
    duration(backoff, "reset_after", &c.backoff_reset_after, false);
    if (c.backoff_max < c.backoff_initial) {
      errors.add(backoff["max"].error("must be >= initial"));
    }
  }

  c.run_dir = errors.take(target.getString("run_dir", ""), std::string());
  c.name_prefix = errors.take(target.getString("name_prefix", c.name_prefix), c.name_prefix);
  for (char ch : c.name_prefix) {
    if (!std::isalnum(static_cast<unsigned char>(ch)) && ch != '-' && ch != '_') {
      errors.add(target["name_prefix"].error("only letters, digits, '-' and '_' are allowed"));
      break;
    }
  }
  if (c.name_prefix.empty()) errors.add(target["name_prefix"].error("must not be empty"));

  if (!errors.empty()) return errors.toStatus();
  return c;
}

}  // namespace surge::autoscale
