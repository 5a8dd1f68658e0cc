#include "client/cli/output.h"

#include <gtest/gtest.h>

#include "common/bytes.h"
#include "crypto/sha256.h"

namespace mvcli {
namespace {

modelvault::v1::Version SampleVersion() {
  modelvault::v1::Version v;
  v.set_name("acme/llama-3-8b");
  v.set_number(3);
  v.set_size(1536);
  v.set_sha256(std::string(32, '\xab'));
  v.set_format(modelvault::v1::FORMAT_SAFETENSORS);
  (*v.mutable_labels())["team"] = "nlp";
  v.add_aliases("prod");
  v.set_created_by("root");
  v.set_created_at_unix_ms(1714564800123);  // 2024-05-01T12:00:00.123Z
  v.set_chunk_size(1 << 20);
  v.set_cipher_suite("xchacha20poly1305-ietf");
  v.set_key_version(2);
  return v;
}

TEST(OutputTest, VersionJsonHasStableFieldNamesAndTypes) {
  nlohmann::json j = VersionToJson(SampleVersion());
  EXPECT_EQ(j["name"], "acme/llama-3-8b");
  EXPECT_EQ(j["version"], 3);
  EXPECT_EQ(j["ref"], "acme/llama-3-8b@3");
  EXPECT_EQ(j["size"], 1536);
  std::string hex;
  for (int i = 0; i < 32; ++i) hex += "ab";
  EXPECT_EQ(j["sha256"], hex);
  EXPECT_EQ(j["format"], "safetensors");
  EXPECT_EQ(j["labels"], nlohmann::json({{"team", "nlp"}}));
  EXPECT_EQ(j["aliases"], nlohmann::json::array({"prod"}));
  EXPECT_EQ(j["created_by"], "root");
  EXPECT_EQ(j["created_at"], "2024-05-01T12:00:00.123Z");
  EXPECT_EQ(j["chunk_size"], 1048576);
  EXPECT_EQ(j["cipher_suite"], "xchacha20poly1305-ietf");
  EXPECT_EQ(j["key_version"], 2);
  EXPECT_EQ(j["fingerprint"], nlohmann::json({{"markable", false},
                                              {"positions", 0},
                                              {"tensors", 0},
                                              {"unmarked_reason", ""}}));
  EXPECT_EQ(j.size(), 14u);  // a new field must be added here on purpose
}

TEST(OutputTest, EmptyLabelsAndAliasesAreObjectAndArray) {
  modelvault::v1::Version v;
  nlohmann::json j = VersionToJson(v);
  EXPECT_TRUE(j["labels"].is_object());
  EXPECT_TRUE(j["aliases"].is_array());
  EXPECT_EQ(j["format"], "unspecified");
  EXPECT_EQ(j["created_at"], "1970-01-01T00:00:00.000Z");
}

TEST(OutputTest, ListJsonWrapsVersions) {
  nlohmann::json j = VersionsToJson({SampleVersion(), SampleVersion()});
  ASSERT_TRUE(j["versions"].is_array());
  EXPECT_EQ(j["versions"].size(), 2u);
  EXPECT_EQ(VersionsToJson({})["versions"], nlohmann::json::array());
}

TEST(OutputTest, DumpJsonRoundTripsAndEndsWithNewline) {
  std::string text = DumpJson(VersionToJson(SampleVersion()));
  EXPECT_EQ(text.back(), '\n');
  EXPECT_EQ(nlohmann::json::parse(text)["ref"], "acme/llama-3-8b@3");
}

TEST(OutputTest, FormatNames) {
  EXPECT_EQ(FormatName(modelvault::v1::FORMAT_BLOB), "blob");
  EXPECT_EQ(FormatName(modelvault::v1::FORMAT_GGUF), "gguf");
  EXPECT_EQ(FormatName(modelvault::v1::FORMAT_SAFETENSORS), "safetensors");
}

TEST(OutputTest, HumanBytes) {
  EXPECT_EQ(HumanBytes(0), "0 B");
  EXPECT_EQ(HumanBytes(1023), "1023 B");
  EXPECT_EQ(HumanBytes(1536), "1.5 KiB");
  EXPECT_EQ(HumanBytes(uint64_t{3} << 30), "3.0 GiB");
}

TEST(OutputTest, TableHasHeaderAndOneRowPerVersion) {
  std::string table = VersionsTable({SampleVersion()});
  EXPECT_EQ(table.rfind("REF", 0), 0u);
  EXPECT_NE(table.find("acme/llama-3-8b@3"), std::string::npos);
  EXPECT_NE(table.find("team=nlp"), std::string::npos);
  EXPECT_EQ(std::count(table.begin(), table.end(), '\n'), 2);
}

TEST(OutputTest, DetailsShowFullDigest) {
  std::string details = VersionDetails(SampleVersion());
  EXPECT_NE(details.find(mv::ToHex(mv::AsBytes(std::string(32, '\xab')))),
            std::string::npos);
}

TEST(ErrorLineTest, AddsLabelToBareMessage) {
  EXPECT_EQ(ErrorLine(absl::NotFoundError("acme/x@7")),
            "mvault: error: not found: acme/x@7");
  EXPECT_EQ(ErrorLine(absl::PermissionDeniedError("acme/x")),
            "mvault: error: permission denied: acme/x");
}

TEST(ErrorLineTest, DoesNotRepeatALabelTheMessageHas) {
  EXPECT_EQ(ErrorLine(absl::NotFoundError("version acme/x@7 not found")),
            "mvault: error: version acme/x@7 not found");
}

TEST(ErrorLineTest, AlwaysOneLine) {
  EXPECT_EQ(ErrorLine(absl::InternalError("a\nb")), "mvault: error: a b");
  EXPECT_EQ(ErrorLine(absl::Status(absl::StatusCode::kDeadlineExceeded, "")),
            "mvault: error: deadline exceeded");
}

}  // namespace
}  // namespace mvcli

namespace mvcli {
namespace {

TEST(OutputTest, FingerprintLineSaysMarkedOrWhyNot) {
  modelvault::v1::Fingerprint f;
  f.set_markable(true);
  f.set_positions(8192);
  f.set_tensors(3);
  EXPECT_EQ(FingerprintText(f), "marked, 8192 positions in 3 tensors");
  modelvault::v1::Fingerprint blob;
  blob.set_unmarked_reason("stored as a blob");
  EXPECT_EQ(FingerprintText(blob), "unmarked (stored as a blob)");
  modelvault::v1::Version v;
  *v.mutable_fingerprint() = f;
  EXPECT_NE(VersionDetails(v).find(
                "fingerprint:  marked, 8192 positions in 3 tensors\n"),
            std::string::npos);
  nlohmann::json j = VersionToJson(v);
  EXPECT_EQ(j["fingerprint"]["markable"], true);
  EXPECT_EQ(j["fingerprint"]["positions"], 8192);
  EXPECT_EQ(DeliveryName(modelvault::v1::DELIVERY_FINGERPRINTED),
            "fingerprinted");
  EXPECT_EQ(DeliveryName(modelvault::v1::DELIVERY_EXACT), "exact");
}

}  // namespace
}  // namespace mvcli
