// Building a PolicyIndex (layout in access/policy_index.h).
#include "access/policy_index.h"

#include <bit>
#include <cstring>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace mv {
namespace {

static_assert(sizeof(PolicyIndex) % alignof(PolicyIndex::Slot) == 0,
              "the slot table follows the header");

using access_internal::GlobParts;

constexpr uint32_t kAdminMask =
    ~((1u << static_cast<int>(Action::kAdminPrincipals)) - 1);

bool IsConditional(const Conditions& c) {
  return !c.source_cidrs.empty() || c.not_before || c.not_after ||
         c.require_fingerprint;
}

// Appends bytes to the block being laid out, 8-byte aligned where asked.
class Layout {
 public:
  explicit Layout(size_t header) : bytes_(header) {}
  uint32_t Reserve(size_t n, size_t align) {
    size_t at = (bytes_.size() + align - 1) / align * align;
    bytes_.resize(at + n);
    return static_cast<uint32_t>(at);
  }
  void Put(uint32_t at, const void* src, size_t n) {
    std::memcpy(bytes_.data() + at, src, n);
  }
  // Writes `entries` and then their text; returns [begin, end) of entries.
  std::pair<uint32_t, uint32_t> Group(std::vector<PolicyIndex::Entry> entries,
                                      const std::string& text) {
    uint32_t begin = Reserve(entries.size() * sizeof(PolicyIndex::Entry), 8);
    uint32_t end = begin + static_cast<uint32_t>(entries.size() *
                                                 sizeof(PolicyIndex::Entry));
    uint32_t text_at = Reserve(text.size(), 1);
    Put(text_at, text.data(), text.size());
    for (PolicyIndex::Entry& e : entries) e.text += text_at;
    if (!entries.empty())
      Put(begin, entries.data(), entries.size() * sizeof(PolicyIndex::Entry));
    return {begin, end};
  }
  std::vector<std::byte>& bytes() { return bytes_; }

 private:
  std::vector<std::byte> bytes_;
};

}  // namespace

uint64_t PolicyIndex::HashSegment(std::string_view segment) {
  uint64_t h = 0xcbf29ce484222325ull;  // FNV-1a
  for (char c : segment) {
    h = (h ^ static_cast<uint8_t>(c)) * 0x100000001b3ull;
  }
  return h == 0 ? 1 : h;
}

PolicyIndex::Range PolicyIndex::Bucket(uint64_t hash) const {
  if (!(bucket_bits & (uint64_t{1} << (hash >> 58)))) return {nullptr, nullptr};
  const Slot* table = reinterpret_cast<const Slot*>(this + 1);
  uint32_t mask = table_size - 1;
  for (uint32_t i = hash & mask;; i = (i + 1) & mask) {
    if (table[i].hash == hash)
      return {EntryAt(table[i].begin), EntryAt(table[i].end)};
    if (table[i].hash == 0) return {nullptr, nullptr};
  }
}

