#include "formats/safetensors_header.h"

#include <algorithm>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_join.h"
#include "common/status_macros.h"
#include "formats/parse_util.h"
#include "nlohmann/json.hpp"

namespace mv::formats_internal {

absl::Status SafetensorsError(std::string_view what) {
  return absl::InvalidArgumentError(Cat("safetensors: ", what));
}
absl::Status SafetensorsTensorError(std::string_view name,
                                    std::string_view what) {
  return SafetensorsError(Cat("tensor ", QuoteName(name), ": ", what));
}
std::string OffsetRange(uint64_t begin, uint64_t end) {
  return Cat("[", begin, ", ", end, ")");
}

namespace {

using Json = nlohmann::json;

// A valid header nests 3 deep (root, tensor, shape); one more level still
// gets the precise "shape is not..." message instead of a depth error.
constexpr int kMaxJsonDepth = 4;

std::string ShapeText(const std::vector<uint64_t>& shape) {
  constexpr size_t kMaxShown = 8;
  std::vector<uint64_t> shown(
      shape.begin(), shape.begin() + std::min(shape.size(), kMaxShown));
  return Cat("[", absl::StrJoin(shown, ", "),
             shape.size() > kMaxShown ? ", ...]" : "]");
}

absl::StatusOr<uint64_t> TensorBytes(std::string_view name,
                                     SafetensorsDtype dtype,
                                     const std::vector<uint64_t>& shape) {
  uint64_t numel = 1;
  for (uint64_t d : shape) {
    if (!CheckedMul(numel, d, &numel))
      return SafetensorsTensorError(name, Cat("shape ", ShapeText(shape),
                                              " has more than 2^64 elements"));
  }
  const std::string_view dtype_name = SafetensorsDtypeName(dtype);
  uint64_t bits = 0;
  if (!CheckedMul(numel, SafetensorsDtypeBits(dtype), &bits))
    return SafetensorsTensorError(
        name, Cat("shape ", ShapeText(shape), " of ", dtype_name,
                  " has more than 2^64 bits"));
  if (bits % 8 != 0)
    return SafetensorsTensorError(
        name, Cat("shape ", ShapeText(shape), " of ", dtype_name,
                  " is not a whole number of bytes"));
  return bits / 8;
}

// A list of u64 as the header gave it; `bad` once an element is anything
// but a non-negative integer that fits in 64 bits (nlohmann reports larger
// ones as floats).
struct Uints {
  std::vector<uint64_t> values;
  bool bad = false;
};

// One tensor entry as met in the header, checked when its object ends.
struct RawTensor {
  std::string name;
  std::string first_unknown_field;  // smallest in key order, "" = none
  std::optional<std::string> dtype;
  bool dtype_not_string = false;
  std::optional<Uints> shape, offsets;
};

absl::StatusOr<SafetensorsTensor> CheckTensor(RawTensor& raw,
                                              uint64_t data_offset,
                                              uint64_t data_size) {
  const std::string& name = raw.name;
  if (!raw.first_unknown_field.empty())
    return SafetensorsTensorError(
        name, Cat("unknown field ", QuoteName(raw.first_unknown_field)));
  if (!raw.dtype && !raw.dtype_not_string)
    return SafetensorsTensorError(name, "missing field 'dtype'");
  if (!raw.shape) return SafetensorsTensorError(name, "missing field 'shape'");
  if (!raw.offsets)
    return SafetensorsTensorError(name, "missing field 'data_offsets'");
  if (raw.dtype_not_string)
    return SafetensorsTensorError(name, "dtype is not a string");
  std::optional<SafetensorsDtype> dtype = SafetensorsDtypeFromName(*raw.dtype);
  if (!dtype)
    return SafetensorsTensorError(name,
                                  Cat("unknown dtype ", QuoteName(*raw.dtype)));
  if (raw.shape->bad)
    return SafetensorsTensorError(
        name, "shape is not an array of non-negative integers");
  if (raw.offsets->bad || raw.offsets->values.size() != 2)
    return SafetensorsTensorError(name, "data_offsets is not [begin, end]");
  const uint64_t begin = raw.offsets->values[0], end = raw.offsets->values[1];
  if (begin > end)
    return SafetensorsTensorError(
        name, Cat("data_offsets ", OffsetRange(begin, end), " are reversed"));
  if (end > data_size)
    return SafetensorsTensorError(
        name, Cat("data_offsets ", OffsetRange(begin, end),
                  " run past the end of the file (the data region holds ",
                  data_size, " bytes)"));
  MV_ASSIGN_OR_RETURN(uint64_t length,
                      TensorBytes(name, *dtype, raw.shape->values));
  if (end - begin != length)
    return SafetensorsTensorError(
        name,
        Cat("data_offsets ", OffsetRange(begin, end), " hold ", end - begin,
            " bytes but shape ", ShapeText(raw.shape->values), " of ",
            *raw.dtype, " needs ", length));
  return SafetensorsTensor{std::move(raw.name), *dtype,
                           std::move(raw.shape->values), data_offset + begin,
                           length};
}

// The SAX handler. Containers are tracked by `open_`; a value the layout
// does not keep (an unknown field, a wrong type) is skipped whole by
// remembering the depth it opened at.
class HeaderReader : public nlohmann::json_sax<Json> {
 public:
  HeaderReader(SafetensorsLayout* layout, uint64_t data_size)
      : layout_(layout), data_size_(data_size) {}

