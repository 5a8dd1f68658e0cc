#include "formats/gguf.h"

#include <algorithm>
#include <set>
#include <tuple>
#include <utility>

#include "absl/strings/str_cat.h"
#include "common/status_macros.h"
#include "formats/gguf_cursor.h"
#include "formats/parse_util.h"

namespace mv {
namespace {

using formats_internal::Cat;
using formats_internal::CheckedAdd;
using formats_internal::CheckedMul;
using formats_internal::GgufCursor;
using formats_internal::GgufError;
using formats_internal::QuoteName;

// The fewest bytes a tensor info (empty name, n_dims 0) and a KV (empty key,
// u8 value) take: how counts are bounded before anything is allocated.
constexpr uint64_t kMinTensorInfoBytes = 8 + 4 + 4 + 8;
constexpr uint64_t kMinKvBytes = 8 + 4 + 1;
constexpr uint64_t kMaxNumel = INT64_MAX;  // ggml counts in int64_t

absl::Status BadTensor(std::string_view name, std::string_view what) {
  return GgufError(Cat("tensor ", QuoteName(name), ": ", what));
}

absl::StatusOr<uint32_t> ReadVersion(GgufCursor& c) {
  MV_ASSIGN_OR_RETURN(std::string_view magic, c.Bytes(4, "magic"));
  if (magic != "GGUF") return GgufError("magic is not \"GGUF\"");
  MV_ASSIGN_OR_RETURN(uint32_t version, c.U32("version"));
  if (version == 2 || version == 3) return version;
  if (version == 1)
    return GgufError("version 1 (32-bit counts) is not supported");
  // A big-endian v2/v3 file reads as 0x02000000 / 0x03000000 here.
  if ((version & 0xffff) == 0)
    return GgufError(Cat("version field ", version,
                         " looks big-endian; only little-endian "
                         "files are supported"));
  return GgufError(Cat("unsupported version ", version));
}

// Reads tensor_count and metadata_kv_count, refusing counts whose minimal
// encodings alone could not fit in the file or under the header limit.
absl::Status ReadCounts(GgufCursor& c, uint64_t* tensors, uint64_t* kvs) {
  MV_ASSIGN_OR_RETURN(*tensors, c.U64("tensor_count"));
  MV_ASSIGN_OR_RETURN(*kvs, c.U64("metadata_kv_count"));
  if (*kvs > kGgufMaxMetadataEntries)
    return GgufError(Cat("metadata_kv_count ", *kvs, " exceeds the limit of ",
                         kGgufMaxMetadataEntries));
  uint64_t room = std::min(c.remaining(), kGgufMaxHeaderBytes - c.pos());
  uint64_t tensor_bytes = 0, kv_bytes = 0, total = 0;
  if (!CheckedMul(*tensors, kMinTensorInfoBytes, &tensor_bytes) ||
      tensor_bytes > room)
    return GgufError(Cat("tensor_count ", *tensors, " cannot fit in the ", room,
                         " header bytes left"));
  if (!CheckedMul(*kvs, kMinKvBytes, &kv_bytes) || kv_bytes > room)
    return GgufError(Cat("metadata_kv_count ", *kvs, " cannot fit in the ",
                         room, " header bytes left"));
  if (!CheckedAdd(tensor_bytes, kv_bytes, &total) || total > room)
    return GgufError(Cat("tensor_count ", *tensors, " and metadata_kv_count ",
                         *kvs, " together cannot fit in the ", room,
                         " header bytes left"));
  return absl::OkStatus();
}

absl::Status ReadMetadata(GgufCursor& c, uint64_t kv_count,
                          std::map<std::string, GgufValue>* out) {
  for (uint64_t i = 0; i < kv_count; ++i) {
    std::string what = Cat("key of KV ", i);
    MV_ASSIGN_OR_RETURN(std::string key, c.String(what, kGgufMaxKeyBytes));
    what = Cat("value of ", QuoteName(key));
    if (out->contains(key))
      return GgufError(Cat("duplicate metadata key ", QuoteName(key)));
    MV_ASSIGN_OR_RETURN(uint32_t type, c.U32(what));
    MV_ASSIGN_OR_RETURN(GgufValue value,
                        formats_internal::ReadGgufValue(c, type, what));
    out->emplace(std::move(key), std::move(value));
  }
  return absl::OkStatus();
}

absl::StatusOr<uint32_t> Alignment(const std::map<std::string, GgufValue>& kv) {
  auto it = kv.find("general.alignment");
  if (it == kv.end()) return kGgufDefaultAlignment;
  if (it->second.type != GgufValueType::kUint32)
    return GgufError(Cat("general.alignment has type ",
                         GgufValueTypeName(it->second.type), ", not uint32"));
  uint64_t a = std::get<uint64_t>(it->second.value);
  if (a == 0 || (a & (a - 1)) != 0)
    return GgufError(Cat("general.alignment ", a, " is not a power of two"));
  return static_cast<uint32_t>(a);
}

// Reads one tensor info; `offset` is left relative to the data section.
absl::StatusOr<GgufTensor> ReadTensorInfo(GgufCursor& c, uint64_t index,
                                          uint32_t alignment) {
  GgufTensor t;
  MV_ASSIGN_OR_RETURN(
      t.name, c.String(Cat("name of tensor ", index), kGgufMaxTensorNameBytes));
  std::string what = Cat("info of tensor ", QuoteName(t.name));
  MV_ASSIGN_OR_RETURN(uint32_t n_dims, c.U32(what));
  if (n_dims > kGgufMaxDims)
    return BadTensor(t.name, Cat("n_dims ", n_dims, " exceeds ", kGgufMaxDims));
  uint64_t numel = 1;
  for (uint32_t d = 0; d < n_dims; ++d) {
    MV_ASSIGN_OR_RETURN(uint64_t dim, c.U64(what));
    if (dim == 0) return BadTensor(t.name, Cat("dimension ", d, " is zero"));
    if (!CheckedMul(numel, dim, &numel) || numel > kMaxNumel)
      return BadTensor(t.name, Cat("dimension ", d, " (", dim,
                                   ") overflows the element count"));
    t.shape.insert(t.shape.begin(), dim);  // file order is innermost first
  }
  MV_ASSIGN_OR_RETURN(uint32_t type_id, c.U32(what));
  const GgmlTypeTraits* traits = FindGgmlType(type_id);
  if (traits == nullptr)
    return BadTensor(t.name, Cat("unknown ggml type ", type_id));
  t.type = traits->type;
  uint64_t row = t.shape.empty() ? 1 : t.shape.back();
  if (row % traits->block_size != 0)
    return BadTensor(t.name,
                     Cat("row of ", row, " elements is not a multiple of the ",
                         traits->name, " block size ", traits->block_size));
  if (!CheckedMul(numel / traits->block_size, traits->type_size, &t.length))
    return BadTensor(t.name, "byte size overflows 64 bits");
  MV_ASSIGN_OR_RETURN(t.offset, c.U64(what));
  if (t.offset % alignment != 0)
    return BadTensor(t.name, Cat("data offset ", t.offset,
                                 " is not a multiple of the "
                                 "alignment ",
                                 alignment));
  return t;
}

// Makes offsets absolute and checks they are inside the file and disjoint.
absl::Status PlaceTensors(GgufLayout& layout) {
  uint64_t data_size = layout.file_size > layout.data_offset
                           ? layout.file_size - layout.data_offset
                           : 0;
  for (GgufTensor& t : layout.tensors) {
    uint64_t end = 0;
    if (!CheckedAdd(t.offset, t.length, &end) || end > data_size)
      return BadTensor(t.name, Cat("data at offset ", t.offset, " (", t.length,
                                   " bytes) runs past the end of the file "
                                   "(the data section holds ",
                                   data_size, " bytes)"));
    t.offset += layout.data_offset;
  }
  std::sort(layout.tensors.begin(), layout.tensors.end(),
            [](const GgufTensor& a, const GgufTensor& b) {
              return std::tie(a.offset, a.name) < std::tie(b.offset, b.name);
            });
  for (size_t i = 1; i < layout.tensors.size(); ++i) {
    const GgufTensor& prev = layout.tensors[i - 1];
    const GgufTensor& t = layout.tensors[i];
    if (prev.offset + prev.length > t.offset)
      return BadTensor(t.name, Cat("data at file offset ", t.offset,
                                   " overlaps tensor ", QuoteName(prev.name)));
  }
  return absl::OkStatus();
}

absl::StatusOr<GgufLayout> Parse(GgufCursor& c) {
  GgufLayout layout;
  layout.file_size = c.file_size();
  MV_ASSIGN_OR_RETURN(layout.version, ReadVersion(c));
  uint64_t tensor_count = 0, kv_count = 0;
  MV_RETURN_IF_ERROR(ReadCounts(c, &tensor_count, &kv_count));
  MV_RETURN_IF_ERROR(ReadMetadata(c, kv_count, &layout.metadata));
  MV_ASSIGN_OR_RETURN(layout.alignment, Alignment(layout.metadata));
  std::set<std::string> names;
  for (uint64_t i = 0; i < tensor_count; ++i) {
    MV_ASSIGN_OR_RETURN(GgufTensor t, ReadTensorInfo(c, i, layout.alignment));
    if (!names.insert(t.name).second)
      return BadTensor(t.name, "duplicate tensor name");
    layout.tensors.push_back(std::move(t));
  }
  layout.header_size = c.pos();
  // header_size <= 256 MiB and alignment <= 2^31: no overflow.
  layout.data_offset = (layout.header_size + layout.alignment - 1) /
                       layout.alignment * layout.alignment;
  MV_RETURN_IF_ERROR(PlaceTensors(layout));
  return layout;
}

}  // namespace

std::string_view GgufValueTypeName(GgufValueType type) {
  static constexpr std::string_view kNames[] = {
      "uint8", "int8",   "uint16", "int16",  "uint32", "int32",  "float32",
      "bool",  "string", "array",  "uint64", "int64",  "float64"};
  auto i = static_cast<size_t>(type);
  return i < std::size(kNames) ? kNames[i] : "unknown";
}

uint64_t GgufTensor::NumElements() const {
  uint64_t n = 1;
  for (uint64_t d : shape) n *= d;
  return n;
}

absl::StatusOr<PrefixParse<GgufLayout>> ParseGgufPrefix(std::string_view prefix,
                                                        uint64_t file_size) {
  if (prefix.size() > file_size)
    return GgufError(Cat("prefix of ", prefix.size(),
                         " bytes is longer than the file (", file_size,
                         " bytes)"));
  GgufCursor c(prefix, file_size);
  absl::StatusOr<GgufLayout> layout = Parse(c);
  if (layout.ok()) return PrefixParse<GgufLayout>{*std::move(layout), 0};
  if (formats_internal::IsNeedMore(layout.status()))
    return PrefixParse<GgufLayout>{std::nullopt, c.needed()};
  return layout.status();
}

absl::StatusOr<GgufLayout> ParseGguf(std::string_view file) {
  MV_ASSIGN_OR_RETURN(PrefixParse<GgufLayout> parse,
                      ParseGgufPrefix(file, file.size()));
  // The cursor never asks for bytes past the end of the file.
  if (!parse.layout) return GgufError("file is truncated");
  return *std::move(parse.layout);
}

}  // namespace mv
