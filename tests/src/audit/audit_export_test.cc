#include "audit/audit_export.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "audit/witness.h"
#include "testing/status_matchers.h"

namespace mv {
namespace {

using ::mvtesting::IsOk;
using ::mvtesting::StatusIs;
using ::testing::HasSubstr;
using Json = nlohmann::ordered_json;

AuditRecord Record(uint64_t sequence) {
  AuditRecord r;
  r.sequence = sequence;
  r.time_unix_ms = 1700000000000 + static_cast<int64_t>(sequence);
  r.principal = "alice";
  r.token_accessor = "acc" + std::to_string(sequence);
  r.peer = "ipv4:10.0.0.1:5000";
  r.method = "/modelvault.v1.ArtifactService/Download";
  r.resource = "org/model@" + std::to_string(sequence);
  r.action = "read";
  r.decision = sequence % 2 ? AuditDecision::kAllowed : AuditDecision::kDenied;
  r.status_code = sequence % 2 ? 0 : 7;
  r.bytes = sequence * 1000;
  r.request_id = "req-" + std::to_string(sequence);
  r.download_id = sequence % 3 ? 0 : 0xfedcba9876543210;
  r.reason = sequence % 2 ? "" : "no rule allows read";
  return r;
}

// An export of records 1..n with a checkpoint after every `every`th record.
class ExportTest : public ::testing::Test {
 protected:
  void SetUp() override {
    key_ = std::move(AuditSigningKey::Generate().value());
  }

  std::vector<std::string> Build(uint64_t n, uint64_t every) {
    std::vector<std::string> lines;
    std::string prev = GenesisHash();
    for (uint64_t s = 1; s <= n; ++s) {
      const AuditRecord r = Record(s);
      const std::string hash = ChainHash(prev, EncodeAuditRecord(r));
      lines.push_back(RecordToJsonLine(r, prev, hash));
      record_line_[s] = lines.size();
      if (s % every == 0) {
        Checkpoint c{s, hash, 1700000000000 + static_cast<int64_t>(s)};
        lines.push_back(CheckpointToJsonLine(c, key_->Sign(c)));
      }
      prev = hash;
    }
    return lines;
  }
  VerifyResult Verify(const std::vector<std::string>& lines,
                      VerifyOptions options = {}) {
    return VerifyExport(absl::StrJoin(lines, "\n") + "\n", key_->public_key(),
                        options);
  }
  // 1-based line number of record `sequence` in the untampered export.
  size_t LineOf(uint64_t sequence) { return record_line_[sequence]; }

