#include "formats/gguf_cursor.h"

#include <cstring>

#include "absl/strings/str_cat.h"
#include "common/status_macros.h"
#include "formats/parse_util.h"

namespace mv::formats_internal {
namespace {

constexpr uint32_t kMaxValueType = 12;  // GGUF_TYPE_FLOAT64

// Bytes per value of the fixed-size types; 0 for string and array.
uint64_t FixedSize(GgufValueType t) {
  switch (t) {
    case GgufValueType::kUint8:
    case GgufValueType::kInt8:
    case GgufValueType::kBool:
      return 1;
    case GgufValueType::kUint16:
    case GgufValueType::kInt16:
      return 2;
    case GgufValueType::kUint32:
    case GgufValueType::kInt32:
    case GgufValueType::kFloat32:
      return 4;
    case GgufValueType::kUint64:
    case GgufValueType::kInt64:
    case GgufValueType::kFloat64:
      return 8;
    case GgufValueType::kString:
    case GgufValueType::kArray:
      return 0;
  }
  return 0;
}

// The fewest bytes one value can take: what bounds an array's count.
uint64_t MinSize(GgufValueType t) {
  if (t == GgufValueType::kString) return 8;     // the length
  if (t == GgufValueType::kArray) return 4 + 8;  // type and count
  return FixedSize(t);
}

uint64_t LoadLe(const char* p, uint64_t n) {
  uint64_t v = 0;
  for (uint64_t i = n; i > 0; --i) v = v << 8 | static_cast<uint8_t>(p[i - 1]);
  return v;
}

// Decodes a fixed-size scalar of type `t` from its `FixedSize(t)` bytes.
absl::StatusOr<GgufValue> DecodeScalar(GgufValueType t, const char* p,
                                       std::string_view what) {
  GgufValue v;
  v.type = t;
  uint64_t n = FixedSize(t);
  uint64_t bits = LoadLe(p, n);
  switch (t) {
    case GgufValueType::kInt8:
    case GgufValueType::kInt16:
    case GgufValueType::kInt32:
    case GgufValueType::kInt64: {
      uint64_t sign = uint64_t{1} << (8 * n - 1);
      v.value = static_cast<int64_t>((bits ^ sign) - sign);  // sign-extend
      break;
    }
    case GgufValueType::kFloat32: {
      auto b32 = static_cast<uint32_t>(bits);
      float f;
      std::memcpy(&f, &b32, 4);
      v.value = static_cast<double>(f);
      break;
    }
    case GgufValueType::kFloat64: {
      double d;
      std::memcpy(&d, &bits, 8);
      v.value = d;
      break;
    }
    case GgufValueType::kBool:
      // The spec leaves other values undefined; a strict reader refuses them.
      if (bits > 1)
        return GgufError(
            Cat(what, ": bool value ", bits, " is neither 0 nor 1"));
      v.value = bits == 1;
      break;
    default:
      v.value = bits;
  }
  return v;
}

absl::StatusOr<GgufValue> ReadArray(GgufCursor& c, std::string_view what,
                                    int depth) {
  if (depth >= kGgufMaxArrayDepth)
    return GgufError(
        Cat(what, ": arrays nest more than ", kGgufMaxArrayDepth, " deep"));
  MV_ASSIGN_OR_RETURN(uint32_t raw_type, c.U32(what));
  if (raw_type > kMaxValueType)
    return GgufError(Cat(what, ": unknown array element type ", raw_type));
  auto et = static_cast<GgufValueType>(raw_type);
  MV_ASSIGN_OR_RETURN(uint64_t count, c.U64(what));
  // Bounded before any loop: each element takes at least MinSize bytes.
  if (count > c.remaining() / MinSize(et))
    return GgufError(Cat(what, ": array of ", count, " ", GgufValueTypeName(et),
                         " cannot fit in the ", c.remaining(),
                         " bytes left in the file"));
  GgufValue v;
  v.type = GgufValueType::kArray;
  v.element_type = et;
  v.array_length = count;
  if (uint64_t size = FixedSize(et); size != 0 && et != GgufValueType::kBool) {
    MV_RETURN_IF_ERROR(c.Bytes(count * size, what).status());
  } else if (et == GgufValueType::kString) {
    for (uint64_t i = 0; i < count; ++i) {  // skipped, not copied
      MV_ASSIGN_OR_RETURN(uint64_t len, c.U64(what));
      MV_RETURN_IF_ERROR(c.Bytes(len, what).status());
    }
  } else {
    for (uint64_t i = 0; i < count; ++i) {
      MV_RETURN_IF_ERROR(ReadGgufValue(c, raw_type, what, depth + 1).status());
    }
  }
  return v;
}

}  // namespace

absl::Status GgufError(std::string_view what) {
  return absl::InvalidArgumentError(Cat("gguf: ", what));
}

bool IsNeedMore(const absl::Status& s) {
  return s.code() == absl::StatusCode::kOutOfRange;
}

absl::Status GgufCursor::Require(uint64_t n, std::string_view what) {
  uint64_t end = 0;
  if (!CheckedAdd(pos_, n, &end) || end > file_size_)
    return GgufError(Cat("truncated: ", what, " at offset ", pos_, " needs ", n,
                         " bytes but the file has ", remaining(), " left"));
  if (end > kGgufMaxHeaderBytes)
    return GgufError(Cat("header exceeds the limit of ", kGgufMaxHeaderBytes,
                         " bytes at ", what));
  if (end > prefix_.size()) {
    needed_ = end;
    return absl::OutOfRangeError("prefix too short");
  }
  return absl::OkStatus();
}

absl::StatusOr<std::string_view> GgufCursor::Bytes(uint64_t n,
                                                   std::string_view what) {
  MV_RETURN_IF_ERROR(Require(n, what));
  std::string_view out = prefix_.substr(pos_, n);
  pos_ += n;
  return out;
}

absl::StatusOr<uint32_t> GgufCursor::U32(std::string_view what) {
  MV_ASSIGN_OR_RETURN(std::string_view b, Bytes(4, what));
  return LoadLe32(b.data());
}

absl::StatusOr<uint64_t> GgufCursor::U64(std::string_view what) {
  MV_ASSIGN_OR_RETURN(std::string_view b, Bytes(8, what));
  return LoadLe64(b.data());
}

absl::StatusOr<std::string> GgufCursor::String(std::string_view what,
                                               uint64_t max_len) {
  MV_ASSIGN_OR_RETURN(uint64_t len, U64(what));
  if (len > max_len)
    return GgufError(
        Cat(what, " of ", len, " bytes exceeds the limit of ", max_len));
  MV_ASSIGN_OR_RETURN(std::string_view b, Bytes(len, what));
  return std::string(b);
}

absl::StatusOr<GgufValue> ReadGgufValue(GgufCursor& c, uint32_t type,
                                        std::string_view what, int depth) {
  if (type > kMaxValueType)
    return GgufError(Cat(what, " has unknown value type ", type));
  auto t = static_cast<GgufValueType>(type);
  if (t == GgufValueType::kArray) return ReadArray(c, what, depth);
  if (t == GgufValueType::kString) {
    MV_ASSIGN_OR_RETURN(std::string s, c.String(what, UINT64_MAX));
    GgufValue v;
    v.type = t;
    v.value = std::move(s);
    return v;
  }
  MV_ASSIGN_OR_RETURN(std::string_view b, c.Bytes(FixedSize(t), what));
  return DecodeScalar(t, b.data(), what);
}

}  // namespace mv::formats_internal
