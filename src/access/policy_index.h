// The precompiled form of one policy that Evaluate walks (IndexPolicy
// builds it). Internal to modelvault_access; exposed for tests.
//
// Most artifact globs start with a literal segment ("acme/llama-*"), and a
// glob whose first segment is literal can only match names with that first
// segment. So each policy keeps its artifact globs in buckets keyed by that
// segment (an open-addressing table of 64-bit hashes), plus one list of
// globs whose first segment holds a wildcard. A request then costs one probe
// and the few globs in its bucket per policy, not a scan of every rule.
//
// Evaluating a caller with a thousand policies is bound by cache misses, so
// an index is one heap block, laid out in the order a request reads it:
//
//   PolicyIndex   the fields below
//   Slot[]        table_size slots (16 bytes each)
//   Entry[]       wildcard entries, then their glob text
//   Entry[]       keyed entries (grouped by bucket), admin entries, then
//                 the keyed glob text
//
// Entries hold their rule's effect and whether it has conditions, so a
// policy whose globs do not match never touches its Rule objects.
//
// Thread safety: immutable once built.
#ifndef MODELVAULT_ACCESS_POLICY_INDEX_H_
#define MODELVAULT_ACCESS_POLICY_INDEX_H_

#include <cstddef>
#include <cstdint>
#include <string_view>
#include <utility>

#include "access/glob.h"
#include "access/policy.h"

namespace mv {

struct PolicyIndex {
  enum Flags : uint8_t {
    kDeny = 1,         // the rule's effect
    kConditional = 2,  // source_cidrs, a time window or require_fingerprint
  };
  struct Entry {
    uint32_t actions;  // artifact entries: the rule's non-admin actions only
    uint32_t rule;     // index into Policy::rules
    uint32_t text;     // offset of the glob text from Base()
    uint8_t flags;
    access_internal::GlobParts parts;
  };
  struct Slot {
    uint64_t hash = 0;            // 0 = empty
    uint32_t begin = 0, end = 0;  // offsets of Entry ranges from Base()
  };
  using Range = std::pair<const Entry*, const Entry*>;

  size_t rule_count = 0;    // rules.size() when built
  uint32_t actions = 0;     // union of all rules' actions
  uint32_t table_size = 0;  // a power of two, or 0
  uint64_t bucket_bits =
      0;  // bit (hash >> 58) of every bucket, so most misses skip the probe
  uint32_t wildcard_begin = 0, wildcard_end = 0;  // offsets from Base()
  uint32_t keyed_begin = 0, keyed_end = 0;
  uint32_t admin_begin = 0, admin_end = 0;

  const std::byte* Base() const {
    return reinterpret_cast<const std::byte*>(this);
  }
  const Entry* EntryAt(uint32_t offset) const {
    return reinterpret_cast<const Entry*>(Base() + offset);
  }
  Range Wildcard() const {
    return {EntryAt(wildcard_begin), EntryAt(wildcard_end)};
  }
  Range Keyed() const { return {EntryAt(keyed_begin), EntryAt(keyed_end)}; }
  Range Admin() const { return {EntryAt(admin_begin), EntryAt(admin_end)}; }
  std::string_view Glob(const Entry& e) const {
    return {
        reinterpret_cast<const char*>(Base()) + e.text,
        size_t{e.parts.prefix_len} + e.parts.middle_len + e.parts.suffix_len};
  }

  // Hash of a first segment; never 0.
  static uint64_t HashSegment(std::string_view segment);
  // Entries whose literal first segment hashes to `hash` (may include
  // other segments on a collision; the globs still decide).
  Range Bucket(uint64_t hash) const;
};

}  // namespace mv

#endif  // MODELVAULT_ACCESS_POLICY_INDEX_H_