  std::unique_ptr<AuditSigningKey> key_;
  std::map<uint64_t, size_t> record_line_;
};

TEST_F(ExportTest, RecordJsonRoundTripsLosslessly) {
  AuditRecord r = Record(3);
  r.sequence = 0xffffffffffffffff;
  r.time_unix_ms = -1;
  r.bytes = 0xfffffffffffffffe;
  r.download_id = 0xffffffffffffffff;
  static constexpr char kReason[] = "quote\" backslash\\ nul\0 tab\t ü 😀 \x7f";
  r.reason = std::string(kReason, sizeof kReason - 1);
  r.tls_identity = "spiffe://acme/trainer";
  r.status_code = 16;
  r.decision = AuditDecision::kUnauthenticated;
  ASSERT_THAT(IsCanonical(r), IsOk());
  const std::string prev(32, '\x01'), hash(32, '\xfe');
  const std::string line = RecordToJsonLine(r, prev, hash);
  EXPECT_EQ(line.find('\n'), std::string::npos);
  absl::StatusOr<ExportLine> back = ParseExportLine(line);
  ASSERT_THAT(back, IsOk());
  EXPECT_TRUE(back->is_record);
  EXPECT_EQ(back->record, r);
  EXPECT_EQ(back->prev, prev);
  EXPECT_EQ(back->hash, hash);
  EXPECT_EQ(EncodeAuditRecord(back->record), EncodeAuditRecord(r));
}

TEST_F(ExportTest, FieldNamesAreStable) {
  const std::string line =
      RecordToJsonLine(Record(3), GenesisHash(), GenesisHash());
  EXPECT_THAT(
      line,
      HasSubstr(
          R"("type":"record","v":1,"sequence":3,"time_unix_ms":1700000000003,)"
          R"("principal":"alice","token_accessor":"acc3",)"));
  EXPECT_THAT(line,
              HasSubstr(R"("download_id":"fedcba9876543210","reason":"")"));
  Checkpoint c{3, std::string(32, '\0'), 5};
  EXPECT_THAT(
      CheckpointToJsonLine(c, std::string(64, '\0')),
      HasSubstr(R"({"type":"checkpoint","v":1,"sequence":3,"head":"0000)"));
}

TEST_F(ExportTest, CheckpointJsonRoundTrips) {
  Checkpoint c{77, std::string(32, '\x42'), -3};
  const std::string sig = key_->Sign(c);
  absl::StatusOr<ExportLine> back =
      ParseExportLine(CheckpointToJsonLine(c, sig));
  ASSERT_THAT(back, IsOk());
  EXPECT_FALSE(back->is_record);
  EXPECT_EQ(back->checkpoint, c);
  EXPECT_EQ(back->signature, sig);
}

TEST_F(ExportTest, ParseRejectsMalformedLines) {
  const Json good =
      Json::parse(RecordToJsonLine(Record(2), GenesisHash(), GenesisHash()));
  struct Case {
    const char* name;
    std::function<void(Json&)> edit;
    const char* message;
  };
  const std::vector<Case> cases = {
      {"missing field", [](Json& j) { j.erase("peer"); },
       "\"peer\" is missing"},
      {"extra field", [](Json& j) { j["extra"] = 1; }, "unknown fields"},
      {"string as number", [](Json& j) { j["sequence"] = "2"; },
       "\"sequence\" is not"},
      {"negative", [](Json& j) { j["bytes"] = -1; }, "\"bytes\" is not"},
      {"float", [](Json& j) { j["time_unix_ms"] = 1.5; },
       "\"time_unix_ms\" is not"},
      {"number as string", [](Json& j) { j["principal"] = 5; },
       "\"principal\" is not a string"},
      {"bad decision", [](Json& j) { j["decision"] = "ALLOWED"; },
       "\"decision\""},
      {"status code range", [](Json& j) { j["status_code"] = 17; },
       "\"status_code\" is out of range"},
      {"uppercase hex", [](Json& j) { j["hash"] = std::string(64, 'A'); },
       "\"hash\" is not 64"},
      {"short hex", [](Json& j) { j["prev"] = "00"; }, "\"prev\" is not 64"},
      {"download id decimal", [](Json& j) { j["download_id"] = 0; },
       "\"download_id\""},
      {"layout", [](Json& j) { j["v"] = 2; }, "\"v\""},
      {"unknown type", [](Json& j) { j["type"] = "recrd"; },
       "unknown \"type\""},
      {"no type", [](Json& j) { j.erase("type"); }, "no \"type\""},
  };
  for (const Case& c : cases) {
    Json j = good;
    c.edit(j);
    EXPECT_THAT(ParseExportLine(j.dump()),
                StatusIs(absl::StatusCode::kDataLoss, HasSubstr(c.message)))
        << c.name;
  }
  EXPECT_THAT(
      ParseExportLine("not json"),
      StatusIs(absl::StatusCode::kDataLoss, HasSubstr("not a JSON object")));
  EXPECT_THAT(ParseExportLine("[1]"), StatusIs(absl::StatusCode::kDataLoss,
                                               HasSubstr("not a JSON object")));
  EXPECT_THAT(ParseExportLine(""), StatusIs(absl::StatusCode::kDataLoss,
                                            HasSubstr("not a JSON object")));
}

// ---- layout 2 (delivery fields) ----

AuditRecord DeliveredRecord(uint64_t sequence) {
  AuditRecord r = Record(sequence);
  r.download_id = 0x0123456789abcdef + sequence;
  r.delivery = sequence % 3 == 0 ? "exact" : "fingerprinted";
  if (sequence % 2 == 0) r.delivered_sha256 = std::string(64, 'c');
  return r;
}

TEST_F(ExportTest, Layout2RecordJsonRoundTrips) {
  for (uint64_t s : {1, 2, 3, 4}) {
    const AuditRecord r = DeliveredRecord(s);
    const std::string line = RecordToJsonLine(r, GenesisHash(), GenesisHash());
    const Json j = Json::parse(line);
    EXPECT_EQ(j["v"], 2);
    EXPECT_EQ(j["delivery"], r.delivery);
    EXPECT_EQ(j.contains("delivered_sha256"), !r.delivered_sha256.empty());
    absl::StatusOr<ExportLine> back = ParseExportLine(line);
    ASSERT_THAT(back, IsOk()) << line;
    EXPECT_EQ(back->record, r);
    EXPECT_EQ(EncodeAuditRecord(back->record), EncodeAuditRecord(r));
  }
  // A layout-1 record has neither key.
  const Json plain =
      Json::parse(RecordToJsonLine(Record(1), GenesisHash(), GenesisHash()));
  EXPECT_EQ(plain["v"], 1);
  EXPECT_FALSE(plain.contains("delivery"));
  EXPECT_FALSE(plain.contains("delivered_sha256"));
}

TEST_F(ExportTest, Layout2FieldNamesAreStable) {
  EXPECT_THAT(
      RecordToJsonLine(DeliveredRecord(2), GenesisHash(), GenesisHash()),
      HasSubstr(R"("reason":"no rule allows read","delivery":"fingerprinted",)"
                R"("delivered_sha256":"cccc)"));
}

TEST_F(ExportTest, ParseRejectsNonCanonicalLayout2Lines) {
  const Json good = Json::parse(
      RecordToJsonLine(DeliveredRecord(2), GenesisHash(), GenesisHash()));
  struct Case {
    const char* name;
    std::function<void(Json&)> edit;
    const char* message;
  };
  const std::vector<Case> cases = {
      {"v 1 with delivery", [](Json& j) { j["v"] = 1; },
       "\"v\" is 1 but the record is layout 2"},
      {"v 2 without delivery",
       [](Json& j) {
         j.erase("delivery");
         j.erase("delivered_sha256");
       },
       "\"v\" is 2 but the record is layout 1"},
      {"empty delivery", [](Json& j) { j["delivery"] = ""; },
       "\"delivery\" is empty"},
      {"unknown delivery", [](Json& j) { j["delivery"] = "marked"; },
       "delivery is not of its form"},
      {"uppercase digest",
       [](Json& j) { j["delivered_sha256"] = std::string(64, 'C'); },
       "delivered_sha256 is not of its form"},
      {"digest as number", [](Json& j) { j["delivered_sha256"] = 5; },
       "\"delivered_sha256\" is not a string"},
      {"v 3", [](Json& j) { j["v"] = 3; }, "\"v\" is out of range"},
      {"extra field", [](Json& j) { j["extra"] = 1; }, "unknown fields"},
  };
  for (const Case& c : cases) {
    Json j = good;
    c.edit(j);
    EXPECT_THAT(ParseExportLine(j.dump()),
                StatusIs(absl::StatusCode::kDataLoss, HasSubstr(c.message)))
        << c.name;
  }
}

TEST_F(ExportTest, AChainOfMixedLayoutsVerifiesAndEditsAreNamed) {
  std::vector<std::string> lines;
  std::vector<AuditRecord> records;
  std::string prev = GenesisHash();
  for (uint64_t s = 1; s <= 9; ++s) {
    const AuditRecord r = s % 2 ? Record(s) : DeliveredRecord(s);
    const std::string hash = ChainHash(prev, EncodeAuditRecord(r));
    lines.push_back(RecordToJsonLine(r, prev, hash));
    records.push_back(r);
    if (s % 3 == 0) {
      Checkpoint c{s, hash, 1700000000000 + static_cast<int64_t>(s)};
      lines.push_back(CheckpointToJsonLine(c, key_->Sign(c)));
    }
    prev = hash;
  }
  const VerifyResult ok =
      Verify(lines, {.from_genesis = true, .require_signed_tail = true});
  EXPECT_TRUE(ok.ok) << ok.Summary();
  EXPECT_EQ(ok.records, 9u);
  // Editing a layout-2 record's digest (line 5 holds sequence 4) is named.
  Json j = Json::parse(lines[4]);
  ASSERT_EQ(j["sequence"], 4);
  j["delivered_sha256"] = std::string(64, 'd');
  lines[4] = j.dump();
  const VerifyResult bad = Verify(lines);
  EXPECT_FALSE(bad.ok);
  EXPECT_EQ(bad.bad_sequence, 4u);
  EXPECT_THAT(bad.reason, HasSubstr("a field was edited"));
  // So is dropping the delivery fields (turning it into a layout-1 line).
  j.erase("delivery");
  j.erase("delivered_sha256");
  j["v"] = 1;
  lines[4] = j.dump();
  EXPECT_EQ(Verify(lines).bad_sequence, 4u);
}

TEST_F(ExportTest, IntactExportVerifies) {
  const VerifyResult r = Verify(Build(10, 4), {.from_genesis = true});
  EXPECT_TRUE(r.ok) << r.Summary();
  EXPECT_EQ(r.records, 10u);
  EXPECT_EQ(r.checkpoints, 2u);
  EXPECT_EQ(r.unsigned_tail, 2u);
  EXPECT_EQ(r.Summary(),
            "ok: 10 records, 2 checkpoints (2 records after the last "
            "checkpoint are not yet signed); sequences 1-10, "
            "2023-11-14T22:13:20.001Z to 2023-11-14T22:13:20.010Z");
}

TEST_F(ExportTest, FullySignedExportSaysSoPlainly) {
  const VerifyResult r = Verify(Build(8, 4));
  EXPECT_EQ(r.Summary(),
            "ok: 8 records, 2 checkpoints; sequences 1-8, "
            "2023-11-14T22:13:20.001Z to 2023-11-14T22:13:20.008Z");
  EXPECT_EQ(r.first_sequence, 1u);
  EXPECT_EQ(r.last_sequence, 8u);
}

// ---- with the vault's witness (audit/witness.h) ----

// The witness of an export: its checkpoint lines, as the vault appended them.
std::string WitnessOf(const std::vector<std::string>& lines) {
  std::string witness;
  for (const std::string& line : lines) {
    if (line.find(R"("type":"checkpoint")") != std::string::npos)
      witness += line + "\n";
  }
  return witness;
}

TEST_F(ExportTest, AWitnessConfirmsACompleteExport) {
  const std::vector<std::string> lines = Build(12, 4);
  auto witness = ParseWitness(WitnessOf(lines), key_->public_key());
  ASSERT_THAT(witness, IsOk());
  ASSERT_EQ(witness->size(), 3u);
  const VerifyResult r = Verify(lines, {.witness = &*witness});
  EXPECT_TRUE(r.ok) << r.Summary();
  EXPECT_EQ(r.witness_checkpoints, 3u);
  EXPECT_THAT(r.Summary(), HasSubstr("; witness: 3 checkpoints agree"));
}

// The signed end of an export (checkpoint.h ExportEnd) of `lines`.
std::string EndOf(const std::vector<std::string>& lines, uint64_t from,
                  const AuditSigningKey& key) {
  ExportLine last;
  for (const std::string& line : lines) {
    absl::StatusOr<ExportLine> parsed = ParseExportLine(line);
    if (parsed.ok() && parsed->is_record) last = *parsed;
  }
  ExportEnd end{from, {last.record.sequence, last.hash, 1700000009000}};
  return ExportEndToJsonLine(end, key.Sign(end));
}

TEST_F(ExportTest, TheSignedEndRulesOutACutAtEitherEnd) {
  const std::vector<std::string> full = Build(12, 4);
  std::vector<std::string> ended = full;
  ended.push_back(EndOf(full, 1, *key_));
  const VerifyResult ok = Verify(ended, {.require_export_end = true});
  EXPECT_TRUE(ok.ok) << ok.Summary();
  EXPECT_EQ(ok.unsigned_tail, 0u);
  EXPECT_THAT(ok.Summary(), HasSubstr("; exported 2023-11-14T22:13:29.000Z"));
  // Cut after the second checkpoint: signed and whole on its own, but
  // without the end a server export always has.
  std::vector<std::string> cut(full.begin(), full.begin() + LineOf(8) + 1);
  EXPECT_TRUE(Verify(cut, {.require_signed_tail = true}).ok);
  VerifyResult r = Verify(cut, {.require_export_end = true});
  EXPECT_FALSE(r.ok);
  EXPECT_THAT(r.Summary(), HasSubstr("the export has no signed end"));
  // Cut at the start, the end kept: the end names records 1-12.
  std::vector<std::string> headless(ended.begin() + LineOf(5) - 1,
                                    ended.end());
  r = Verify(headless);
  EXPECT_FALSE(r.ok);
  EXPECT_THAT(r.reason, HasSubstr("the signed end names records 1-12 but the "
                                  "export holds 5-12"));
  // Nothing may follow the end; the end's signature is checked.
  std::vector<std::string> trailing = ended;
  trailing.push_back(full.back());
  EXPECT_THAT(Verify(trailing).reason, HasSubstr("follows the export's signed end"));
  std::vector<std::string> forged = full;
  forged.push_back(EndOf(full, 1, **AuditSigningKey::Generate()));
  EXPECT_THAT(Verify(forged).reason, HasSubstr("bad export end signature"));
  // A witness that goes on past the export says so.
  auto witness = ParseWitness(WitnessOf(full), key_->public_key());
  ASSERT_THAT(witness, IsOk());
  std::vector<std::string> early(full.begin(), full.begin() + LineOf(8) + 1);
  early.push_back(EndOf(early, 1, *key_));
  r = Verify(early, {.require_export_end = true, .witness = &*witness});
  EXPECT_TRUE(r.ok) << r.Summary();
  EXPECT_EQ(r.witness_checkpoints, 2u);
  EXPECT_THAT(r.Summary(), HasSubstr("the witness goes on to sequence 12"));
}

TEST_F(ExportTest, AWitnessOfAnotherHistoryDisagrees) {
  std::vector<std::string> lines = Build(8, 4);
  // Another history: the same sequences, re-signed over other records.
  std::string prev = GenesisHash();
  std::string other;
  for (uint64_t seq = 1; seq <= 8; ++seq) {
    AuditRecord r = Record(seq);
    r.principal = "mallory";
    prev = ChainHash(prev, EncodeAuditRecord(r));
    if (seq % 4 == 0) {
      Checkpoint c{seq, prev, 1700000000000};
      other += CheckpointToJsonLine(c, key_->Sign(c)) + "\n";
    }
  }
  auto witness = ParseWitness(other, key_->public_key());
  ASSERT_THAT(witness, IsOk());
  const VerifyResult r = Verify(lines, {.witness = &*witness});
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.bad_sequence, 4u);
  EXPECT_THAT(r.reason, HasSubstr("disagrees with the witness"));
}

TEST_F(ExportTest, AWitnessLineThatIsNotASignedIncreasingCheckpointIsRefused) {
  const std::string witness = WitnessOf(Build(12, 4));
  const size_t second = witness.find('\n') + 1;
  // A record line, a line signed by another key, lines out of order.
  EXPECT_THAT(ParseWitness(Build(1, 1)[0] + "\n", key_->public_key()),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       HasSubstr("line 1 is not a checkpoint signed")));
  auto other = AuditSigningKey::Generate();
  ASSERT_THAT(other, IsOk());
  EXPECT_THAT(ParseWitness(witness, (*other)->public_key()),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       HasSubstr("line 1 is not a checkpoint signed")));
  const std::string swapped =
      witness.substr(second, witness.find('\n', second) + 1 - second) +
      witness.substr(0, second);
  EXPECT_THAT(ParseWitness(swapped, key_->public_key()),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       HasSubstr("line 2: sequence 4 does not increase")));
  // A torn last line (a crash mid-append) is not part of the witness.
  auto torn = ParseWitness(witness + R"({"type":"checkp)", key_->public_key());
  ASSERT_THAT(torn, IsOk());
  EXPECT_EQ(torn->size(), 3u);
}

