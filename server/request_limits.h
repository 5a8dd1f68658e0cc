// The range of every field of every modelvault.v1 request message, in one
// table, checked by walking the message with protobuf reflection before the
// request is authorized (AuthorizeCall): integers by value, strings and
// bytes by size, repeated fields (and maps) by count, enums by the values
// the proto defines. Out of range is INVALID_ARGUMENT naming the field
// ("CreateTokenRequest.ttl_seconds: 9223372036854775 is out of range
// [0, 315360000]"); nothing is resolved, charged or stored.
//
// The core checks the grammars (names, references, label keys) and the same
// bounds again: it does not trust its callers. This table is the first line,
// generated from the service descriptors in the sense that matters: a test
// (tests/server/request_limits_test.cc) walks every request message of every
// RPC and fails for a field without a row, a row without a field, or a row
// missing from the table in docs/ARCHITECTURE.md ("Request field limits").
//
// Pure; thread-safe.
#ifndef MODELVAULT_SERVER_REQUEST_LIMITS_H_
#define MODELVAULT_SERVER_REQUEST_LIMITS_H_

#include <google/protobuf/descriptor.h>
#include <google/protobuf/message.h>

#include <cstdint>
#include <span>
#include <string_view>

#include "absl/status/status.h"

namespace mvserver {

// One row: `field` is the full name without the package
// ("CreateTokenRequest.ttl_seconds"). For integers `min`..`max` bound the
// value, for strings and bytes the size in bytes. `max_count` bounds the
// entries of a repeated field or map (1 for a singular field). Bools,
// enums (defined values only) and message fields (recursed into) have no
// row.
struct FieldLimit {
  std::string_view field;
  int64_t min = 0;
  uint64_t max = 0;
  uint64_t max_count = 1;
};

std::span<const FieldLimit> RequestFieldLimits();

// Whether `field` must have a row: repeated fields and every scalar but
// bools and enums.
bool NeedsLimit(const google::protobuf::FieldDescriptor& field);

// OK, or INVALID_ARGUMENT naming the first field out of its range. A field
// without a row is INTERNAL (deny by default; the test above keeps that
// from shipping).
absl::Status CheckRequestLimits(const google::protobuf::Message& request);

}  // namespace mvserver

#endif  // MODELVAULT_SERVER_REQUEST_LIMITS_H_