  // The first reason to refuse the header, in the order the file's header
  // comment gives; OK if there is none.
  absl::Status Result(bool parsed) {
    if (!abort_.ok()) return abort_;
    if (!parsed) return SafetensorsError("header is not valid JSON");
    if (absl::Status dup = DuplicateTensorName(); !dup.ok()) return dup;
    if (first_defect_) return first_defect_->second;
    return absl::OkStatus();
  }

  // ---- nlohmann::json_sax ----
  bool null() override { return Scalar(Kind::kOther); }
  bool boolean(bool) override { return Scalar(Kind::kOther); }
  bool number_integer(number_integer_t) override {
    return Scalar(Kind::kOther);
  }
  bool number_unsigned(number_unsigned_t v) override {
    return Scalar(Kind::kUnsigned, v);
  }
  bool number_float(number_float_t, const string_t&) override {
    return Scalar(Kind::kOther);
  }
  bool string(string_t& v) override { return Scalar(Kind::kString, 0, &v); }
  bool binary(binary_t&) override { return Scalar(Kind::kOther); }
  bool start_object(std::size_t) override { return Open(/*object=*/true); }
  bool start_array(std::size_t) override { return Open(/*object=*/false); }
  bool end_object() override { return Close(); }
  bool end_array() override { return Close(); }
  bool key(string_t& k) override;
  bool parse_error(std::size_t, const std::string&,
                   const nlohmann::detail::exception&) override {
    return false;
  }

 private:
  enum class Kind { kUnsigned, kString, kOther };
  // What the value at the current position is for.
  enum class Slot {
    kRoot,      // the header itself
    kEntry,     // a top-level value: a tensor entry
    kMetadata,  // the "__metadata__" value
    kMetadataValue,
    kDtype,
    kShape,
    kOffsets,
    kListElement,  // an element of shape or data_offsets
    kIgnored,      // an unknown field's value
  };

  bool Scalar(Kind kind, uint64_t n = 0, string_t* s = nullptr);
  bool Open(bool object);
  bool Close();
  // Ends the value of the current slot (a scalar, or a container closing).
  void EndValue();
  void Defect(std::string_view key, absl::Status status);
  // The defects a scalar and a container alike can be.
  void EntryNotAnObject();
  void MetadataValueNotAString();
  bool Abort(absl::Status status) {
    abort_ = std::move(status);
    return false;
  }
  absl::Status DuplicateTensorName();
  Uints* List() {
    return slot_owner_ == Slot::kShape ? &*raw_.shape : &*raw_.offsets;
  }

