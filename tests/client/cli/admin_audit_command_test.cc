// `mvault admin audit` pieces that run without a server: time arguments,
// the tail filter, usage errors, the record output, and offline
// verification of an export (which must never contact a server).
#include "client/cli/admin_audit_command.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>

#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "audit/audit_export.h"
#include "audit/checkpoint.h"
#include "client/cli/app.h"
#include "client/cli/audit_output.h"

namespace mvcli {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;
using ::testing::StartsWith;

int RunCli(std::vector<std::string> args) {
  args.insert(args.begin(), "mvault");
  std::vector<char*> argv;
  for (std::string& a : args) argv.push_back(a.data());
  return RunMvault(static_cast<int>(argv.size()), argv.data());
}

const absl::Time kNow = absl::FromUnixSeconds(1'800'000'000);

// ---- times ----

TEST(AuditTimeTest, Rfc3339IsAbsolute) {
  auto ms = ParseAuditTime("2026-11-29T10:00:00Z", kNow);
  ASSERT_TRUE(ms.ok()) << ms.status();
  EXPECT_EQ(*ms, int64_t{1'795'946'400'000});
  ms = ParseAuditTime("2026-11-29T12:00:00.250+02:00", kNow);
  ASSERT_TRUE(ms.ok()) << ms.status();
  EXPECT_EQ(*ms, int64_t{1'795'946'400'250});
}

TEST(AuditTimeTest, DurationsMeanAgo) {
  EXPECT_EQ(ParseAuditTime("15m", kNow).value(),
            absl::ToUnixMillis(kNow - absl::Minutes(15)));
  EXPECT_EQ(ParseAuditTime("2h", kNow).value(),
            absl::ToUnixMillis(kNow - absl::Hours(2)));
  EXPECT_EQ(ParseAuditTime("7d", kNow).value(),
            absl::ToUnixMillis(kNow - absl::Hours(7 * 24)));
}

TEST(AuditTimeTest, AnythingElseIsRefusedWithTheAcceptedForms) {
  for (const char* bad : {"", "yesterday", "15", "-15m", "2026-11-29",
                          "2026-11-29 10:00:00", "10:00"}) {
    auto ms = ParseAuditTime(bad, kNow);
    EXPECT_EQ(ms.status().code(), absl::StatusCode::kInvalidArgument) << bad;
    EXPECT_THAT(std::string(ms.status().message()), HasSubstr("RFC 3339"))
        << bad;
  }
}

TEST(AuditTailQueryTest, CarriesTheFiltersAndTimes) {
  AuditTailOptions options;
  options.principal = "alice";
  options.artifact = "acme/**";
  options.action = "read";
  options.decision = "denied";
  options.since = "1h";
  options.until = "2026-11-29T10:00:00Z";
  auto query = TailQuery(options, kNow);
  ASSERT_FALSE(query.ok());  // since (1h before kNow) is after until
  EXPECT_EQ(ExitCodeFor(query.status()), kExitUsage);

  options.until = "";
  query = TailQuery(options, kNow);
  ASSERT_TRUE(query.ok()) << query.status();
  EXPECT_EQ(query->principal, "alice");
  EXPECT_EQ(query->artifact, "acme/**");
  EXPECT_EQ(query->action, "read");
  EXPECT_EQ(query->decision, "denied");
  EXPECT_EQ(query->since_unix_ms, absl::ToUnixMillis(kNow - absl::Hours(1)));
  EXPECT_EQ(query->until_unix_ms, 0);
}

TEST(AuditTailQueryTest, BadTimesAreUsageErrorsNamingTheFlag) {
  AuditTailOptions options;
  options.until = "soon";
  auto query = TailQuery(options, kNow);
  EXPECT_EQ(ExitCodeFor(query.status()), kExitUsage);
  EXPECT_THAT(std::string(query.status().message()), StartsWith("--until: "));
}

TEST(AuditCliTest, UsageErrorsExitTwoBeforeAnyCall) {
  EXPECT_EQ(RunCli({"admin", "audit"}), 2);
  EXPECT_EQ(RunCli({"admin", "audit", "frob"}), 2);
  EXPECT_EQ(RunCli({"admin", "audit", "tail", "--decision", "maybe"}), 2);
  EXPECT_EQ(RunCli({"admin", "audit", "tail", "-n", "-1"}), 2);
  EXPECT_EQ(RunCli({"admin", "audit", "tail", "-n", "many"}), 2);
  EXPECT_EQ(RunCli({"admin", "audit", "tail", "--since", "yesterday"}), 2);
  EXPECT_EQ(RunCli({"admin", "audit", "export", "--since", "15"}), 2);
  EXPECT_EQ(RunCli({"admin", "audit", "export", "--from-sequence", "x"}), 2);
  EXPECT_EQ(RunCli({"admin", "audit", "verify", "/nonexistent.jsonl"}), 2);
  EXPECT_EQ(RunCli({"admin", "audit", "verify", "--pubkey", "k.pub"}), 2);
  EXPECT_EQ(RunCli({"admin", "audit", "verify", "/nonexistent.jsonl",
                    "--pubkey", "/nonexistent.pub"}),
            2);
}

// ---- output ----

mvclient::AuditEntry Entry() {
  mvclient::AuditEntry e;
  e.sequence = 42;
  e.time_unix_ms = 1'795'946'400'000;
  e.principal = "alice";
  e.token_accessor = "acc";
  e.peer = "ipv4:127.0.0.1:5000";
  e.method = "/modelvault.v1.ArtifactService/Download";
  e.resource = "acme/m@3";
  e.action = "read";
  e.decision = "denied";
  e.status_code = 7;
  e.bytes = 0;
  e.request_id = "req";
  e.download_id = 0xab;
  e.reason = "no rule allows read";
  return e;
}

TEST(AuditOutputTest, JsonHasTheExportFieldNamesMinusTheChain) {
  mv::AuditRecord r;
  r.sequence = 1;
  std::string hash(32, '\1');
  nlohmann::json exported =
      nlohmann::json::parse(mv::RecordToJsonLine(r, mv::GenesisHash(), hash));
  std::set<std::string> want;
  for (const auto& [key, value] : exported.items()) want.insert(key);
  want.erase("prev");
  want.erase("hash");

  std::string line = AuditEntryJsonLine(Entry());
  ASSERT_EQ(line.back(), '\n');
  EXPECT_EQ(line.find('\n'), line.size() - 1);  // one line
  nlohmann::json j = nlohmann::json::parse(line);
  std::set<std::string> got;
  for (const auto& [key, value] : j.items()) got.insert(key);
  EXPECT_EQ(got, want);
  EXPECT_EQ(j["sequence"], 42);
  EXPECT_EQ(j["decision"], "denied");
  EXPECT_EQ(j["download_id"], "00000000000000ab");
  EXPECT_EQ(j["status_code"], 7);
}

TEST(AuditOutputTest, TableRowNamesCodeAndMethodShortly) {
  std::vector<std::string> row = AuditEntryRow(Entry());
  EXPECT_EQ(row,
            (std::vector<std::string>{"2026-11-29T10:00:00.000Z", "42", "alice",
                                      "denied", "PERMISSION_DENIED", "Download",
                                      "acme/m@3", "0", "no rule allows read"}));
  EXPECT_EQ(StatusCodeName(0), "OK");
  EXPECT_EQ(StatusCodeName(99), "CODE_99");
  EXPECT_EQ(MethodShortName("/modelvault.v1.AuditService/Export"), "Export");
}

TEST(AuditOutputTest, PaddedRowsKeepTheirColumns) {
  std::vector<size_t> widths;
  FitWidths({"SEQ", "WHO"}, widths);
  EXPECT_EQ(PaddedRow({"1", "alice"}, widths), "1    alice\n");
  EXPECT_EQ(PaddedRow({"12345", "b"}, widths), "12345  b\n");  // grows
  EXPECT_EQ(PaddedRow({"1", "c"}, widths), "1      c\n");
}

// ---- offline verification ----

class OfflineVerifyTest : public ::testing::Test {
 protected:
  void SetUp() override {
    key_ = std::move(mv::AuditSigningKey::Generate().value());
    dir_ = fs::temp_directory_path() /
           ("mvcli_audit_" + std::to_string(::getpid()));
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  // Records 1..n, a checkpoint after every `every`th.
  std::vector<std::string> Build(uint64_t n, uint64_t every) {
    std::vector<std::string> lines;
    std::string prev = mv::GenesisHash();
    for (uint64_t s = 1; s <= n; ++s) {
      mv::AuditRecord r;
      r.sequence = s;
      r.time_unix_ms = 1'700'000'000'000 + static_cast<int64_t>(s);
      r.principal = "alice";
      r.method = "/modelvault.v1.ArtifactService/Download";
      r.resource = "acme/m@1";
      r.decision = mv::AuditDecision::kAllowed;
      std::string hash = mv::ChainHash(prev, mv::EncodeAuditRecord(r));
      lines.push_back(mv::RecordToJsonLine(r, prev, hash));
      if (s % every == 0) {
        mv::Checkpoint c{s, hash, r.time_unix_ms};
        lines.push_back(mv::CheckpointToJsonLine(c, key_->Sign(c)));
      }
      prev = hash;
    }
    // The signed end a server export carries, made a second later.
    mv::ExportEnd end{1, {n, prev, 1'700'000'001'000 + static_cast<int64_t>(n)}};
    lines.push_back(mv::ExportEndToJsonLine(end, key_->Sign(end)));
    return lines;
  }
  std::string PublicKeyText() {
    return mv::FormatPublicKey(key_->public_key());
  }
  static std::string Text(const std::vector<std::string>& lines) {
    return absl::StrJoin(lines, "\n") + "\n";
  }
  std::string Write(const std::string& name, const std::string& content) {
    std::string path = (dir_ / name).string();
    std::ofstream(path, std::ios::binary) << content;
    return path;
  }

  std::unique_ptr<mv::AuditSigningKey> key_;
  fs::path dir_;
};

TEST_F(OfflineVerifyTest, ValidExportIsOk) {
  OfflineVerdict v = VerifyExportText(Text(Build(6, 3)), PublicKeyText());
  EXPECT_EQ(v.exit_code, kExitOk);
  EXPECT_EQ(v.message,
            "ok: 6 records, 2 checkpoints; sequences 1-6, "
            "2023-11-14T22:13:20.001Z to 2023-11-14T22:13:20.006Z; "
            "exported 2023-11-14T22:13:21.006Z");
}

TEST_F(OfflineVerifyTest, TamperedRecordFailsNamingTheLine) {
  std::vector<std::string> lines = Build(6, 3);
  // Line 2 is record 2; edit its principal.
  size_t at = lines[1].find("\"alice\"");
  ASSERT_NE(at, std::string::npos);
  lines[1].replace(at, 7, "\"alicf\"");
  OfflineVerdict v = VerifyExportText(Text(lines), PublicKeyText());
  EXPECT_EQ(v.exit_code, kExitIntegrity);
  EXPECT_THAT(v.message, StartsWith("line 2 (sequence 2): "));
}

TEST_F(OfflineVerifyTest, DeletedRecordFails) {
  std::vector<std::string> lines = Build(6, 3);
  lines.erase(lines.begin() + 1);
  OfflineVerdict v = VerifyExportText(Text(lines), PublicKeyText());
  EXPECT_EQ(v.exit_code, kExitIntegrity);
  EXPECT_THAT(v.message, StartsWith("line 2 "));
}

TEST_F(OfflineVerifyTest, AnExportWithoutItsSignedEndIsATruncation) {
  std::vector<std::string> lines = Build(6, 3);
  lines.pop_back();  // the signed end: now it ends with a checkpoint
  OfflineVerdict v = VerifyExportText(Text(lines), PublicKeyText());
  EXPECT_EQ(v.exit_code, kExitIntegrity);
  EXPECT_THAT(v.message, HasSubstr("the export has no signed end"));
  lines = Build(6, 3);
  lines.resize(lines.size() - 3);  // cut inside: record 6, its checkpoint, end
  v = VerifyExportText(Text(lines), PublicKeyText());
  EXPECT_EQ(v.exit_code, kExitIntegrity);
  EXPECT_THAT(v.message, HasSubstr("no signed end"));
  lines = Build(6, 3);
  lines.erase(lines.begin());  // cut at the start, the end kept
  v = VerifyExportText(Text(lines), PublicKeyText());
  EXPECT_EQ(v.exit_code, kExitIntegrity);
  EXPECT_THAT(v.message, HasSubstr("records cut from its start or end"));
}

TEST_F(OfflineVerifyTest, WrongKeyOrBadKeyFile) {
  auto other = mv::AuditSigningKey::Generate().value();
  OfflineVerdict v = VerifyExportText(Text(Build(3, 3)),
                                      mv::FormatPublicKey(other->public_key()));
  EXPECT_EQ(v.exit_code, kExitIntegrity);
  EXPECT_THAT(v.message, HasSubstr("signature"));
  v = VerifyExportText(Text(Build(3, 3)), "ssh-ed25519 AAAA");
  EXPECT_EQ(v.exit_code, kExitUsage);
  v = VerifyExportText("", PublicKeyText());
  EXPECT_EQ(v.exit_code, kExitIntegrity);
}

// The whole command, with an address where nothing listens and no token
// anywhere: offline verification must not need either.
TEST_F(OfflineVerifyTest, CommandNeedsNoServerAndNoToken) {
  ::setenv("MODELVAULT_ADDR", "127.0.0.1:1", 1);
  ::unsetenv("MODELVAULT_TOKEN");
  ::setenv("XDG_CONFIG_HOME", (dir_ / "xdg").c_str(), 1);
  std::string pub = Write("vault.pub", PublicKeyText());
  std::string good = Write("good.jsonl", Text(Build(4, 2)));
  std::vector<std::string> lines = Build(4, 2);
  lines[3].replace(lines[3].find("acme/m@1"), 8, "acme/m@2");  // record 3
  std::string bad = Write("bad.jsonl", Text(lines));

  ::testing::internal::CaptureStdout();
  int rc = RunCli({"admin", "audit", "verify", good, "--pubkey", pub});
  EXPECT_EQ(::testing::internal::GetCapturedStdout(),
            "ok: 4 records, 2 checkpoints; sequences 1-4, "
            "2023-11-14T22:13:20.001Z to 2023-11-14T22:13:20.004Z; "
            "exported 2023-11-14T22:13:21.004Z\n");
  EXPECT_EQ(rc, kExitOk);

  ::testing::internal::CaptureStderr();
  rc = RunCli({"admin", "audit", "verify", bad, "--pubkey", pub});
  std::string err = ::testing::internal::GetCapturedStderr();
  EXPECT_EQ(rc, kExitIntegrity);
  EXPECT_THAT(err, HasSubstr("line 4 (sequence 3)"));
  ::unsetenv("MODELVAULT_ADDR");
  ::unsetenv("XDG_CONFIG_HOME");
}

// With --witness, the export must be the history the vault's witness saw;
// an export cut back to an earlier checkpoint lacks its signed end.
TEST_F(OfflineVerifyTest, AWitnessConfirmsTheHistoryAndACutExportFails) {
  const std::vector<std::string> full = Build(6, 2);
  std::string witness;
  for (const std::string& line : full) {
    if (line.find(R"("type":"checkpoint")") != std::string::npos)
      witness += line + "\n";
  }
  const std::vector<std::string> cut(full.begin(), full.begin() + 6);
  OfflineVerdict v = VerifyExportText(Text(cut), PublicKeyText(), witness);
  EXPECT_EQ(v.exit_code, kExitIntegrity);
  EXPECT_THAT(v.message, HasSubstr("no signed end"));
  v = VerifyExportText(Text(full), PublicKeyText(), witness);
  EXPECT_EQ(v.exit_code, kExitOk) << v.message;
  EXPECT_THAT(v.message, HasSubstr("witness: 3 checkpoints agree"));
  // A witness that is not this vault's, or edited, is an integrity failure.
  v = VerifyExportText(Text(full), PublicKeyText(), "not a witness\n");
  EXPECT_EQ(v.exit_code, kExitIntegrity);
  EXPECT_THAT(v.message, HasSubstr("--witness: line 1"));
}

}  // namespace
}  // namespace mvcli
