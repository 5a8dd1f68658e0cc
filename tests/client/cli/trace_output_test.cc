#include "client/cli/trace_output.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "absl/strings/match.h"

namespace mvcli {
namespace {

using testing::HasSubstr;

mvclient::TraceResult Sample() {
  mvclient::TraceResult r;
  nlohmann::json report = {{"verdict", "attributed"},
                           {"artifact", "acme/m@1"},
                           {"matched_by", "tensor names and shapes"},
                           {"mode", "lossless"},
                           {"candidates",
                            {{{"principal", "eve"},
                              {"download_id", "00000000000000ab"},
                              {"z", 64.5},
                              {"p", 0.0},
                              {"log10_p", -412.3},
                              {"time", "2026-11-30T00:00:00.000Z"},
                              {"peer", "ipv4:10.0.0.1:1"},
                              {"verdict", "attributed"}},
                             {{"principal", "bob"},
                              {"download_id", "00000000000000cd"},
                              {"z", 1.25},
                              {"p", 0.5},
                              {"time", "2026-11-30T00:00:01.000Z"},
                              {"peer", "ipv4:10.0.0.2:1"},
                              {"verdict", "none"}}}},
                           {"decoys",
                            {{"count", 10000},
                             {"mean_z", 0.01},
                             {"stddev_z", 1.0},
                             {"max_z", 4.1}}}};
  r.report_json = report.dump();
  r.signature = std::string(64, '\x01');
  r.public_key = std::string(32, '\x02');
  r.verdict = "attributed";
  r.artifact = "acme/m@1";
  return r;
}

// What a verifier does (kSignedDescription): the bytes before the last
// member, then the closing brace.
std::string SignedPart(const std::string& line) {
  const size_t at = line.rfind(",\"signature\":");
  return at == std::string::npos ? "" : line.substr(0, at) + "}";
}

TEST(TraceOutputTest, JsonIsTheReportPlusASignatureObjectOverTheRest) {
  const mvclient::TraceResult r = Sample();
  absl::StatusOr<std::string> text = TraceReportJson(r);
  ASSERT_TRUE(text.ok()) << text.status();
  ASSERT_EQ(text->back(), '\n');
  EXPECT_EQ(text->find('\n'), text->size() - 1) << "one line";
  nlohmann::json j = nlohmann::json::parse(*text);
  const nlohmann::json sig = j["signature"];
  EXPECT_EQ(sig["algorithm"], "ed25519");
  std::string key_hex;
  for (int i = 0; i < 32; ++i) key_hex += "02";
  EXPECT_EQ(sig["public_key"], key_hex);
  EXPECT_EQ(sig["value"].get<std::string>().size(), 128u);
  EXPECT_EQ(sig["signed"], kSignedDescription);
  EXPECT_EQ(SignedPart(*text), r.report_json);  // byte for byte
  j.erase("signature");
  EXPECT_EQ(j, nlohmann::json::parse(r.report_json));
}

TEST(TraceOutputTest, TheSignedBytesAreNeverReserialised) {
  // Numbers as the server wrote them, including one that nlohmann writes
  // with more digits than the shortest (Python writes -1.98246): re-dumping
  // in another library would change the bytes and break the signature.
  mvclient::TraceResult r = Sample();
  r.report_json =
      R"({"candidates":[{"z":-1.9824600000000001}],"verdict":"none"})";
  absl::StatusOr<std::string> text = TraceReportJson(r);
  ASSERT_TRUE(text.ok()) << text.status();
  EXPECT_EQ(SignedPart(*text), r.report_json);
}

TEST(TraceOutputTest, AnEmptyReportGetsTheSignatureAsItsOnlyMember) {
  mvclient::TraceResult r = Sample();
  r.report_json = "{}";
  absl::StatusOr<std::string> text = TraceReportJson(r);
  ASSERT_TRUE(text.ok()) << text.status();
  ASSERT_TRUE(absl::StartsWith(*text, "{\"signature\":")) << *text;
  const nlohmann::json j = nlohmann::json::parse(*text);
  EXPECT_EQ(j.size(), 1u);
  EXPECT_EQ(j["signature"]["signed"], kSignedDescription);
}

TEST(TraceOutputTest, TextShowsVerdictCandidatesAndDecoys) {
  absl::StatusOr<std::string> text = TraceReportText(Sample());
  ASSERT_TRUE(text.ok());
  EXPECT_THAT(*text, HasSubstr("verdict:    attributed\n"));
  EXPECT_THAT(*text, HasSubstr("artifact:   acme/m@1\n"));
  EXPECT_THAT(*text, HasSubstr("matched by: tensor names and shapes\n"));
  EXPECT_THAT(*text, HasSubstr("PRINCIPAL  DOWNLOAD ID"));
  EXPECT_THAT(*text, HasSubstr("eve        00000000000000ab  64.50  <1e-412"));
  EXPECT_THAT(*text, HasSubstr("bob        00000000000000cd  1.25   0.5"));
  EXPECT_THAT(*text,
              HasSubstr("decoys:     10000 never-issued ids, max z 4.10"));
}

TEST(TraceOutputTest, AReportThatIsNotAnObjectIsAnError) {
  mvclient::TraceResult r = Sample();
  r.report_json = "[1,2]";
  EXPECT_EQ(TraceReportJson(r).status().code(), absl::StatusCode::kInternal);
  r.report_json = "not json";
  EXPECT_EQ(TraceReportText(r).status().code(), absl::StatusCode::kInternal);
}

}  // namespace
}  // namespace mvcli
