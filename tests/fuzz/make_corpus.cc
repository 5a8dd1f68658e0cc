// Writes the seed corpora committed under tests/fuzz/corpus/ from the real
// encoders, so the seeds track the record layouts. Run from the repository
// root after a layout change:  build-fuzz/tests/fuzz/make_corpus
// tests/fuzz/corpus (then review and commit the diff). Each corpus also holds a
// few invalid seeds: truncated, wrong layout byte, trailing garbage.
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <string_view>
#include <vector>

#include "common/bytes.h"
#include "src/formats/format_builders.h"
#include "src/trace/ggml_quantize.h"
#include "storage/record_codec.h"
#include "trace/mark_table.h"
#include "trace_seeds.h"
#include "vault/download_index.h"
#include "vault/records.h"

namespace {

std::filesystem::path root;

void Write(const std::string& corpus, const std::string& name,
           std::string_view bytes) {
  std::filesystem::create_directories(root / corpus);
  std::ofstream(root / corpus / name, std::ios::binary)
      .write(bytes.data(), bytes.size());
}

std::string Le64(uint64_t v) { return mv::Encoder().U64(v).Finish(); }
std::string Le32(uint32_t v) { return mv::Encoder().U32(v).Finish(); }

void Records() {
  mv::VersionRecord v;
  v.name = "team/llama";
  v.number = 3;
  v.version_id = 17;
  v.size = 10'000;
  v.sha256 = std::string(32, '\xab');
  v.format = mv::Format::kSafetensors;
  v.labels = {{"stage", "prod"}, {"owner", "ml"}};
  v.created_by = "alice";
  v.created_at_unix_ms = 1'700'000'000'000;
  v.chunk_size = 4096;
  v.chunk_count = 3;
  v.wrapped_dek = std::string(72, '\x5c');
  std::string version = mv::EncodeVersion(v);
  Write("records", "version_valid", version);
  v.size = 0;
  v.chunk_count = 1;
  v.labels.clear();
  Write("records", "version_empty_artifact", mv::EncodeVersion(v));
  Write("records", "version_truncated", version.substr(0, version.size() - 5));
  std::string bad_count = version;
  bad_count[version.size() - 4 - 72 - 4 - 8] ^= 1;  // chunk_count low byte
  Write("records", "version_bad_chunk_count", bad_count);
  std::string newer = version;
  newer[0] = 2;
  Write("records", "version_layout2", newer);

  mv::ArtifactRecord a;
  a.last_number = 7;
  a.aliases = {{"prod", 5}, {"staging", 7}};
  std::string artifact = mv::EncodeArtifact(a);
  Write("records", "artifact_valid", artifact);
  Write("records", "artifact_trailing", artifact + "x");
  Write("records", "artifact_huge_count",
        std::string("\x01", 1) + Le64(1) + Le32(0xffffffff) + Le32(1) + "a" +
            Le64(1));

  Write("records", "pending_valid",
        mv::EncodePending({"team/llama", 1'700'000'000'000}));
  Write("records", "pending_doomed",
        mv::EncodePending({"x", mv::PendingRecord::kDoomed}));
  Write("records", "token_valid",
        mv::EncodeToken({"alice",
                         "0123456789abcdef01234567",
                         1,
                         {"readers"},
                         1'700'000'000'000,
                         3}));
  Write("records", "token_layout1",
        std::string("\x01", 1) + Le32(4) + "root" + Le32(24) +
            "0123456789abcdef01234567" + Le64(1));
  Write("records", "principal_valid",
        mv::EncodePrincipal({mv::PrincipalKind::kService,
                             {"readers", "writers"},
                             "spiffe://acme/cluster",
                             1'700'000'000'000}));
  Write("records", "principal_bad_kind",
        std::string("\x01\x09", 2) + Le32(0) + Le32(0) + Le64(1));
  Write("records", "budget_valid", mv::EncodeBudget({20, 1 << 30}));
  Write("records", "token_len_overflow",
        std::string("\x01", 1) + Le32(0xfffffff0) + "ab");
  Write("records", "empty", "");
}

void RecordCodec() {
  // n ‖ schema ‖ record
  auto seed = [](std::string_view schema, const std::string& record) {
    return std::string(1, static_cast<char>(schema.size())) +
           std::string(schema) + record;
  };
  Write("record_codec", "all_types",
        seed(std::string("\x00\x01\x02\x03", 4),
             mv::Encoder().U8(1).U32(2).U64(3).Bytes("four").Finish()));
  Write("record_codec", "short_bytes", seed("\x03", Le32(100) + "abc"));
  Write("record_codec", "trailing", seed("\x01", Le32(5) + "z"));
  Write("record_codec", "no_fields", seed("", ""));
}

void Simple() {
  for (auto [name, text] :
       std::initializer_list<std::pair<const char*, std::string_view>>{
           {"name", "team/llama"},
           {"number", "team/llama@12"},
           {"alias", "a/b/c/d@prod-v1.2"},
           {"latest", "model@latest"},
           {"digest",
            "m@sha256:"
            "0123456789abcdefABCDEF0123456789abcdef0123456789abcdef01234567"},
           {"bad_leading_zero", "m@01"},
           {"bad_overflow", "m@18446744073709551616"},
           {"bad_dotdot", "a/../b"},
           {"bad_upper", "Team/x"},
           {"bad_five_segments", "a/b/c/d/e"},
           {"bad_empty_segment", "a//b"},
           {"label", std::string_view("key.name\0value", 14)},
           {"bad_label", std::string_view("k=v\0value", 9)},
       }) {
    Write("reference", name, text);
  }
  Write("bearer", "valid",
        "Bearer mvt_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA");
  Write("bearer", "url_chars",
        "Bearer mvt_-_-_-_-_-_-_-_-_-_-_-_-_-_-_-_-_-_-_-_-_");
  Write("bearer", "short", "Bearer mvt_abc");
  Write("bearer", "lowercase_scheme",
        "bearer mvt_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA");
  Write("bearer", "padding",
        "Bearer mvt_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=");
  Write("bearer", "empty", "");

  // size u64 LE ‖ head
  Write("format_detect", "safetensors", Le64(1000) + Le64(200) + "{");
  Write("format_detect", "safetensors_too_long", Le64(100) + Le64(200) + "{");
  Write("format_detect", "gguf", Le64(1 << 20) + "GGUF\x03\0\0\0\0");
  Write("format_detect", "short_blob", Le64(3) + "abc");
  Write("format_detect", "whole_safetensors", Le64(2) + "{}");

  // mode ‖ index u64 LE ‖ final ‖ expected_len u32 LE ‖ bytes
  std::string header_open =
      std::string(1, '\0') + Le64(0) + std::string(1, '\1') + Le32(16);
  Write("chunk_open", "open_random", header_open + std::string(56, '\x42'));
  Write("chunk_open", "open_short", header_open + std::string(39, '\x42'));
  Write("chunk_open", "open_tag_only", header_open + std::string(40, '\0'));
  std::string header_seal =
      std::string(1, '\1') + Le64(3) + std::string(1, '\0') + Le32(77);
  Write("chunk_open", "seal_roundtrip", header_seal + "plaintext chunk");
  Write("chunk_open", "seal_empty", header_seal);

  // version_id u64 LE ‖ key_version u32 LE ‖ wrapped
  Write("key_unwrap", "dek_sized",
        Le64(17) + Le32(1) + std::string(72, '\x5c'));
  Write("key_unwrap", "short", Le64(17) + Le32(1) + std::string(10, '\0'));
  Write("key_unwrap", "other_version",
        Le64(1) + Le32(2) + std::string(40, '\1'));
}

// Model files from the test builders: a few valid ones of each shape the
// parsers accept, and one per kind of defect they must refuse.
void Safetensors() {
  using mvtesting::PatternBytes;
  using mvtesting::SafetensorsBuilder;
  using mvtesting::SafetensorsFile;
  std::string f32 =
      SafetensorsBuilder().Tensor("w", "F32", {2, 3}, PatternBytes(24)).Build();
  Write("safetensors", "valid_f32", f32);
  Write("safetensors", "valid_mixed",
        SafetensorsBuilder()
            .Tensor("model.layers.0.q_proj.weight", "BF16", {4, 4},
                    PatternBytes(32, 1))
            .Tensor("model.norm.weight", "F16", {4}, PatternBytes(8, 2))
            .Tensor("pos", "I32", {3}, PatternBytes(12, 3))
            .Tensor("mask", "BOOL", {2}, PatternBytes(2, 4))
            .Metadata("format", "pt")
            .Build());
  Write("safetensors", "valid_zero_size_and_scalar",
        SafetensorsBuilder()
            .Tensor("empty", "F32", {0, 3}, "")
            .Tensor("scalar", "F64", {}, PatternBytes(8))
            .Tensor("f4", "F4", {4}, PatternBytes(2))
            .Build());
  Write("safetensors", "valid_empty", SafetensorsFile("{}      ", ""));
  std::string u8 = R"({"dtype":"U8","shape":[4],"data_offsets":)";
  Write("safetensors", "overlap",
        SafetensorsFile("{\"a\":" + u8 + "[0,4]},\"b\":" + u8 + "[2,6]}}",
                        PatternBytes(6)));
  Write("safetensors", "gap",
        SafetensorsFile("{\"a\":" + u8 + "[0,4]},\"b\":" + u8 + "[6,10]}}",
                        PatternBytes(10)));
  Write("safetensors", "duplicate_key",
        SafetensorsFile("{\"a\":" + u8 + "[0,4]},\"a\":" + u8 + "[0,4]}}",
                        PatternBytes(4)));
  Write("safetensors", "reversed_offsets",
        SafetensorsFile("{\"a\":" + u8 + "[4,0]}}", PatternBytes(4)));
  Write("safetensors", "shape_overflow",
        SafetensorsFile(R"({"a":{"dtype":"F32","shape":[4294967296,)"
                        R"(4294967296],"data_offsets":[0,0]}})",
                        ""));
  Write("safetensors", "header_len_2_63",
        mvtesting::Le64(uint64_t{1} << 63) + "{}");
  Write("safetensors", "nul_in_header",
        SafetensorsFile(std::string("{}\0x", 4), ""));
  Write("safetensors", "truncated", f32.substr(0, f32.size() - 3));
}

void Gguf() {
  using mvtesting::GgufBuilder;
  using mvtesting::GgufString;
  using mvtesting::PatternBytes;
  constexpr uint32_t kF32 = 0, kF16 = 1, kQ4_0 = 2, kQ8_0 = 8, kBF16 = 30;
  std::string small =
      GgufBuilder()
          .KvString("general.architecture", "llama")
          .KvU32("llama.block_count", 1)
          .Tensor("blk.0.attn_q.weight", kF32, {4, 2}, PatternBytes(32))
          .Build();
  Write("gguf", "valid_small", small);
  Write("gguf", "valid_quantized",
        GgufBuilder()
            .Alignment(64)
            .KvRaw("tokenizer.ggml.tokens", mvtesting::kGgufArray,
                   mvtesting::Le32(mvtesting::kGgufString) +
                       mvtesting::Le64(2) + GgufString("a") + GgufString("bc"))
            .KvRaw("tokenizer.ggml.scores", mvtesting::kGgufArray,
                   mvtesting::Le32(mvtesting::kGgufF32) + mvtesting::Le64(2) +
                       mvtesting::Le64(0))
            .Tensor("q4", kQ4_0, {32, 2}, PatternBytes(36, 1))
            .Tensor("q8", kQ8_0, {32}, PatternBytes(34, 2))
            .Tensor("f16", kF16, {3}, PatternBytes(6, 3))
            .Tensor("bf16", kBF16, {2, 2}, PatternBytes(8, 4))
            .Build());
  Write("gguf", "valid_v2",
        GgufBuilder().Version(2).Tensor("a", kF32, {1}, "abcd").Build());
  Write("gguf", "nested_arrays",
        GgufBuilder()
            .KvRaw("k", mvtesting::kGgufArray,
                   mvtesting::Le32(mvtesting::kGgufArray) + mvtesting::Le64(1) +
                       mvtesting::Le32(mvtesting::kGgufBool) +
                       mvtesting::Le64(2) + std::string("\x01\x00", 2))
            .Build());
  Write("gguf", "absurd_counts",
        mvtesting::GgufFixedHeader(UINT64_MAX, UINT64_MAX));
  Write("gguf", "unknown_type",
        GgufBuilder().Tensor("t", 31, {32}, PatternBytes(18)).Build());
  Write("gguf", "ndims5",
        GgufBuilder().Tensor("t", kF32, {1, 1, 1, 1, 1}, "abcd").Build());
  Write("gguf", "misaligned",
        GgufBuilder().Tensor("t", kF32, {4}, PatternBytes(16), 16).Build());
  Write("gguf", "overlap",
        GgufBuilder()
            .Tensor("a", kF32, {16}, PatternBytes(64), 0)
            .Tensor("b", kF32, {4}, PatternBytes(16), 32)
            .Build());
  Write("gguf", "truncated", small.substr(0, small.size() - 5));
}

// The seed table itself, and damaged copies of it.
void MarkTables() {
  const std::string table = mv::SerializeMarkTable(mv::fuzz::TraceSeedTable());
  Write("mark_table", "valid", table);
  Write("mark_table", "empty",
        mv::SerializeMarkTable(mv::MarkTable{.file_size = 0}));
  Write("mark_table", "truncated", table.substr(0, table.size() - 7));
  std::string newer = table;
  newer[7] = 2;  // the layout byte after "MVFPTBL"
  Write("mark_table", "layout2", newer);
  Write("mark_table", "trailing", table + "x");
}

// Leaks of the seed table's model: as uploaded, renamed, rows permuted the
// way llama.cpp's converter does, as GGUF, and unrelated.
void LeakReader() {
  using mvtesting::PatternBytes;
  using mvtesting::SafetensorsBuilder;
  const std::string up = PatternBytes(128, 5), q = PatternBytes(64, 6);
  Write("leak_reader", "same_names",
        SafetensorsBuilder()
            .Tensor("model.layers.0.mlp.up_proj.weight", "F32", {8, 4}, up)
            .Tensor("model.layers.0.self_attn.q_proj.weight", "F16", {8, 4}, q)
            .Build());
  Write("leak_reader", "renamed_bf16",
        SafetensorsBuilder()
            .Tensor("h.0.mlp.c_fc", "BF16", {8, 4}, PatternBytes(64, 7))
            .Tensor("h.0.attn.c_q", "F16", {8, 4}, q)
            .Build());
  Write("leak_reader", "transposed",
        SafetensorsBuilder()
            .Tensor("model.layers.0.mlp.up_proj.weight", "F32", {4, 8}, up)
            .Build());
  Write("leak_reader", "gguf",
        mvtesting::GgufBuilder()
            .KvString("general.architecture", "llama")
            .Tensor("blk.0.ffn_up.weight", 0, {4, 8}, up)
            .Tensor("blk.0.attn_q.weight", 1, {4, 8}, q)
            .Build());
  // The down_proj tensor quantized by llama-quantize (dims innermost first).
  std::vector<float> down(512);
  for (size_t i = 0; i < down.size(); ++i)
    down[i] = 0.01f * static_cast<float>(static_cast<int>(i % 37) - 18);
  Write("leak_reader", "gguf_q4_k",
        mvtesting::GgufBuilder()
            .Tensor("blk.0.ffn_down.weight", 12, {256, 2},
                    mvtesting::QuantizeQ4_K(down))
            .Build());
  Write("leak_reader", "gguf_q8_0",
        mvtesting::GgufBuilder()
            .Tensor("blk.0.ffn_down.weight", 8, {256, 2},
                    mvtesting::QuantizeQ8_0(down))
            .Tensor("blk.0.ffn_up.weight", 0, {4, 8}, up)
            .Build());
  // The 16x16 o_proj with its rows reversed (hidden units permuted): only
  // alignment by content against the original reads it.
  const mv::TraceTensor o = mv::fuzz::TraceSeedTable().tensors[3];
  const std::string original = mv::fuzz::TraceSeedOriginal();
  std::string reversed;
  for (uint64_t r = o.shape[0]; r-- > 0;)
    reversed += original.substr(o.offset + r * 64, 64);
  Write("leak_reader", "rows_permuted",
        SafetensorsBuilder()
            .Tensor("model.layers.0.self_attn.o_proj.weight", "F32", {16, 16},
                    reversed)
            .Build());
  Write("leak_reader", "not_a_model", "hello, this is not a model file");
}

// A downloads-index entry: 16 key bytes, then the value.
void Downloads() {
  mv::DownloadRecord r;
  r.serial = 7;
  r.download_id = 0xfedcba9876543210;
  r.principal = "alice";
  r.started_unix_ms = 1'700'000'000'000;
  r.peer = "ipv4:10.0.0.1:5000";
  r.delivery = mv::Delivery::kFingerprinted;
  r.audit_sequence = 42;
  const std::string started =
      mv::DownloadKey(r.serial, r.download_id) + mv::EncodeDownload(r);
  Write("downloads", "started", started);
  r.delivered_sha256 = std::string(32, '\xab');
  const std::string finished =
      mv::DownloadKey(r.serial, r.download_id) + mv::EncodeDownload(r);
  Write("downloads", "finished", finished);
  Write("downloads", "truncated", finished.substr(0, finished.size() - 5));
  Write("downloads", "short_key", finished.substr(0, 9));
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s CORPUS_DIR\n", argv[0]);
    return 2;
  }
  root = argv[1];
  Records();
  RecordCodec();
  Simple();
  Safetensors();
  Gguf();
  MarkTables();
  LeakReader();
  Downloads();
  return 0;
}