TEST_F(ExportTest, ExportMayStartMidChain) {
  std::vector<std::string> lines = Build(10, 4);
  lines.erase(lines.begin(), lines.begin() + (LineOf(3) - 1));
  const VerifyResult r = Verify(lines);
  EXPECT_TRUE(r.ok) << r.Summary();
  EXPECT_EQ(r.records, 8u);
  EXPECT_FALSE(Verify(lines, {.from_genesis = true}).ok);
}

TEST_F(ExportTest, EditingAnyRecordFieldNamesThatRecord) {
  const std::vector<std::string> lines = Build(10, 4);
  const Json original = Json::parse(lines[LineOf(3) - 1]);
  for (auto it = original.begin(); it != original.end(); ++it) {
    Json j = original;
    Json& v = j[it.key()];
    if (v.is_string()) {
      std::string s = v.get<std::string>();
      // Keep hex fields hex so the chain check, not the parser, catches it.
      if (!s.empty() && std::isxdigit(static_cast<unsigned char>(s[0])) &&
          s.size() >= 16) {
        s[0] = s[0] == '0' ? '1' : '0';
      } else {
        s += "x";
      }
      v = s;
    } else {
      v = v.get<uint64_t>() + 1;
    }
    std::vector<std::string> tampered = lines;
    tampered[LineOf(3) - 1] = j.dump();
    const VerifyResult r = Verify(tampered);
    EXPECT_FALSE(r.ok) << it.key();
    EXPECT_EQ(r.bad_line, LineOf(3)) << it.key() << ": " << r.Summary();
  }
}