  SafetensorsLayout* layout_;
  const uint64_t data_size_;
  int open_ = 0;         // containers open now
  int skip_depth_ = -1;  // >= 0: inside a skipped container opened there
  Slot slot_ = Slot::kRoot;
  Slot slot_owner_ = Slot::kRoot;  // kShape/kOffsets while in their list
  bool in_entry_ = false, in_metadata_ = false, metadata_seen_ = false;
  std::string root_key_, metadata_key_;
  RawTensor raw_;
  std::vector<std::string> bad_names_;  // entries that are not tensors
  absl::Status abort_;
  // The defect of the smallest key (root key, then metadata key).
  std::optional<std::pair<std::pair<std::string, std::string>, absl::Status>>
      first_defect_;
};

void HeaderReader::EntryNotAnObject() {
  bad_names_.push_back(root_key_);
  Defect("", SafetensorsTensorError(root_key_, "entry is not a JSON object"));
}

void HeaderReader::MetadataValueNotAString() {
  Defect(metadata_key_,
         SafetensorsError(Cat("__metadata__ value of ",
                              QuoteName(metadata_key_), " is not a string")));
}

void HeaderReader::Defect(std::string_view key, absl::Status status) {
  std::pair<std::string, std::string> at(root_key_, std::string(key));
  if (!first_defect_ || at < first_defect_->first)
    first_defect_.emplace(std::move(at), std::move(status));
}

bool HeaderReader::key(string_t& k) {
  if (skip_depth_ >= 0) return true;
  if (open_ == 1) {  // a top-level key
    root_key_ = k;
    slot_ = k == "__metadata__" ? Slot::kMetadata : Slot::kEntry;
    if (slot_ == Slot::kMetadata && metadata_seen_)
      return Abort(
          SafetensorsError(Cat("duplicate key ", QuoteName(k), " in header")));
    return true;
  }
  if (in_metadata_) {
    metadata_key_ = k;
    slot_ = Slot::kMetadataValue;
    return true;
  }
  // A field of a tensor entry.
  slot_ = k == "dtype"          ? Slot::kDtype
          : k == "shape"        ? Slot::kShape
          : k == "data_offsets" ? Slot::kOffsets
                                : Slot::kIgnored;
  const bool seen =
      (slot_ == Slot::kDtype && (raw_.dtype || raw_.dtype_not_string)) ||
      (slot_ == Slot::kShape && raw_.shape) ||
      (slot_ == Slot::kOffsets && raw_.offsets);
  if (seen)
    return Abort(
        SafetensorsError(Cat("duplicate key ", QuoteName(k), " in header")));
  if (slot_ == Slot::kIgnored &&
      (raw_.first_unknown_field.empty() || k < raw_.first_unknown_field))
    raw_.first_unknown_field = k;
  return true;
}

bool HeaderReader::Scalar(Kind kind, uint64_t n, string_t* s) {
  if (skip_depth_ >= 0) return true;
  switch (slot_) {
    case Slot::kRoot:
      return Abort(SafetensorsError("header is not a JSON object"));
    case Slot::kEntry:
      EntryNotAnObject();
      break;
    case Slot::kMetadata:
      metadata_seen_ = true;
      Defect("", SafetensorsError("__metadata__ is not a JSON object"));
      break;
    case Slot::kMetadataValue:
      if (kind != Kind::kString) {
        MetadataValueNotAString();
      } else if (!layout_->metadata.emplace(metadata_key_, std::move(*s))
                      .second) {
        return Abort(SafetensorsError(
            Cat("duplicate key ", QuoteName(metadata_key_), " in header")));
      } else if (layout_->metadata.size() > kMaxSafetensorsMetadataEntries) {
        return Abort(
            SafetensorsError(Cat("__metadata__ has more than ",
                                 kMaxSafetensorsMetadataEntries, " entries")));
      }
      break;
    case Slot::kDtype:
      if (kind == Kind::kString)
        raw_.dtype = std::move(*s);
      else
        raw_.dtype_not_string = true;
      break;
    case Slot::kShape:
      raw_.shape = Uints{{}, true};
      break;
    case Slot::kOffsets:
      raw_.offsets = Uints{{}, true};
      break;
    case Slot::kListElement:
      if (kind == Kind::kUnsigned)
        List()->values.push_back(n);
      else
        List()->bad = true;
      return true;  // the list continues
    case Slot::kIgnored:
      break;
  }
  EndValue();
  return true;
}

bool HeaderReader::Open(bool object) {
  if (open_ >= kMaxJsonDepth)
    return Abort(SafetensorsError("header nests JSON deeper than 4 levels"));
  ++open_;
  if (skip_depth_ >= 0) return true;
  switch (slot_) {
    case Slot::kRoot:
      if (!object)
        return Abort(SafetensorsError("header is not a JSON object"));
      return true;  // keys follow
    case Slot::kEntry:
      if (object) {
        raw_ = RawTensor{root_key_, "",           std::nullopt,
                         false,     std::nullopt, std::nullopt};
        in_entry_ = true;
        return true;
      }
      EntryNotAnObject();
      break;
    case Slot::kMetadata:
      metadata_seen_ = true;
      if (object) {
        in_metadata_ = true;
        return true;
      }
      Defect("", SafetensorsError("__metadata__ is not a JSON object"));
      break;
    case Slot::kMetadataValue:
      MetadataValueNotAString();
      break;
    case Slot::kDtype:
      raw_.dtype_not_string = true;
      break;
    case Slot::kShape:
    case Slot::kOffsets:
      (slot_ == Slot::kShape ? raw_.shape : raw_.offsets) = Uints{};
      if (!object) {
        slot_owner_ = slot_;
        slot_ = Slot::kListElement;
        return true;
      }
      (slot_ == Slot::kShape ? raw_.shape : raw_.offsets)->bad = true;
      break;
    case Slot::kListElement:
      List()->bad = true;
      break;
    case Slot::kIgnored:
      break;
  }
  skip_depth_ = open_;  // skip this container's contents
  return true;
}

bool HeaderReader::Close() {
  const int closing = open_--;
  if (skip_depth_ >= 0) {
    if (closing > skip_depth_) return true;  // still inside the skipped value
    skip_depth_ = -1;
    if (slot_ == Slot::kListElement)
      return true;  // a bad element; list goes on
    EndValue();
    return true;
  }
  if (slot_ == Slot::kListElement) {  // shape or data_offsets ends
    slot_ = slot_owner_;
    slot_owner_ = Slot::kRoot;
    EndValue();
    return true;
  }
  if (in_metadata_ && closing == 2) {
    in_metadata_ = false;
    slot_ = Slot::kMetadata;
    EndValue();
  } else if (in_entry_ && closing == 2) {
    in_entry_ = false;
    absl::StatusOr<SafetensorsTensor> tensor =
        CheckTensor(raw_, layout_->data_offset, data_size_);
    if (tensor.ok()) {
      layout_->tensors.push_back(*std::move(tensor));
    } else {
      bad_names_.push_back(root_key_);
      Defect("", tensor.status());
    }
    slot_ = Slot::kEntry;
    EndValue();
  }
  return true;
}

void HeaderReader::EndValue() {
  // The next event is a key of the object that holds the value just ended.
  if (open_ == 1) {
    slot_ = Slot::kEntry;
  } else if (in_metadata_) {
    slot_ = Slot::kMetadataValue;
  } else if (in_entry_) {
    slot_ = Slot::kIgnored;
  }
}

absl::Status HeaderReader::DuplicateTensorName() {
  std::vector<std::string_view> names;
  names.reserve(layout_->tensors.size() + bad_names_.size());
  for (const SafetensorsTensor& t : layout_->tensors) names.push_back(t.name);
  for (const std::string& n : bad_names_) names.push_back(n);
  std::sort(names.begin(), names.end());
  auto dup = std::adjacent_find(names.begin(), names.end());
  if (dup == names.end()) return absl::OkStatus();
  return SafetensorsError(Cat("duplicate key ", QuoteName(*dup), " in header"));
}

}  // namespace

absl::StatusOr<SafetensorsLayout> ParseSafetensorsHeader(std::string_view text,
                                                         uint64_t file_size) {
  SafetensorsLayout layout;
  layout.header_length = text.size();
  layout.data_offset = 8 + text.size();
  layout.file_size = file_size;
  HeaderReader reader(&layout, file_size - layout.data_offset);
  const bool parsed = Json::sax_parse(text.begin(), text.end(), &reader);
  MV_RETURN_IF_ERROR(reader.Result(parsed));
  return layout;
}

}  // namespace mv::formats_internal
