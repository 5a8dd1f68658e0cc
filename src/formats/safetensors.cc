#include "formats/safetensors.h"

#include <algorithm>
#include <set>
#include <tuple>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/status_macros.h"
#include "formats/parse_util.h"
#include "nlohmann/json.hpp"

namespace mv {
namespace {

using formats_internal::Cat;
using formats_internal::CheckedMul;
using formats_internal::LoadLe64;
using formats_internal::QuoteName;
using Json = nlohmann::json;

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

// A valid header nests 3 deep (root, tensor, shape); one more level still
// gets the precise "shape must be..." message instead of a depth error.
constexpr int kMaxJsonDepth = 4;

absl::Status Bad(std::string_view what) {
  return absl::InvalidArgumentError(Cat("safetensors: ", what));
}
absl::Status BadTensor(std::string_view name, std::string_view what) {
  return Bad(Cat("tensor ", QuoteName(name), ": ", what));
}

std::string Range(uint64_t begin, uint64_t end) {
  return Cat("[", begin, ", ", end, ")");
}

std::string ShapeText(const std::vector<uint64_t>& shape) {
  constexpr size_t kMaxShown = 8;
  std::vector<uint64_t> shown(
      shape.begin(), shape.begin() + std::min(shape.size(), kMaxShown));
  return Cat("[", absl::StrJoin(shown, ", "),
             shape.size() > kMaxShown ? ", ...]" : "]");
}

// nlohmann keeps the last of duplicate keys silently, so duplicates are
// caught here, as is nesting (a deep "[[[[..." header costs memory).
absl::StatusOr<Json> ParseJsonStrictly(std::string_view text) {
  std::string error;
  std::vector<std::set<std::string>> keys;
  Json::parser_callback_t check = [&](int depth, Json::parse_event_t event,
                                      Json& parsed) {
    bool opens = event == Json::parse_event_t::object_start ||
                 event == Json::parse_event_t::array_start;
    if (opens && depth >= kMaxJsonDepth) {
      if (error.empty()) error = "header nests JSON deeper than 4 levels";
      return false;  // discarded, and its contents are not kept
    }
    if (event == Json::parse_event_t::object_start) {
      keys.emplace_back();
    } else if (event == Json::parse_event_t::object_end && !keys.empty()) {
      keys.pop_back();
    } else if (event == Json::parse_event_t::key && !keys.empty()) {
      const auto& key = parsed.get_ref<const std::string&>();
      if (!keys.back().insert(key).second && error.empty()) {
        error = Cat("duplicate key ", QuoteName(key), " in header");
      }
    }
    return true;
  };
  Json doc = Json::parse(text.begin(), text.end(), check,
                         /*allow_exceptions=*/false);
  if (!error.empty()) return Bad(error);
  if (doc.is_discarded()) return Bad("header is not valid JSON");
  return doc;
}

// `v` as a list of u64, or nullopt if it is not an array of non-negative
// integers that fit in 64 bits (nlohmann makes larger ones floats).
std::optional<std::vector<uint64_t>> Uints(const Json& v) {
  if (!v.is_array()) return std::nullopt;
  std::vector<uint64_t> out;
  out.reserve(v.size());
  for (const Json& e : v) {
    if (!e.is_number_unsigned()) return std::nullopt;
    out.push_back(e.get<uint64_t>());
  }
  return out;
}

absl::StatusOr<uint64_t> TensorBytes(const std::string& name,
                                     SafetensorsDtype dtype,
                                     const std::vector<uint64_t>& shape) {
  uint64_t numel = 1;
  for (uint64_t d : shape) {
    if (!CheckedMul(numel, d, &numel))
      return BadTensor(name, Cat("shape ", ShapeText(shape),
                                 " has more than 2^64 elements"));
  }
  uint64_t bits = 0;
  if (!CheckedMul(numel, Info(dtype).bits, &bits))
    return BadTensor(name, Cat("shape ", ShapeText(shape), " of ",
                               Info(dtype).name, " has more than 2^64 bits"));
  if (bits % 8 != 0)
    return BadTensor(name,
                     Cat("shape ", ShapeText(shape), " of ", Info(dtype).name,
                         " is not a whole number of bytes"));
  return bits / 8;
}

absl::StatusOr<SafetensorsTensor> ParseTensor(const std::string& name,
                                              const Json& v,
                                              uint64_t data_offset,
                                              uint64_t data_size) {
  if (!v.is_object()) return BadTensor(name, "entry is not a JSON object");
  for (const auto& [key, unused] : v.items()) {
    if (key != "dtype" && key != "shape" && key != "data_offsets")
      return BadTensor(name, Cat("unknown field ", QuoteName(key)));
  }
  for (const char* key : {"dtype", "shape", "data_offsets"}) {
    if (!v.contains(key))
      return BadTensor(name, Cat("missing field '", key, "'"));
  }
  const Json& dtype_json = v.find("dtype").value();
  if (!dtype_json.is_string()) return BadTensor(name, "dtype is not a string");
  const auto& dtype_name = dtype_json.get_ref<const std::string&>();
  std::optional<SafetensorsDtype> dtype = SafetensorsDtypeFromName(dtype_name);
  if (!dtype)
    return BadTensor(name, Cat("unknown dtype ", QuoteName(dtype_name)));
  std::optional<std::vector<uint64_t>> shape = Uints(v.find("shape").value());
  if (!shape)
    return BadTensor(name, "shape is not an array of non-negative integers");
  std::optional<std::vector<uint64_t>> offsets =
      Uints(v.find("data_offsets").value());
  if (!offsets || offsets->size() != 2)
    return BadTensor(name, "data_offsets is not [begin, end]");
  auto [begin, end] = std::pair((*offsets)[0], (*offsets)[1]);
  if (begin > end)
    return BadTensor(name,
                     Cat("data_offsets ", Range(begin, end), " are reversed"));
  if (end > data_size)
    return BadTensor(name, Cat("data_offsets ", Range(begin, end),
                               " run past the end of the file (the "
                               "data region holds ",
                               data_size, " bytes)"));
  MV_ASSIGN_OR_RETURN(uint64_t length, TensorBytes(name, *dtype, *shape));
  if (end - begin != length)
    return BadTensor(
        name, Cat("data_offsets ", Range(begin, end), " hold ", end - begin,
                  " bytes but shape ", ShapeText(*shape), " of ", dtype_name,
                  " needs ", length));
  return SafetensorsTensor{name, *dtype, *std::move(shape), data_offset + begin,
                           length};
}

absl::Status ParseMetadata(const Json& v,
                           std::map<std::string, std::string>* out) {
  if (!v.is_object()) return Bad("__metadata__ is not a JSON object");
  for (const auto& [key, value] : v.items()) {
    if (!value.is_string())
      return Bad(
          Cat("__metadata__ value of ", QuoteName(key), " is not a string"));
    (*out)[key] = value.get<std::string>();
  }
  return absl::OkStatus();
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
  SafetensorsLayout layout;
  layout.header_length = text.size();
  layout.data_offset = 8 + text.size();
  layout.file_size = file_size;
  // The spec requires '{' first; only trailing whitespace padding is allowed.
  if (text.empty() || text[0] != '{')
    return Bad("header does not start with '{'");
  // nlohmann stops at a NUL as if the input ended there, which would let
  // anything after it through; JSON text never contains a raw NUL.
  if (text.find('\0') != std::string_view::npos)
    return Bad("header is not valid JSON (it contains a NUL byte)");
  MV_ASSIGN_OR_RETURN(Json doc, ParseJsonStrictly(text));
  if (!doc.is_object()) return Bad("header is not a JSON object");
  uint64_t data_size = file_size - layout.data_offset;
  for (const auto& [key, value] : doc.items()) {
    if (key == "__metadata__") {
      MV_RETURN_IF_ERROR(ParseMetadata(value, &layout.metadata));
      continue;
    }
    MV_ASSIGN_OR_RETURN(SafetensorsTensor t,
                        ParseTensor(key, value, layout.data_offset, data_size));
    layout.tensors.push_back(std::move(t));
  }
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