TEST_F(ExportTest, EditedRecordSaysFieldEdited) {
  std::vector<std::string> lines = Build(10, 4);
  Json j = Json::parse(lines[LineOf(6) - 1]);
  j["bytes"] = 1;
  lines[LineOf(6) - 1] = j.dump();
  const VerifyResult r = Verify(lines);
  EXPECT_EQ(r.bad_sequence, 6u);
  EXPECT_THAT(r.Summary(), HasSubstr("a field was edited"));
}

TEST_F(ExportTest, DeletedRecordIsNamed) {
  std::vector<std::string> lines = Build(10, 4);
  lines.erase(lines.begin() + (LineOf(5) - 1));
  const VerifyResult r = Verify(lines);
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.bad_line, LineOf(5));  // where record 5 should have been
  EXPECT_THAT(r.reason, HasSubstr("expected sequence 5"));
}

TEST_F(ExportTest, SwappedRecordsAreNamed) {
  std::vector<std::string> lines = Build(10, 4);
  std::swap(lines[LineOf(6) - 1], lines[LineOf(7) - 1]);
  const VerifyResult r = Verify(lines);
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.bad_line, LineOf(6));
  EXPECT_THAT(r.reason, HasSubstr("expected sequence 6"));
}

TEST_F(ExportTest, InsertedRecordIsNamed) {
  std::vector<std::string> lines = Build(10, 4);
  // A well-formed record claiming sequence 6 that chains from record 5.
  const ExportLine five = ParseExportLine(lines[LineOf(5) - 1]).value();
  AuditRecord fake = Record(6);
  fake.principal = "mallory";
  lines.insert(lines.begin() + LineOf(6) - 1,
               RecordToJsonLine(fake, five.hash,
                                ChainHash(five.hash, EncodeAuditRecord(fake))));
  const VerifyResult r = Verify(lines);
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.bad_line, LineOf(6) + 1);  // the real record 6 no longer follows
}

