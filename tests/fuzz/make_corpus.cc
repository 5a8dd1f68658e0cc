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

#include "common/bytes.h"
#include "storage/record_codec.h"
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
        mv::EncodeToken({"alice", "0123456789abcdef01234567", 1, {"readers"},
                         1'700'000'000'000, 3}));
  Write("records", "token_layout1",
        std::string("\x01", 1) + Le32(4) + "root" + Le32(24) +
            "0123456789abcdef01234567" + Le64(1));
  Write("records", "principal_valid",
        mv::EncodePrincipal({mv::PrincipalKind::kService, {"readers", "writers"},
                             "spiffe://acme/cluster", 1'700'000'000'000}));
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
  return 0;
}
