// Builders of synthetic safetensors and GGUF files in memory, for tests of
// the format parsers and of anything that reads model files (fingerprinting,
// format detection). They write exactly what they are told, so tests can
// also build malformed files: raw headers, wrong counts, explicit offsets.
// Not thread-safe; header-only.
#ifndef MODELVAULT_TESTS_SRC_FORMATS_FORMAT_BUILDERS_H_
#define MODELVAULT_TESTS_SRC_FORMATS_FORMAT_BUILDERS_H_

#include <cstdint>
#include <cstring>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "nlohmann/json.hpp"

namespace mvtesting {

inline std::string Le(uint64_t v, int bytes) {
  std::string out;
  for (int i = 0; i < bytes; ++i)
    out.push_back(static_cast<char>(v >> (8 * i)));
  return out;
}
inline std::string Le32(uint32_t v) { return Le(v, 4); }
inline std::string Le64(uint64_t v) { return Le(v, 8); }

// The little-endian F32 encoding of `values` (x86-64 and aarch64 hosts).
inline std::string F32Bytes(const std::vector<float>& values) {
  std::string out(values.size() * 4, '\0');
  if (!values.empty()) std::memcpy(out.data(), values.data(), out.size());
  return out;
}
// `n` bytes 0, 1, 2, ... (mod 251) starting at `seed`: distinct per tensor.
inline std::string PatternBytes(size_t n, uint8_t seed = 0) {
  std::string out(n, '\0');
  for (size_t i = 0; i < n; ++i) out[i] = static_cast<char>((seed + i) % 251);
  return out;
}

// A safetensors file from its parts: u64 LE header length ‖ header ‖ data.
inline std::string SafetensorsFile(std::string_view header,
                                   std::string_view data) {
  return Le64(header.size()) + std::string(header) + std::string(data);
}

// Writes valid safetensors files like the reference writer: tensors packed
// in the order added, header padded with spaces to a multiple of 8.
class SafetensorsBuilder {
 public:
  SafetensorsBuilder& Tensor(std::string name, std::string dtype,
                             std::vector<uint64_t> shape, std::string data) {
    tensors_.push_back(
        {std::move(name), std::move(dtype), std::move(shape), std::move(data)});
    return *this;
  }
  SafetensorsBuilder& Metadata(const std::string& key,
                               const std::string& value) {
    metadata_[key] = value;
    return *this;
  }

  // The header JSON, unpadded.
  std::string HeaderJson() const {
    nlohmann::ordered_json header = nlohmann::ordered_json::object();
    if (!metadata_.empty()) header["__metadata__"] = metadata_;
    uint64_t offset = 0;
    for (const Entry& t : tensors_) {
      header[t.name] = {{"dtype", t.dtype},
                        {"shape", t.shape},
                        {"data_offsets", {offset, offset + t.data.size()}}};
      offset += t.data.size();
    }
    return header.dump();
  }
  std::string Build() const {
    std::string header = HeaderJson();
    header.append((8 - header.size() % 8) % 8, ' ');
    std::string data;
    for (const Entry& t : tensors_) data += t.data;
    return SafetensorsFile(header, data);
  }

 private:
  struct Entry {
    std::string name, dtype;
    std::vector<uint64_t> shape;
    std::string data;
  };
  std::vector<Entry> tensors_;
  nlohmann::ordered_json metadata_ = nlohmann::ordered_json::object();
};

// GGUF value type ids (gguf.md).
enum GgufType : uint32_t {
  kGgufU8 = 0,
  kGgufI8 = 1,
  kGgufU16 = 2,
  kGgufI16 = 3,
  kGgufU32 = 4,
  kGgufI32 = 5,
  kGgufF32 = 6,
  kGgufBool = 7,
  kGgufString = 8,
  kGgufArray = 9,
  kGgufU64 = 10,
  kGgufI64 = 11,
  kGgufF64 = 12,
};

inline std::string GgufString(std::string_view s) {
  return Le64(s.size()) + std::string(s);
}

// The fixed 24-byte start of a GGUF file, for hand-built (malformed) files.
inline std::string GgufFixedHeader(uint64_t tensor_count, uint64_t kv_count,
                                   uint32_t version = 3) {
  return "GGUF" + Le32(version) + Le64(tensor_count) + Le64(kv_count);
}

// Writes GGUF files: header, KVs, tensor infos, padding, data. Tensor data
// goes at the next aligned offset unless an explicit offset is given; gaps
// are zero-filled.
class GgufBuilder {
 public:
  GgufBuilder& Magic(std::string m) {
    magic_ = std::move(m);
    return *this;
  }
  GgufBuilder& Version(uint32_t v) {
    version_ = v;
    return *this;
  }
  // Override the counts written in the header (default: the real counts).
  GgufBuilder& TensorCount(uint64_t n) {
    tensor_count_ = n;
    return *this;
  }
  GgufBuilder& KvCount(uint64_t n) {
    kv_count_ = n;
    return *this;
  }

