// Crypto-shredding with proof (issue [keys]): after a delete nothing in the
// data dir opens the version's chunks, the signed certificate verifies and
// names the delete's audit record, and an edited one does not.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <iterator>

#include "absl/strings/escaping.h"
#include "audit/shred_certificate.h"
#include "crypto/sha256.h"
#include "storage/key_file.h"
#include "testing/status_matchers.h"
#include "testing/vault_fixture.h"
#include "vault/catalog.h"

namespace mvtesting {
namespace {

using ::testing::HasSubstr;
using ::testing::IsEmpty;

std::string Slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), {}};
}

class ShredTest : public VaultTest {
 protected:
  void SetUp() override {
    VaultTest::SetUp();
    data_ = std::string(3 * kChunk + 17, 's');
    auto info = Upload("s/model", data_);
    ASSERT_THAT(info, IsOk());
    id_ = info->serial;
  }
  mv::AuditRecord Record() {
    mv::AuditRecord r;
    r.method = "/modelvault.v1.ArtifactService/DeleteVersion";
    r.principal = "root";
    r.action = "delete";
    r.decision = mv::AuditDecision::kAllowed;
    return r;
  }
  // Every file of the data dir, concatenated.
  std::string DataDirBytes() {
    std::string all;
    for (const auto& e :
         std::filesystem::directory_iterator(Options().data_dir))
      all += Slurp(e.path());
    return all;
  }

  std::string data_;
  uint64_t id_ = 0;
};

TEST_F(ShredTest, NothingInTheDataDirOpensTheVersionAfterItsDelete) {
  CloseVault();
  std::string dek_bytes, wrapped;
  {
    std::unique_ptr<mv::KeyStore> keys = OpenKeyStore();
    auto dek = keys->Open(id_);
    ASSERT_THAT(dek, IsOk());
    dek_bytes = std::string(mv::AsChars(dek->span()));
  }
  const std::string key_file = Options().data_dir + "/keys.mvk";
  wrapped = Slurp(key_file).substr(
      mv::KeyFile::kDataKeyBase + id_ * mv::KeyFile::kDataKeySlotSize + 4,
      mv::KeyRing::kWrappedKeySize);
  const std::string before = DataDirBytes();
  ASSERT_NE(before.find(wrapped), std::string::npos);
  Reopen();
  ASSERT_THAT(vault_->ShredVersion("s/model@1", Record()), IsOk());
  CloseVault();  // a raw copy of the data dir, as an attacker takes it
  const std::string after = DataDirBytes();
  EXPECT_EQ(after.find(wrapped), std::string::npos);
  EXPECT_EQ(after.find(dek_bytes), std::string::npos);
  // The master key opens the keyring, and the keyring finds no data key.
  EXPECT_THAT(
      OpenKeyStore()->Open(id_),
      StatusIs(absl::StatusCode::kDataLoss, HasSubstr("not in the key file")));
}

TEST_F(ShredTest, TheCertificateVerifiesAndNamesTheDeletesAuditRecord) {
  auto shredded = vault_->ShredVersion("s/model@1", Record());
  ASSERT_THAT(shredded, IsOk());
  const std::string file = mv::ShredCertificateFile(shredded->certificate);
  auto facts =
      mv::VerifyShredCertificateFile(file, vault_->audit_log().public_key());
  ASSERT_THAT(facts, IsOk());
  EXPECT_EQ(facts->version, "s/model@1");
  EXPECT_EQ(facts->version_id, id_);
  EXPECT_EQ(facts->size, data_.size());
  EXPECT_EQ(
      facts->sha256_hex,
      absl::BytesToHexString(std::string(mv::AsChars(mv::Sha256::Of(data_)))));
  EXPECT_EQ(facts->principal, "root");
  bool found = false;
  ASSERT_THAT(vault_->audit_log().ScanRecords(
                  facts->audit_sequence,
                  [&](const mv::AuditRecord& r, std::string_view) {
                    found = r.sequence == facts->audit_sequence &&
                            r.resource == "s/model@1" &&
                            r.method == Record().method &&
                            r.time_unix_ms == facts->deleted_at_unix_ms;
                    return false;
                  }),
              IsOk());
  EXPECT_TRUE(found);
}

TEST_F(ShredTest, AnEditedOrForeignCertificateDoesNotVerify) {
  auto shredded = vault_->ShredVersion("s/model@1", Record());
  ASSERT_THAT(shredded, IsOk());
  const std::string file = mv::ShredCertificateFile(shredded->certificate);
  const std::string key = vault_->audit_log().public_key();
  std::string edited = file;
  edited.replace(edited.find("\"root\""), 6, "\"eve_\"");
  EXPECT_THAT(mv::VerifyShredCertificateFile(edited, key),
              StatusIs(absl::StatusCode::kDataLoss, HasSubstr("signature")));
  std::string resigned = file;
  const size_t sig = resigned.find("\"signature\": \"") + 14;
  resigned[sig] = resigned[sig] == '0' ? '1' : '0';
  EXPECT_THAT(mv::VerifyShredCertificateFile(resigned, key),
              StatusIs(absl::StatusCode::kDataLoss, ::testing::_));
  EXPECT_THAT(mv::VerifyShredCertificateFile(file, std::string(32, 'k')),
              StatusIs(absl::StatusCode::kDataLoss, ::testing::_));
  for (std::string bad : {std::string("{}"), std::string("[1]"),
                          std::string("not json"), std::string("")}) {
    EXPECT_THAT(mv::VerifyShredCertificateFile(bad, key),
                StatusIs(absl::StatusCode::kInvalidArgument, ::testing::_));
  }
}

TEST_F(ShredTest, ChunksAreFreedInTheBackground) {
  ASSERT_THAT(vault_->ShredVersion("s/model@1", Record()), IsOk());
  EXPECT_EQ(vault_->catalog().WaitForReclaim(), "");
  CloseVault();
  EXPECT_THAT(StoredChunks(), IsEmpty());
  EXPECT_THAT(DumpRaw("pending"), IsEmpty());
}

// A crash after the delete committed but before its key was zeroed: the
// doomed record is still there, and the next open shreds the key.
TEST_F(ShredTest, AKeyLeftByACrashIsShreddedOnTheNextOpen) {
  CloseVault();
  const std::string key_file = Options().data_dir + "/keys.mvk";
  const size_t at =
      mv::KeyFile::kDataKeyBase + id_ * mv::KeyFile::kDataKeySlotSize;
  const std::string slot =
      Slurp(key_file).substr(at, mv::KeyFile::kDataKeySlotSize);
  Reopen();
  ASSERT_THAT(vault_->ShredVersion("s/model@1", Record()), IsOk());
  CloseVault();
  std::fstream f(key_file, std::ios::in | std::ios::out | std::ios::binary);
  f.seekp(at);
  f.write(slot.data(), slot.size());
  f.close();
  ASSERT_THAT(EditRaw([&](mv::LmdbEnv& env, mv::WriteTxn& txn) {
                mv::PendingRecord doomed{"s/model", mv::PendingRecord::kDoomed};
                return txn.Put(env.Db("pending"), mv::IdKey(id_),
                               mv::EncodePending(doomed));
              }),
              IsOk());
  EXPECT_NE(Slurp(key_file).substr(at, slot.size()),
            std::string(slot.size(), '\0'));
  Reopen();
  CloseVault();
  EXPECT_EQ(Slurp(key_file).substr(at, slot.size()),
            std::string(slot.size(), '\0'));
}

}  // namespace
}  // namespace mvtesting