TEST_F(ExportTest, RehashedChainFailsAtTheNextCheckpoint) {
  std::vector<std::string> lines = Build(10, 4);
  // Edit record 2 and recompute every later hash, as one without the
  // signing key could.
  std::string prev = GenesisHash();
  for (size_t i = 0; i < lines.size(); ++i) {
    ExportLine l = ParseExportLine(lines[i]).value();
    if (!l.is_record) continue;
    if (l.record.sequence == 2) l.record.principal = "mallory";
    const std::string hash = ChainHash(prev, EncodeAuditRecord(l.record));
    lines[i] = RecordToJsonLine(l.record, prev, hash);
    prev = hash;
  }
  const VerifyResult r = Verify(lines);
  EXPECT_FALSE(r.ok);
  // The checkpoint after record 4 fails; record 1, the first it no longer
  // vouches for, is named.
  EXPECT_EQ(r.bad_line, LineOf(1));
  EXPECT_EQ(r.bad_sequence, 1u);
  EXPECT_THAT(r.reason, HasSubstr("checkpoint head does not match"));
  EXPECT_THAT(r.reason, HasSubstr("sequence 1 to 4"));
}

TEST_F(ExportTest, RehashAfterAGoodCheckpointNamesTheRecordAfterIt) {
  std::vector<std::string> lines = Build(10, 4);
  std::string prev = GenesisHash();
  for (size_t i = 0; i < lines.size(); ++i) {
    ExportLine l = ParseExportLine(lines[i]).value();
    if (!l.is_record) continue;
    if (l.record.sequence == 6) l.record.bytes = 1;
    const std::string hash = ChainHash(prev, EncodeAuditRecord(l.record));
    lines[i] = RecordToJsonLine(l.record, prev, hash);
    prev = hash;
  }
  const VerifyResult r = Verify(lines);
  EXPECT_EQ(r.bad_sequence, 5u);  // checkpoint 4 still verifies
  EXPECT_EQ(r.bad_line, LineOf(5));
}

