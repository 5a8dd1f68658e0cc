#include "formats/safetensors.h"

#include <algorithm>
#include <tuple>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "common/status_macros.h"
#include "formats/parse_util.h"
#include "formats/safetensors_header.h"

namespace mv {
namespace {

using formats_internal::Cat;
using formats_internal::LoadLe64;
using formats_internal::OffsetRange;
using formats_internal::ParseSafetensorsHeader;
using formats_internal::QuoteName;
using formats_internal::SafetensorsError;
using formats_internal::SafetensorsTensorError;

struct DtypeInfo {
  SafetensorsDtype dtype;
  std::string_view name;
  uint32_t bits;
  bool floating;
};

// Bit widths from the safetensors spec; sub-byte dtypes pack elements.
constexpr DtypeInfo kDtypes[] = {
    {SafetensorsDtype::kBool, "BOOL", 8, false},
    {SafetensorsDtype::kU8, "U8", 8, false},
    {SafetensorsDtype::kI8, "I8", 8, false},
    {SafetensorsDtype::kF8E5M2, "F8_E5M2", 8, true},
    {SafetensorsDtype::kF8E4M3, "F8_E4M3", 8, true},
    {SafetensorsDtype::kF8E8M0, "F8_E8M0", 8, true},
    {SafetensorsDtype::kI16, "I16", 16, false},
    {SafetensorsDtype::kU16, "U16", 16, false},
    {SafetensorsDtype::kF16, "F16", 16, true},
    {SafetensorsDtype::kBF16, "BF16", 16, true},
    {SafetensorsDtype::kI32, "I32", 32, false},
    {SafetensorsDtype::kU32, "U32", 32, false},
    {SafetensorsDtype::kF32, "F32", 32, true},
    {SafetensorsDtype::kF64, "F64", 64, true},
    {SafetensorsDtype::kI64, "I64", 64, false},
    {SafetensorsDtype::kU64, "U64", 64, false},
    {SafetensorsDtype::kC64, "C64", 64, true},
    {SafetensorsDtype::kF4, "F4", 4, true},
    {SafetensorsDtype::kF6E2M3, "F6_E2M3", 6, true},
    {SafetensorsDtype::kF6E3M2, "F6_E3M2", 6, true},
};

const DtypeInfo& Info(SafetensorsDtype dtype) {
  return kDtypes[static_cast<size_t>(dtype)];  // table is in enum order
}

absl::Status Bad(std::string_view what) { return SafetensorsError(what); }
absl::Status BadTensor(std::string_view name, std::string_view what) {
  return SafetensorsTensorError(name, what);
}
std::string Range(uint64_t begin, uint64_t end) {
  return OffsetRange(begin, end);
}

// Sorted by offset, the tensors must tile [data_offset, file_size) exactly.
absl::Status CheckTiling(const SafetensorsLayout& layout) {
  uint64_t expected = layout.data_offset;  // where the next tensor must begin
  const SafetensorsTensor* previous = nullptr;
  for (const SafetensorsTensor& t : layout.tensors) {
    uint64_t begin = t.offset - layout.data_offset;
    uint64_t end = begin + t.length;
    if (t.offset < expected)
      return BadTensor(
          t.name, Cat("data_offsets ", Range(begin, end), " overlap tensor ",
                      QuoteName(previous->name)));
    if (t.offset > expected)
      return BadTensor(t.name, Cat("gap before data_offsets ",
                                   Range(begin, end), ": data bytes ",
                                   Range(expected - layout.data_offset, begin),
                                   " belong to no tensor"));
    expected = t.offset + t.length;
    previous = &t;
  }
  if (expected != layout.file_size)
    return Bad(Cat("data bytes ",
                   Range(expected - layout.data_offset,
                         layout.file_size - layout.data_offset),
                   " after the last tensor belong to no tensor"));
  return absl::OkStatus();
}

absl::StatusOr<SafetensorsLayout> ParseHeader(std::string_view text,
                                              uint64_t file_size) {
  // The spec requires '{' first; only trailing whitespace padding is allowed.
  if (text.empty() || text[0] != '{')
    return Bad("header does not start with '{'");
  // nlohmann stops at a NUL as if the input ended there, which would let
  // anything after it through; JSON text never contains a raw NUL.
  if (text.find('\0') != std::string_view::npos)
    return Bad("header is not valid JSON (it contains a NUL byte)");
  MV_ASSIGN_OR_RETURN(SafetensorsLayout layout,
                      ParseSafetensorsHeader(text, file_size));
  std::sort(layout.tensors.begin(), layout.tensors.end(),
            [](const SafetensorsTensor& a, const SafetensorsTensor& b) {
              return std::tie(a.offset, a.length, a.name) <
                     std::tie(b.offset, b.length, b.name);
            });
  MV_RETURN_IF_ERROR(CheckTiling(layout));
  return layout;
}

PrefixParse<SafetensorsLayout> Need(uint64_t n) { return {std::nullopt, n}; }

}  // namespace

std::string_view SafetensorsDtypeName(SafetensorsDtype dtype) {
  return Info(dtype).name;
}

std::optional<SafetensorsDtype> SafetensorsDtypeFromName(
    std::string_view name) {
  for (const DtypeInfo& info : kDtypes) {
    if (info.name == name) return info.dtype;
  }
  return std::nullopt;
}

uint32_t SafetensorsDtypeBits(SafetensorsDtype dtype) {
  return Info(dtype).bits;
}

bool IsFloatingPoint(SafetensorsDtype dtype) { return Info(dtype).floating; }

MarkableType MarkableTypeOf(SafetensorsDtype dtype) {
  switch (dtype) {
    case SafetensorsDtype::kF32:
      return MarkableType::kF32;
    case SafetensorsDtype::kF16:
      return MarkableType::kF16;
    case SafetensorsDtype::kBF16:
      return MarkableType::kBF16;
    default:
      return MarkableType::kNotMarkable;
  }
}

uint64_t SafetensorsTensor::NumElements() const {
  uint64_t n = 1;
  for (uint64_t d : shape) n *= d;
  return n;
}

absl::StatusOr<PrefixParse<SafetensorsLayout>> ParseSafetensorsPrefix(
    std::string_view prefix, uint64_t file_size) {
  if (prefix.size() > file_size)
    return Bad(Cat("prefix of ", prefix.size(),
                   " bytes is longer than the file (", file_size, " bytes)"));
  if (file_size < 8)
    return Bad(Cat("file of ", file_size,
                   " bytes is shorter than the 8-byte header length"));
  if (prefix.size() < 8) return Need(8);
  uint64_t n = LoadLe64(prefix.data());
  if (n > kSafetensorsMaxHeaderLength)
    return Bad(Cat("header length ", n, " exceeds the limit of ",
                   kSafetensorsMaxHeaderLength, " bytes"));
  if (n > file_size - 8)
    return Bad(Cat("header length ", n, " exceeds the ", file_size - 8,
                   " bytes after the length field"));
  if (prefix.size() < 8 + n) return Need(8 + n);
  MV_ASSIGN_OR_RETURN(SafetensorsLayout layout,
                      ParseHeader(prefix.substr(8, n), file_size));
  return PrefixParse<SafetensorsLayout>{std::move(layout), 0};
}

absl::StatusOr<SafetensorsLayout> ParseSafetensors(std::string_view file) {
  MV_ASSIGN_OR_RETURN(PrefixParse<SafetensorsLayout> parse,
                      ParseSafetensorsPrefix(file, file.size()));
  // bytes_needed never exceeds the file size, so a whole file always
  // completes; this guards the invariant rather than trusting it.
  if (!parse.layout) return Bad("file is truncated");
  return *std::move(parse.layout);
}

}  // namespace mv
