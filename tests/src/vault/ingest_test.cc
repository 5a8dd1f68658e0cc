// Upload ingest for leak tracing (LEAK_TRACING.md, "Ingest"): strict
// parsing of model files from the streamed prefix, the mark table built
// while the upload streams (or read back when the size is unknown), its
// sealed storage, FingerprintSummary, deletion and verification.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <random>
#include <string>
#include <vector>

#include "common/bytes.h"
#include "common/status_macros.h"
#include "crypto/key_ring.h"
#include "crypto/sha256.h"
#include "src/formats/format_builders.h"
#include "src/trace/trace_test_models.h"
#include "testing/status_matchers.h"
#include "testing/test_bytes.h"
#include "testing/vault_fixture.h"
#include "vault/catalog.h"
#include "vault/mark_store.h"
#include "vault/records.h"

namespace mvtesting {
namespace {

using ::testing::AllOf;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::SizeIs;

std::string Digest(std::string_view data) {
  mv::Sha256Digest d = mv::Sha256::Of(data);
  return std::string(mv::AsChars(d));
}

void AddGaussian(SafetensorsBuilder& b, const std::string& name,
                 const std::string& dtype, std::vector<uint64_t> shape,
                 uint64_t seed) {
  uint64_t n = 1;
  for (uint64_t d : shape) n *= d;
  b.Tensor(name, dtype, shape, Encode(Gaussian(n, 0.02f, seed), TypeOf(dtype)));
}

// F32 + F16 + BF16 eligible tensors, plus an excluded name, a tiny tensor
// and an I32 tensor.
std::string SmallModel(uint64_t seed = 1) {
  SafetensorsBuilder b;
  AddGaussian(b, "model.layers.0.mlp.up_proj.weight", "F32", {256, 256}, seed);
  AddGaussian(b, "model.layers.0.mlp.down_proj.weight", "F16", {256, 256},
              seed + 1);
  AddGaussian(b, "model.layers.0.self_attn.o_proj.weight", "BF16", {256, 256},
              seed + 2);
  AddGaussian(b, "model.norm.weight", "F32", {256, 256}, seed + 3);
  AddGaussian(b, "tiny.weight", "F32", {16, 16}, seed + 4);
  b.Tensor("position_ids", "I32", {64}, PatternBytes(256, 3));
  return b.Build();
}

// The same as GGUF (F32/F16 tensors only, llama.cpp-style names).
std::string SmallGguf() {
  SafetensorsBuilder b;
  AddGaussian(b, "a", "F32", {256, 256}, 7);
  AddGaussian(b, "b", "F16", {512, 256}, 8);
  AddGaussian(b, "c", "F32", {8, 8}, 9);
  return ToGguf(b.Build());
}

class IngestTest : public VaultTest {
 protected:
  // Uploads with the size declared (or not) through Append calls of
  // `piece` bytes.
  absl::StatusOr<mv::VersionInfo> Push(
      const std::string& name, const std::string& data, bool declare_size,
      size_t piece, mv::UploadSpec::As as = mv::UploadSpec::As::kDetect) {
    mv::UploadSpec spec;
    spec.name = name;
    spec.expected_size = declare_size ? data.size() : 0;
    spec.store_as = as;
    return Upload(spec, data, {piece});
  }

  // With the vault closed: the version's stored, unsealed mark table.
  absl::StatusOr<mv::MarkTable> StoredTable(const mv::VersionInfo& info) {
    absl::StatusOr<mv::MarkTable> table = absl::UnknownError("not read");
    std::unique_ptr<mv::KeyStore> keys = OpenKeyStore();
    EXPECT_THAT(
        EditRaw([&](mv::LmdbEnv& env, mv::WriteTxn& txn) -> absl::Status {
          const mv::Dbs dbs = mv::Dbs::Of(env);
          auto raw =
              txn.Get(dbs.versions, mv::VersionKey(info.name, info.number));
          if (!raw.ok()) return raw.status();
          if (!*raw) return absl::NotFoundError("no version record");
          auto record = mv::DecodeVersion(**raw);
          if (!record.ok()) return record.status();
          table = mv::LoadMarkTable(txn, dbs, *keys, *record);
          return absl::OkStatus();
        }),
        IsOk());
    return table;
  }