namespace {

// A policy's entries before layout.
struct Collected {
  PolicyIndex header;
  std::vector<PolicyIndex::Entry> wildcard, admin;
  std::string wildcard_text, keyed_text;  // Entry::text is relative to these
  std::map<uint64_t, std::vector<PolicyIndex::Entry>> buckets;
};

// False if a glob is too long to index.
bool Collect(const Policy& policy, Collected* out) {
  out->header.rule_count = policy.rules.size();
  for (uint32_t i = 0; i < policy.rules.size(); ++i) {
    const Rule& rule = policy.rules[i];
    out->header.actions |= rule.actions;
    uint8_t flags =
        (rule.effect == Rule::Effect::kDeny ? PolicyIndex::kDeny : 0) |
        (IsConditional(rule.conditions) ? PolicyIndex::kConditional : 0);
    if (rule.actions & kAdminMask) {
      out->admin.push_back({rule.actions & kAdminMask, i, 0, flags, {}});
    }
    uint32_t artifact_actions = rule.actions & ~kAdminMask;
    if (artifact_actions == 0) continue;
    for (const std::string& glob : rule.artifacts) {
      if (glob.size() > kMaxGlobBytes) return false;
      PolicyIndex::Entry entry{artifact_actions, i, 0, flags,
                               GlobParts::Split(glob)};
      std::string_view segment = entry.parts.LiteralFirstSegment(glob);
      std::string& text =
          segment.empty() ? out->wildcard_text : out->keyed_text;
      entry.text = static_cast<uint32_t>(text.size());
      text += glob;
      if (segment.empty()) {
        out->wildcard.push_back(entry);
      } else {
        out->buckets[PolicyIndex::HashSegment(segment)].push_back(entry);
      }
    }
  }
  return true;
}

// Lays out everything after the header (see policy_index.h) and sets the
// header's offsets.
std::vector<std::byte> LayOut(Collected& c) {
  PolicyIndex& header = c.header;
  Layout layout(sizeof(PolicyIndex));
  header.table_size =
      c.buckets.empty()
          ? 0
          : std::bit_ceil(static_cast<uint32_t>(c.buckets.size() * 2));
  uint32_t table_at =
      layout.Reserve(header.table_size * sizeof(PolicyIndex::Slot), 8);
  std::tie(header.wildcard_begin, header.wildcard_end) =
      layout.Group(c.wildcard, c.wildcard_text);
  // Keyed entries in bucket order, then admin entries (no text), then the
  // keyed text; the slots record each bucket's range.
  std::vector<PolicyIndex::Entry> keyed;
  std::vector<std::pair<uint64_t, std::pair<size_t, size_t>>> ranges;
  for (auto& [hash, entries] : c.buckets) {
    ranges.push_back({hash, {keyed.size(), keyed.size() + entries.size()}});
    keyed.insert(keyed.end(), entries.begin(), entries.end());
  }
  size_t keyed_count = keyed.size();
  keyed.insert(keyed.end(), c.admin.begin(), c.admin.end());
  auto [begin, end] = layout.Group(std::move(keyed), c.keyed_text);
  constexpr size_t kEntry = sizeof(PolicyIndex::Entry);
  header.keyed_begin = begin;
  header.keyed_end = begin + static_cast<uint32_t>(keyed_count * kEntry);
  header.admin_begin = header.keyed_end;
  header.admin_end = end;
  std::vector<PolicyIndex::Slot> table(header.table_size);
  uint32_t mask = header.table_size - 1;
  for (const auto& [hash, range] : ranges) {
    header.bucket_bits |= uint64_t{1} << (hash >> 58);
    uint32_t i = hash & mask;
    while (table[i].hash != 0) i = (i + 1) & mask;
    table[i] = {hash, begin + static_cast<uint32_t>(range.first * kEntry),
                begin + static_cast<uint32_t>(range.second * kEntry)};
  }
  if (!table.empty())
    layout.Put(table_at, table.data(),
               table.size() * sizeof(PolicyIndex::Slot));
  return std::move(layout.bytes());
}

// One heap block: the header constructed in place, the rest copied after it.
std::shared_ptr<const PolicyIndex> Seal(const PolicyIndex& header,
                                        const std::vector<std::byte>& bytes) {
  std::byte* block = new std::byte[bytes.size()];
  std::memcpy(block + sizeof(PolicyIndex), bytes.data() + sizeof(PolicyIndex),
              bytes.size() - sizeof(PolicyIndex));
  auto* index = new (block) PolicyIndex(header);
  return std::shared_ptr<const PolicyIndex>(index, [](const PolicyIndex* p) {
    p->~PolicyIndex();
    delete[] reinterpret_cast<const std::byte*>(p);
  });
}

}  // namespace

void IndexPolicy(Policy* policy) {
  Collected collected;
  if (!Collect(*policy, &collected)) {
    policy->index = nullptr;  // not a valid policy: evaluate it rule by rule
    return;
  }
  std::vector<std::byte> bytes = LayOut(collected);
  policy->index = Seal(collected.header, bytes);
}

}  // namespace mv
