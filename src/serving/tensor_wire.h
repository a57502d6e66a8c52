// What the two wire codecs of an inference request share — the JSON/binary HTTP codec
// (infer_json.h) and the gRPC codec (grpc/grpc_codec.h) — so that a shape or a raw tensor is
// checked one way whatever the transport:
//   - shapes: the overflow-checked element count, matching a shape against config dims (-1 = any),
//     resolving a reshape's one -1 from an element count;
//   - raw tensors: Triton's binary tensor data extension and gRPC's raw_input_contents /
//     raw_output_contents use the same encoding — little-endian elements, BOOL one byte (0 or 1),
//     BYTES a 4-byte little-endian length then the bytes, per element.
// Thread-safety: pure functions.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "runtime/backend.h"
#include "runtime/tensor.h"

namespace surge::serving {

// "a, b, c": the names of `specs`, for error messages.
std::string tensorNames(const std::vector<runtime::TensorSpec>& specs);

// Product of the dims; false when a dim is negative or the product exceeds INT64_MAX (a 0 dim
// makes it 0).
bool checkedElementCount(const runtime::Shape& shape, int64_t* out);

// `got` is `want` after `offset` leading dims, -1 in `want` matching any size.
bool dimsMatch(const runtime::Shape& want, const runtime::Shape& got, size_t offset);

// [rows] + pattern (batched) or pattern, its one -1 resolved from `elements`; false when the
// element count does not fit.
bool resolveShape(const runtime::Shape& pattern, int64_t elements, bool batched, int64_t rows,
                  runtime::Shape* out);

// Checks a request input's shape against its spec: the config dims (-1 = any) after a batch
// dimension when `max_batch_size` > 0, that batch size in [1, max_batch_size] and equal to the
// other inputs' (`rows` -1 until the first batched input sets it, `rows_from` names that input),
// and the element count fitting in 64 bits (into `count`). InvalidArgument naming the input.
Status checkInputShape(const runtime::TensorSpec& spec, const runtime::Shape& shape,
                       int64_t max_batch_size, const std::string& input, int64_t* rows,
                       std::string* rows_from, int64_t* count);

// Fills `t` (shape and dtype already set) from raw bytes. `input` names the tensor and `source`
// the bytes ("binary data", "raw_input_contents") in the InvalidArgument messages: a size that
// does not match the shape, a BOOL that is not 0 or 1, a BYTES element cut short, bytes left over.
Status fillRawTensor(std::string_view raw, runtime::Tensor& t, const std::string& input,
                     std::string_view source);

// Appends the raw encoding of `t`, and its size in bytes.
void appendRawTensor(std::string& out, const runtime::Tensor& t);
size_t rawTensorSize(const runtime::Tensor& t);

}  // namespace surge::serving