  // With the vault closed: the version's MVFP-1 keys under the stored K_fp.
  absl::StatusOr<mv::TraceKeys> VersionKeys(uint64_t serial) {
    absl::StatusOr<mv::TraceKeys> keys = absl::UnknownError("not read");
    const std::shared_ptr<const mv::KeyRing> ring = OpenKeyStore()->ring();
    EXPECT_THAT(
        EditRaw([&](mv::LmdbEnv& env, mv::WriteTxn& txn) -> absl::Status {
          auto wrapped = txn.Get(env.Db("meta"), "fingerprint_key");
          if (!wrapped.ok()) return wrapped.status();
          if (!*wrapped) return absl::NotFoundError("no fingerprint_key");
          auto kfp = ring->UnwrapNamedKey("fingerprint_key", **wrapped);
          if (!kfp.ok()) return kfp.status();
          keys = mv::TraceKeys::Derive(*kfp, serial);
          return absl::OkStatus();
        }),
        IsOk());
    return keys;
  }

  // The table MarkPlanner builds over `file` in memory, as the vault plans.
  absl::StatusOr<mv::MarkTable> InMemoryPlan(uint64_t serial,
                                             const std::string& file) {
    absl::StatusOr<mv::TraceKeys> keys = VersionKeys(serial);
    if (!keys.ok()) return keys.status();
    mv::PlanOptions options;
    options.storage_chunk_size = kChunk;
    return PlanInPieces(*keys, file, file.size(), options);
  }