TEST_F(ExportTest,
       TruncationPastTheLastCheckpointFailsWhenASignedTailIsRequired) {
  std::vector<std::string> lines = Build(10, 4);
  lines.resize(LineOf(9));  // records 1..9, checkpoints 4 and 8
  VerifyOptions options;
  options.require_signed_tail = true;
  const VerifyResult r =
      VerifyExport(absl::StrJoin(lines, "\n"), key_->public_key(), options);
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.bad_sequence, 9u);
  EXPECT_EQ(r.bad_line, LineOf(9));
  EXPECT_THAT(r.reason, HasSubstr("truncated"));
}

TEST_F(ExportTest, ForgedCheckpointIsNamed) {
  std::vector<std::string> lines = Build(10, 4);
  Json j = Json::parse(lines[LineOf(8)]);  // checkpoint after record 8
  std::string sig = j["signature"];
  sig[0] = sig[0] == '0' ? '1' : '0';
  j["signature"] = sig;
  lines[LineOf(8)] = j.dump();
  const VerifyResult r = Verify(lines);
  EXPECT_EQ(r.bad_line, LineOf(8) + 1);
  EXPECT_EQ(r.bad_sequence, 8u);
  EXPECT_THAT(r.reason, HasSubstr("bad checkpoint signature"));
}

