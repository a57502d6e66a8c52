// The `surge autoscale explain` interface (docs/autoscaling.md "`surge autoscale explain`"): one JSON
// document → SyncInput, and SyncResult → one JSON document. Field names follow the Kubernetes
// objects; quantities are Kubernetes quantity strings or numbers, times RFC 3339, durations Go
// style ("30s", "5m"). Bad input → InvalidArgument "<source>:line:col: <field path>: <why>".
// Complexity O(input size). Thread-safety: pure functions.
#pragma once

#include <string>
#include <string_view>

#include "autoscale/hpa/types.h"
#include "common/status.h"
#include "config/node.h"

namespace surge::autoscale {

// The input document (already loaded; JSON is YAML). `now` defaults to the system clock.
StatusOr<SyncInput> parseExplainInput(const config::Node& root);
// Loads `text` (JSON) named `source_name` in errors, then parses it.
StatusOr<SyncInput> parseExplainInput(std::string_view text, std::string source_name);

// The output document, pretty-printed (2-space indent, keys in the page's order), no trailing
// newline.
std::string explainOutputJson(const SyncResult& result);

// One dry-run sync: input text → output text.
StatusOr<std::string> explain(std::string_view input_json, std::string source_name);

// RFC 3339 ("2024-05-01T12:00:00Z", "2024-05-01T14:00:00.5+02:00") ↔ TimePoint as nanoseconds
// since the Unix epoch. Formatting is UTC with Go's RFC3339Nano trimming ("…:00Z", "…:00.5Z").
StatusOr<TimePoint> parseRfc3339(std::string_view text);
std::string formatRfc3339(TimePoint t);

}  // namespace surge::autoscale