  // A KV with an already-encoded value (`type` then `value` bytes).
  GgufBuilder& KvRaw(std::string_view key, uint32_t type, std::string value) {
    kvs_ += GgufString(key) + Le32(type) + value;
    ++kvs_written_;
    return *this;
  }
  GgufBuilder& KvU32(std::string_view key, uint32_t v) {
    return KvRaw(key, kGgufU32, Le32(v));
  }
  GgufBuilder& KvString(std::string_view key, std::string_view v) {
    return KvRaw(key, kGgufString, GgufString(v));
  }
  // Adds general.alignment (u32) and lays the data out with it.
  GgufBuilder& Alignment(uint32_t a) {
    alignment_ = a;
    return KvU32("general.alignment", a);
  }

  // `dims` innermost first, as GGUF stores them; `type` a ggml type id.
  GgufBuilder& Tensor(std::string name, uint32_t type,
                      std::vector<uint64_t> dims, std::string data,
                      std::optional<uint64_t> offset = std::nullopt) {
    tensors_.push_back(
        {std::move(name), type, std::move(dims), std::move(data), offset});
    return *this;
  }

  // Where tensor `i`'s data starts, relative to the data section.
  uint64_t RelativeOffset(size_t i) const { return Offsets()[i]; }
  uint64_t DataSectionOffset() const {
    return Align(24 + kvs_.size() + InfosSize());
  }

  std::string Build() const {
    std::vector<uint64_t> offsets = Offsets();
    std::string out = magic_ + Le32(version_) +
                      Le64(tensor_count_.value_or(tensors_.size())) +
                      Le64(kv_count_.value_or(kvs_written_)) + kvs_;
    for (size_t i = 0; i < tensors_.size(); ++i) {
      const Entry& t = tensors_[i];
      out += GgufString(t.name) + Le32(t.dims.size());
      for (uint64_t d : t.dims) out += Le64(d);
      out += Le32(t.type) + Le64(offsets[i]);
    }
    out.resize(Align(out.size()), '\0');
    size_t data_start = out.size();
    for (size_t i = 0; i < tensors_.size(); ++i) {
      if (tensors_[i].data.empty()) continue;  // offsets may be absurd
      size_t at = data_start + offsets[i];
      if (out.size() < at + tensors_[i].data.size())
        out.resize(at + tensors_[i].data.size(), '\0');
      out.replace(at, tensors_[i].data.size(), tensors_[i].data);
    }
    return out;
  }

 private:
  struct Entry {
    std::string name;
    uint32_t type;
    std::vector<uint64_t> dims;
    std::string data;
    std::optional<uint64_t> offset;
  };
  uint64_t Align(uint64_t n) const {
    return (n + alignment_ - 1) / alignment_ * alignment_;
  }
  size_t InfosSize() const {
    size_t n = 0;
    for (const Entry& t : tensors_)
      n += 8 + t.name.size() + 4 + 8 * t.dims.size() + 4 + 8;
    return n;
  }
  std::vector<uint64_t> Offsets() const {
    std::vector<uint64_t> offsets;
    uint64_t next = 0;
    for (const Entry& t : tensors_) {
      uint64_t at = t.offset.value_or(next);
      offsets.push_back(at);
      next = Align(at + t.data.size());
    }
    return offsets;
  }

  std::string magic_ = "GGUF";
  uint32_t version_ = 3;
  uint32_t alignment_ = 32;
  std::optional<uint64_t> tensor_count_, kv_count_;
  std::string kvs_;
  uint64_t kvs_written_ = 0;
  std::vector<Entry> tensors_;
};

}  // namespace mvtesting

#endif  // MODELVAULT_TESTS_SRC_FORMATS_FORMAT_BUILDERS_H_