TEST_F(ExportTest, CheckpointSignedByAnotherKeyIsRejected) {
  std::vector<std::string> lines = Build(10, 4);
  auto other = AuditSigningKey::Generate().value();
  const ExportLine cp = ParseExportLine(lines[LineOf(4)]).value();
  lines[LineOf(4)] =
      CheckpointToJsonLine(cp.checkpoint, other->Sign(cp.checkpoint));
  EXPECT_THAT(Verify(lines).reason, HasSubstr("bad checkpoint signature"));
}

TEST_F(ExportTest, WrongPublicKeyFailsAtTheFirstCheckpoint) {
  const std::vector<std::string> lines = Build(10, 4);
  auto other = AuditSigningKey::Generate().value();
  const VerifyResult r =
      VerifyExport(absl::StrJoin(lines, "\n"), other->public_key());
  EXPECT_EQ(r.bad_line, LineOf(4) + 1);
  EXPECT_THAT(r.reason, HasSubstr("bad checkpoint signature"));
}

TEST_F(ExportTest, CheckpointWithoutItsRecordsIsRejected) {
  std::vector<std::string> lines = Build(10, 4);
  // Drop records 7 and 8 but keep the checkpoint of 8.
  lines.erase(lines.begin() + (LineOf(7) - 1), lines.begin() + LineOf(8));
  const VerifyResult r = Verify(lines);
  EXPECT_FALSE(r.ok);
  EXPECT_THAT(r.reason, HasSubstr("not in the export"));
}

TEST_F(ExportTest, TruncationAfterTheLastCheckpointIsReportedNotFailed) {
  std::vector<std::string> lines = Build(10, 4);
  lines.resize(LineOf(9));  // records 1..9, checkpoints 4 and 8
  const VerifyResult r = Verify(lines);
  EXPECT_TRUE(r.ok);
  EXPECT_EQ(r.unsigned_tail, 1u);
  EXPECT_THAT(r.Summary(), HasSubstr("not yet signed"));
}

TEST_F(ExportTest, TruncatedLineIsMalformed) {
  std::vector<std::string> lines = Build(10, 4);
  lines.back().resize(lines.back().size() / 2);
  const VerifyResult r = Verify(lines);
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.bad_line, lines.size());
  EXPECT_THAT(r.reason, HasSubstr("malformed line"));
}

TEST_F(ExportTest, EmptyExportOrBadKeyFails) {
  EXPECT_THAT(VerifyExport("", key_->public_key()).reason, HasSubstr("empty"));
  EXPECT_THAT(VerifyExport("\n", key_->public_key()).reason,
              HasSubstr("empty"));
  EXPECT_THAT(VerifyExport(absl::StrJoin(Build(2, 4), "\n"), "short").reason,
              HasSubstr("32 bytes"));
  std::vector<std::string> only_checkpoint = Build(4, 4);
  only_checkpoint.erase(only_checkpoint.begin(), only_checkpoint.begin() + 4);
  EXPECT_FALSE(Verify(only_checkpoint).ok);
}

TEST_F(ExportTest, BlankLineInTheMiddleIsMalformed) {
  std::vector<std::string> lines = Build(4, 4);
  lines.insert(lines.begin() + 2, "");
  const VerifyResult r = Verify(lines);
  EXPECT_EQ(r.bad_line, 3u);
}

}  // namespace
}  // namespace mv
