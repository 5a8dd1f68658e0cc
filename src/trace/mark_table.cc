#include "trace/mark_table.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "common/status_macros.h"
#include "trace/element_codec.h"

namespace mv {
namespace {

constexpr std::string_view kMagic = "MVFPTBL";
constexpr uint8_t kLayoutVersion = 1;

void PutLe(std::string* out, uint64_t v, int bytes) {
  for (int i = 0; i < bytes; ++i)
    out->push_back(static_cast<char>(v >> (8 * i)));
}

class Reader {
 public:
  explicit Reader(std::string_view in) : in_(in) {}
  absl::StatusOr<uint64_t> Le(int bytes, std::string_view what) {
    if (in_.size() < static_cast<size_t>(bytes)) return Truncated(what);
    uint64_t v = 0;
    for (int i = bytes - 1; i >= 0; --i)
      v = v << 8 | static_cast<uint8_t>(in_[i]);
    in_.remove_prefix(bytes);
    return v;
  }
  absl::StatusOr<std::string_view> Bytes(size_t n, std::string_view what) {
    if (in_.size() < n) return Truncated(what);
    std::string_view out = in_.substr(0, n);
    in_.remove_prefix(n);
    return out;
  }
  size_t left() const { return in_.size(); }

 private:
  static absl::Status Truncated(std::string_view what) {
    return absl::DataLossError(
        absl::StrCat("trace table: truncated at ", std::string(what)));
  }
  std::string_view in_;
};

absl::Status Bad(std::string_view what) {
  return absl::DataLossError(absl::StrCat("trace table: ", std::string(what)));
}

absl::StatusOr<TraceTensor> ReadTensor(Reader& r) {
  TraceTensor t;
  MV_ASSIGN_OR_RETURN(uint64_t name_length, r.Le(4, "tensor name length"));
  MV_ASSIGN_OR_RETURN(std::string_view name,
                      r.Bytes(name_length, "tensor name"));
  t.name = std::string(name);
  MV_ASSIGN_OR_RETURN(uint64_t dtype, r.Le(1, "tensor dtype"));
  if (dtype < 1 || dtype > 3) return Bad("tensor dtype is not markable");
  t.dtype = static_cast<MarkableType>(dtype);
  MV_ASSIGN_OR_RETURN(uint64_t ndim, r.Le(1, "tensor ndim"));
  if (ndim < 1 || ndim > kMaxEligibleDims)
    return Bad("tensor ndim out of range");
  unsigned __int128 numel = 1;
  for (uint64_t d = 0; d < ndim; ++d) {
    MV_ASSIGN_OR_RETURN(uint64_t dim, r.Le(8, "tensor shape"));
    t.shape.push_back(dim);
    numel *= dim;
    if (numel > (uint64_t{1} << 60)) return Bad("tensor too large");
  }
  MV_ASSIGN_OR_RETURN(t.offset, r.Le(8, "tensor offset"));
  MV_ASSIGN_OR_RETURN(t.length, r.Le(8, "tensor length"));
  if (t.length != static_cast<uint64_t>(numel) * ElementBytes(t.dtype)) {
    return Bad("tensor length does not match its shape");
  }
  return t;
}

absl::Status CheckEntry(const MarkTable& table, const MarkEntry& e,
                        uint64_t previous_end) {
  if (e.tensor >= table.tensors.size()) return Bad("entry tensor out of range");
  const TraceTensor& t = table.tensors[e.tensor];
  const uint32_t size = ElementBytes(t.dtype);
  if (e.element >= t.NumElements()) return Bad("entry element out of range");
  if (e.file_offset != t.offset + e.element * size) {
    return Bad("entry offset does not match its element");
  }
  if (e.file_offset < previous_end)
    return Bad("entries unsorted or overlapping");
  if (e.file_offset + size > table.file_size)
    return Bad("entry past end of file");
  if (size < 4 && (e.original_bits >> (8 * size)) != 0) {
    return Bad("entry original value too wide");
  }
  if (e.channel == MarkChannel::kTardos && e.weight == 0) {
    return Bad("entry bias is zero");
  }
  return absl::OkStatus();
}

}  // namespace

size_t MarkTable::CountChannel(MarkChannel channel) const {
  return std::count_if(entries.begin(), entries.end(), [&](const MarkEntry& e) {
    return e.channel == channel;
  });
}

std::string SerializeMarkTable(const MarkTable& table) {
  std::string out(kMagic);
  out.push_back(static_cast<char>(kLayoutVersion));
  PutLe(&out, table.file_size, 8);
  PutLe(&out, table.tensors.size(), 4);
  for (const TraceTensor& t : table.tensors) {
    PutLe(&out, t.name.size(), 4);
    out += t.name;
    PutLe(&out, static_cast<uint8_t>(t.dtype), 1);
    PutLe(&out, t.shape.size(), 1);
    for (uint64_t d : t.shape) PutLe(&out, d, 8);
    PutLe(&out, t.offset, 8);
    PutLe(&out, t.length, 8);
  }
  PutLe(&out, table.entries.size(), 4);
  for (const MarkEntry& e : table.entries) {
    PutLe(&out, e.file_offset, 8);
    PutLe(&out, e.tensor, 4);
    PutLe(&out, e.element, 8);
    PutLe(&out, static_cast<uint8_t>(e.channel), 1);
    PutLe(&out, e.weight, 2);
    PutLe(&out, e.original_bits, 4);
  }
  return out;
}

absl::StatusOr<MarkTable> ParseMarkTable(std::string_view bytes) {
  Reader r(bytes);
  MV_ASSIGN_OR_RETURN(std::string_view magic, r.Bytes(kMagic.size(), "magic"));
  if (magic != kMagic) return Bad("bad magic");
  MV_ASSIGN_OR_RETURN(uint64_t version, r.Le(1, "layout version"));
  if (version != kLayoutVersion) return Bad("unknown layout version");
  MarkTable table;
  MV_ASSIGN_OR_RETURN(table.file_size, r.Le(8, "file size"));
  MV_ASSIGN_OR_RETURN(uint64_t tensor_count, r.Le(4, "tensor count"));
  for (uint64_t i = 0; i < tensor_count; ++i) {
    MV_ASSIGN_OR_RETURN(TraceTensor t, ReadTensor(r));
    if (t.offset + t.length < t.offset ||
        t.offset + t.length > table.file_size) {
      return Bad("tensor past end of file");
    }
    if (!table.tensors.empty() && table.tensors.back().name >= t.name) {
      return Bad("tensors not sorted by name");
    }
    table.tensors.push_back(std::move(t));
  }
  MV_ASSIGN_OR_RETURN(uint64_t entry_count, r.Le(4, "entry count"));
  if (entry_count > r.left() / 27) return Bad("entry count exceeds the data");
  table.entries.reserve(entry_count);
  uint64_t previous_end = 0;
  for (uint64_t i = 0; i < entry_count; ++i) {
    MarkEntry e;
    MV_ASSIGN_OR_RETURN(e.file_offset, r.Le(8, "entry offset"));
    MV_ASSIGN_OR_RETURN(uint64_t tensor, r.Le(4, "entry tensor"));
    e.tensor = static_cast<uint32_t>(tensor);
    MV_ASSIGN_OR_RETURN(e.element, r.Le(8, "entry element"));
    MV_ASSIGN_OR_RETURN(uint64_t channel, r.Le(1, "entry channel"));
    if (channel > 2) return Bad("unknown entry channel");
    e.channel = static_cast<MarkChannel>(channel);
    MV_ASSIGN_OR_RETURN(uint64_t weight, r.Le(2, "entry weight"));
    e.weight = static_cast<uint16_t>(weight);
    MV_ASSIGN_OR_RETURN(uint64_t bits, r.Le(4, "entry original value"));
    e.original_bits = static_cast<uint32_t>(bits);
    MV_RETURN_IF_ERROR(CheckEntry(table, e, previous_end));
    e.dtype = table.tensors[e.tensor].dtype;
    previous_end = e.file_offset + ElementBytes(e.dtype);
    table.entries.push_back(e);
  }
  if (r.left() != 0) return Bad("trailing bytes");
  return table;
}

}  // namespace mv
