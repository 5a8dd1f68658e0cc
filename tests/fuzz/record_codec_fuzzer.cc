// Fuzzes the length-checked codec (storage/record_codec.h) with a field
// schema taken from the input. Input layout:
//   n u8 ‖ n field types (u8, low 2 bits: 0=U8 1=U32 2=U64 3=Bytes) ‖ record
// Invariants: the decoder never reads outside the record (ASan), and when
// Finish() is OK, encoding the decoded fields reproduces the record exactly
// (the codec is canonical); otherwise Finish() is DATA_LOSS.
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "fuzz_check.h"
#include "storage/record_codec.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in = mv::fuzz::AsView(data, size);
  if (in.empty()) return 0;
  size_t n = static_cast<uint8_t>(in[0]);
  if (in.size() < 1 + n) return 0;
  std::string_view schema = in.substr(1, n);
  std::string_view record = in.substr(1 + n);

  using Field = std::variant<uint8_t, uint32_t, uint64_t, std::string>;
  std::vector<Field> fields;
  mv::Decoder d(record, "fuzz");
  for (char t : schema) {
    switch (t & 3) {
      case 0: {
        uint8_t v = 0;
        d.U8(&v);
        fields.emplace_back(v);
        break;
      }
      case 1: {
        uint32_t v = 0;
        d.U32(&v);
        fields.emplace_back(v);
        break;
      }
      case 2: {
        uint64_t v = 0;
        d.U64(&v);
        fields.emplace_back(v);
        break;
      }
      case 3: {
        std::string v;
        d.Bytes(&v);
        fields.emplace_back(std::move(v));
        break;
      }
    }
  }
  absl::Status finished = d.Finish();
  if (!finished.ok()) {
    MV_FUZZ_CHECK(finished.code() == absl::StatusCode::kDataLoss);
    return 0;
  }
  MV_FUZZ_CHECK(d.ok());
  mv::Encoder e;
  for (const Field& f : fields) {
    if (auto* v = std::get_if<uint8_t>(&f)) e.U8(*v);
    if (auto* v = std::get_if<uint32_t>(&f)) e.U32(*v);
    if (auto* v = std::get_if<uint64_t>(&f)) e.U64(*v);
    if (auto* v = std::get_if<std::string>(&f)) e.Bytes(*v);
  }
  MV_FUZZ_CHECK(e.Finish() == record);
  return 0;
}