  // Nothing of a refused upload is left: no version, no pending record, no
  // chunk, no table, and Verify is clean.
  void ExpectNothingStored(const std::string& name) {
    EXPECT_THAT(vault_->catalog().GetVersion(name),
                StatusIs(absl::StatusCode::kNotFound, testing::_));
    CloseVault();
    EXPECT_THAT(DumpRaw("pending"), IsEmpty());
    EXPECT_THAT(StoredChunks(), IsEmpty());
    EXPECT_THAT(DumpRaw("marks"), IsEmpty());
    Reopen();
    absl::StatusOr<mv::VerifyReport> report = vault_->Verify();
    ASSERT_THAT(report, IsOk());
    EXPECT_THAT(report->problems, IsEmpty());
  }
};

TEST_F(IngestTest, ASafetensorsModelIsMarkedAndItsSummarySurvivesReopen) {
  const std::string file = SmallModel();
  absl::StatusOr<mv::VersionInfo> info = Push("m/st", file, true, 10'000);
  ASSERT_THAT(info, IsOk());
  EXPECT_EQ(info->format, mv::Format::kSafetensors);
  EXPECT_NE(info->serial, 0u);
  EXPECT_TRUE(info->fingerprint.markable());
  EXPECT_EQ(info->fingerprint.tardos_positions, 8192u);
  EXPECT_EQ(info->fingerprint.reference_positions, 4096u);
  EXPECT_EQ(info->fingerprint.tensors, 3u);
  EXPECT_EQ(info->fingerprint.unmarked_reason, "");
  Reopen();
  absl::StatusOr<mv::VersionInfo> again =
      vault_->catalog().GetVersion("m/st@1");
  ASSERT_THAT(again, IsOk());
  EXPECT_EQ(again->fingerprint, info->fingerprint);
  EXPECT_EQ(again->serial, info->serial);
  EXPECT_EQ(Fetch("m/st@1").bytes, file) << "stored bytes are the original";
  CloseVault();
  absl::StatusOr<mv::MarkTable> table = StoredTable(*info);
  ASSERT_THAT(table, IsOk());
  EXPECT_EQ(table->file_size, file.size());
  EXPECT_EQ(table->CountChannel(mv::MarkChannel::kTardos), 8192u);
  std::vector<std::string> names;
  for (const mv::TraceTensor& t : table->tensors) names.push_back(t.name);
  EXPECT_THAT(names, ElementsAre("model.layers.0.mlp.down_proj.weight",
                                 "model.layers.0.mlp.up_proj.weight",
                                 "model.layers.0.self_attn.o_proj.weight"));
  for (const mv::MarkEntry& e : table->entries) {
    EXPECT_EQ(e.file_offset / kChunk,
              (e.file_offset + mv::ElementBytes(e.dtype) - 1) / kChunk)
        << "no position straddles a storage chunk";
  }
  absl::StatusOr<mv::MarkTable> expected = InMemoryPlan(info->serial, file);
  ASSERT_THAT(expected, IsOk());
  EXPECT_TRUE(*table == *expected);
}

TEST_F(IngestTest, AGgufModelIsMarked) {
  const std::string file = SmallGguf();
  absl::StatusOr<mv::VersionInfo> info = Push("m/gguf", file, true, 3000);
  ASSERT_THAT(info, IsOk());
  EXPECT_EQ(info->format, mv::Format::kGguf);
  EXPECT_EQ(info->fingerprint.tardos_positions, 8192u);
  EXPECT_EQ(info->fingerprint.tensors, 2u);
  CloseVault();
  absl::StatusOr<mv::MarkTable> table = StoredTable(*info);
  ASSERT_THAT(table, IsOk());
  absl::StatusOr<mv::MarkTable> expected = InMemoryPlan(info->serial, file);
  ASSERT_THAT(expected, IsOk());
  EXPECT_TRUE(*table == *expected);
}

TEST_F(IngestTest,
       TheUploadTableEqualsTheInMemoryPlanForAnyPiecesAndSizeKnowledge) {
  const std::string st = SmallModel(5);
  const std::string gguf = SmallGguf();
  struct Case {
    const std::string* file;
    bool declare;
    size_t piece;
  };
  std::vector<Case> cases;
  for (const std::string* f : {&st, &gguf}) {
    for (bool declare : {true, false}) {
      for (size_t piece : {size_t{777}, size_t{kChunk}, size_t{kChunk + 1},
                           size_t{1} << 16, f->size()}) {
        cases.push_back({f, declare, piece});
      }
    }
  }
  std::vector<mv::VersionInfo> infos;
  for (const Case& c : cases) {
    absl::StatusOr<mv::VersionInfo> info =
        Push("m/pieces", *c.file, c.declare, c.piece);
    ASSERT_THAT(info, IsOk()) << c.piece;
    EXPECT_EQ(info->fingerprint.tardos_positions, 8192u);
    infos.push_back(*info);
  }
  CloseVault();
  for (size_t i = 0; i < cases.size(); ++i) {
    absl::StatusOr<mv::MarkTable> table = StoredTable(infos[i]);
    absl::StatusOr<mv::MarkTable> expected =
        InMemoryPlan(infos[i].serial, *cases[i].file);
    ASSERT_THAT(table, IsOk());
    ASSERT_THAT(expected, IsOk());
    EXPECT_TRUE(*table == *expected)
        << "case " << i << " piece " << cases[i].piece << " declared "
        << cases[i].declare;
  }
}

TEST_F(IngestTest, WholeChunksMovedInAreFedToThePlannerToo) {
  const std::string file = SmallModel(6);
  mv::UploadSpec spec{"m/owned", {}, {}, file.size()};
  auto writer = vault_->catalog().BeginUpload(spec, root_);
  ASSERT_THAT(writer, IsOk());
  for (size_t at = 0; at < file.size(); at += kChunk) {
    ASSERT_THAT((*writer)->AppendOwned(file.substr(at, kChunk)), IsOk());
  }
  absl::StatusOr<mv::VersionInfo> info = (*writer)->Commit(Digest(file));
  ASSERT_THAT(info, IsOk());
  writer->reset();
  CloseVault();
  absl::StatusOr<mv::MarkTable> table = StoredTable(*info);
  absl::StatusOr<mv::MarkTable> expected = InMemoryPlan(info->serial, file);
  ASSERT_THAT(table, IsOk());
  ASSERT_THAT(expected, IsOk());
  EXPECT_TRUE(*table == *expected);
}

TEST_F(IngestTest, ABlobIsStoredUnmarked) {
  std::mt19937_64 rng(3);
  for (bool declare : {true, false}) {
    absl::StatusOr<mv::VersionInfo> info =
        Push("m/blob", RandomBytes(3 * kChunk + 1, rng), declare, 1000);
    ASSERT_THAT(info, IsOk());
    EXPECT_EQ(info->format, mv::Format::kBlob);
    EXPECT_FALSE(info->fingerprint.markable());
    EXPECT_EQ(info->fingerprint.unmarked_reason, "stored as a blob");
  }
  absl::StatusOr<mv::VersionInfo> tiny = Push("m/blob", "abc", false, 1);
  ASSERT_THAT(tiny, IsOk());
  EXPECT_EQ(tiny->fingerprint.unmarked_reason, "stored as a blob");
  CloseVault();
  EXPECT_THAT(DumpRaw("marks"), IsEmpty());
}

TEST_F(IngestTest, StoreAsBlobNeverParses) {
  const std::string file = SmallModel();
  for (bool declare : {true, false}) {
    absl::StatusOr<mv::VersionInfo> info =
        Push("m/asblob", file, declare, 5000, mv::UploadSpec::As::kBlob);
    ASSERT_THAT(info, IsOk());
    EXPECT_EQ(info->format, mv::Format::kBlob);
    EXPECT_EQ(info->fingerprint.unmarked_reason, "stored as a blob");
  }
  // Even a malformed one.
  std::string bad = file;
  bad[8 + 3] = '\x01';
  absl::StatusOr<mv::VersionInfo> info =
      Push("m/asblob", bad, true, 5000, mv::UploadSpec::As::kBlob);
  ASSERT_THAT(info, IsOk());
  EXPECT_EQ(Fetch(info->Ref()).bytes, bad);
  CloseVault();
  EXPECT_THAT(DumpRaw("marks"), IsEmpty());
}

TEST_F(IngestTest, AModelWithOnlyIntegerTensorsIsUnmarkedWithTheReason) {
  const std::string file =
      SafetensorsBuilder()
          .Tensor("ids", "I32", {256, 256}, PatternBytes(262144, 1))
          .Tensor("mask", "U8", {256, 256}, PatternBytes(65536, 2))
          .Build();
  for (bool declare : {true, false}) {
    absl::StatusOr<mv::VersionInfo> info = Push("m/ints", file, declare, 4000);
    ASSERT_THAT(info, IsOk());
    EXPECT_EQ(info->format, mv::Format::kSafetensors);
    EXPECT_FALSE(info->fingerprint.markable());
    EXPECT_EQ(info->fingerprint.unmarked_reason,
              "no eligible tensors (F32/F16/BF16, >= 2 dims, >= 65,536 "
              "elements, name not "
              "excluded)");
  }
  CloseVault();
  EXPECT_THAT(DumpRaw("marks"), IsEmpty());
}

// Malformed model files, each refused INVALID_ARGUMENT naming the defect.
struct Malformed {
  const char* label;
  std::string file;
  const char* defect;
};

std::vector<Malformed> MalformedFiles() {
  std::vector<Malformed> out;
  const std::string good = SmallModel(9);
  // The header length cuts the JSON short.
  std::string short_header = good;
  uint64_t len = 0;
  for (int i = 7; i >= 0; --i) len = len << 8 | static_cast<uint8_t>(good[i]);
  std::string le = Le64(len - 20);
  short_header.replace(0, 8, le);
  out.push_back({"bad header length", short_header, "safetensors"});
  // Two tensors overlap.
  const std::string overlap_header =
      R"({"a":{"dtype":"F32","shape":[256,256],"data_offsets":[0,262144]},)"
      R"("b":{"dtype":"F32","shape":[256,256],"data_offsets":[131072,393216]}})";
  out.push_back({"overlapping offsets",
                 SafetensorsFile(overlap_header, std::string(393216, '\0')),
                 "overlap"});
  // Truncated: the data region is short.
  out.push_back({"truncated safetensors", good.substr(0, good.size() - 1000),
                 "safetensors"});
  // GGUF: bad version, and data cut off.
  out.push_back({"gguf version 0", "GGUF" + std::string(60'000, '\0'), "GGUF"});
  const std::string gguf = SmallGguf();
  out.push_back({"truncated gguf", gguf.substr(0, gguf.size() - 5000), "GGUF"});
  return out;
}

TEST_F(IngestTest, MalformedModelFilesAreRefusedAndNothingIsKept) {
  for (const Malformed& m : MalformedFiles()) {
    for (bool declare : {true, false}) {
      SCOPED_TRACE(std::string(m.label) +
                   (declare ? " (size declared)" : " (size unknown)"));
      absl::StatusOr<mv::VersionInfo> info =
          Push("m/bad", m.file, declare, 3000);
      EXPECT_THAT(info,
                  StatusIs(absl::StatusCode::kInvalidArgument,
                           AllOf(HasSubstr("not a valid"), HasSubstr(m.defect),
                                 HasSubstr("--format blob"))));
      ExpectNothingStored("m/bad");
    }
  }
}

TEST_F(IngestTest, AMalformedHeaderIsRefusedAsSoonAsThePrefixShowsIt) {
  const std::string header =
      R"({"a":{"dtype":"F32","shape":[256,256],"data_offsets":[0,262144]},)"
      R"("b":{"dtype":"F32","shape":[256,256],"data_offsets":[131072,393216]}})";
  const std::string file = SafetensorsFile(header, std::string(393216, '\0'));
  auto writer =
      vault_->catalog().BeginUpload({"m/early", {}, {}, file.size()}, root_);
  ASSERT_THAT(writer, IsOk());
  ASSERT_THAT((*writer)->Append(file.substr(0, 8)), IsOk());
  EXPECT_THAT(
      (*writer)->Append(file.substr(8, 4 * kChunk)),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("overlap")));
  // Dead: more data or a commit fail the same way.
  EXPECT_THAT((*writer)->Append("x"),
              StatusIs(absl::StatusCode::kInvalidArgument, testing::_));
  EXPECT_THAT((*writer)->Commit(Digest(file)).status(),
              StatusIs(absl::StatusCode::kInvalidArgument, testing::_));
  // The pending chunks are already freed, before the writer goes.
  std::unique_ptr<mv::ArtifactWriter> keep = std::move(*writer);
  ExpectNothingStored("m/early");
}

TEST_F(IngestTest, ADeclaredFormatRefusesOtherContent) {
  const std::string st = SmallModel();
  const std::string gguf = SmallGguf();
  for (bool declare : {true, false}) {
    EXPECT_THAT(
        Push("m/as", gguf, declare, 4096, mv::UploadSpec::As::kSafetensors),
        StatusIs(absl::StatusCode::kInvalidArgument,
                 AllOf(HasSubstr("not a valid safetensors file"),
                       HasSubstr("GGUF"))));
    EXPECT_THAT(Push("m/as", st, declare, 4096, mv::UploadSpec::As::kGguf),
                StatusIs(absl::StatusCode::kInvalidArgument,
                         HasSubstr("not a valid GGUF file")));
    std::mt19937_64 rng(4);
    EXPECT_THAT(Push("m/as", RandomBytes(5000, rng), declare, 4096,
                     mv::UploadSpec::As::kSafetensors),
                StatusIs(absl::StatusCode::kInvalidArgument,
                         HasSubstr("not a valid safetensors file")));
  }
  ExpectNothingStored("m/as");
  // The right declaration works.
  absl::StatusOr<mv::VersionInfo> info =
      Push("m/as", gguf, true, 4096, mv::UploadSpec::As::kGguf);
  ASSERT_THAT(info, IsOk());
  EXPECT_TRUE(info->fingerprint.markable());
}

TEST_F(IngestTest, DeletingAVersionDeletesItsMarkTable) {
  ASSERT_THAT(Push("m/del", SmallModel(), true, 8192), IsOk());
  ASSERT_THAT(Push("m/keep", SmallModel(2), true, 8192), IsOk());
  CloseVault();
  ASSERT_THAT(DumpRaw("marks"), SizeIs(2));
  Reopen();
  ASSERT_THAT(vault_->catalog().DeleteVersion("m/del@1"), IsOk());
  CloseVault();
  EXPECT_THAT(DumpRaw("marks"), SizeIs(1));
  Reopen();
  absl::StatusOr<mv::VerifyReport> report = vault_->Verify();
  ASSERT_THAT(report, IsOk());
  EXPECT_THAT(report->problems, IsEmpty());
}

TEST_F(IngestTest, VerifyOpensEveryMarkTable) {
  ASSERT_THAT(Push("m/v", SmallModel(), true, 8192), IsOk());
  ASSERT_THAT(Push("m/w", SmallGguf(), false, 8192), IsOk());
  Reopen();
  absl::StatusOr<mv::VerifyReport> report = vault_->Verify();
  ASSERT_THAT(report, IsOk());
  EXPECT_THAT(report->problems, IsEmpty());
  CloseVault();
  std::vector<std::pair<std::string, std::string>> marks = DumpRaw("marks");
  ASSERT_THAT(marks, SizeIs(2));
  // Tamper with the first table, delete the second.
  ASSERT_THAT(
      EditRaw([&](mv::LmdbEnv& env, mv::WriteTxn& txn) -> absl::Status {
        std::string tampered = marks[0].second;
        tampered[100] ^= 0x01;
        MV_RETURN_IF_ERROR(txn.Put(env.Db("marks"), marks[0].first, tampered));
        return txn.Delete(env.Db("marks"), marks[1].first);
      }),
      IsOk());
  Reopen();
  report = vault_->Verify();
  ASSERT_THAT(report, IsOk());
  EXPECT_THAT(
      report->problems,
      testing::UnorderedElementsAre(
          AllOf(HasSubstr("m/v@1"),
                HasSubstr("mark table fails authentication")),
          AllOf(HasSubstr("m/w@1"), HasSubstr("mark table is missing"))));
}

TEST_F(IngestTest, AVaultFromBeforeLeakTracingGetsAFingerprintKeyOnOpen) {
  CloseVault();
  ASSERT_THAT(EditRaw([&](mv::LmdbEnv& env, mv::WriteTxn& txn) -> absl::Status {
                return txn.Delete(env.Db("meta"), "fingerprint_key");
              }),
              IsOk());
  LowerToFormat1();  // such a vault is format 1: the key comes with migration
  Reopen();
  absl::StatusOr<mv::VersionInfo> info =
      Push("m/after", SmallModel(), true, 8192);
  ASSERT_THAT(info, IsOk());
  EXPECT_TRUE(info->fingerprint.markable());
  CloseVault();
  absl::StatusOr<mv::MarkTable> table = StoredTable(*info);
  absl::StatusOr<mv::MarkTable> expected =
      InMemoryPlan(info->serial, SmallModel());
  ASSERT_THAT(table, IsOk());
  ASSERT_THAT(expected, IsOk());
  EXPECT_TRUE(*table == *expected)
      << "the key created on open is the one stored";
}

}  // namespace
}  // namespace mvtesting
