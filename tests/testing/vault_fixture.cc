#include "testing/vault_fixture.h"

#include <filesystem>
#include <map>

#include "common/bytes.h"
#include "common/status_macros.h"
#include "crypto/legacy_key_wrap.h"
#include "crypto/master_key.h"
#include "crypto/sha256.h"
#include "storage/barrier.h"
#include "testing/status_matchers.h"
#include "vault/catalog.h"
#include "vault/identity_store.h"
#include "vault/records.h"

namespace mvtesting {

Download Drain(mv::ArtifactReader& reader) {
  Download d;
  std::string piece;
  for (;;) {
    absl::StatusOr<bool> more = reader.Next(&piece);
    if (!more.ok()) {
      d.status = more.status();
      return d;
    }
    if (!*more) break;
    d.bytes += piece;
  }
  d.delivered_sha256 = reader.DeliveredSha256();
  return d;
}

VaultTest::VaultTest()
    : kek_raw_(32, '\0'), clock_(absl::FromUnixSeconds(1'700'000'000)) {
  for (size_t i = 0; i < kek_raw_.size(); ++i)
    kek_raw_[i] = static_cast<char>(0x40 + i);
}

void VaultTest::SetUp() {
  absl::StatusOr<std::string> token = mv::Vault::Init(Options(), Kek());
  ASSERT_THAT(token, IsOk());
  root_token_ = *token;
  Reopen();
}

mv::VaultOptions VaultTest::Options() const {
  mv::VaultOptions o;
  o.data_dir = dir_.Sub("data");
  o.map_size = size_t{64} << 20;
  o.chunk_size = kChunk;
  o.clock = const_cast<mv::FakeClock*>(&clock_);
  o.audit = audit_options_;
  o.auth_throttle = auth_throttle_;
  return o;
}

mv::SecretKey VaultTest::Kek() const {
  return *mv::SecretKey::FromBytes(mv::AsBytes(kek_raw_));
}

absl::StatusOr<std::unique_ptr<mv::Vault>> VaultTest::OpenVault() {
  return mv::Vault::Open(Options(), Kek());
}

void VaultTest::Reopen() {
  vault_.reset();
  absl::StatusOr<std::unique_ptr<mv::Vault>> v = OpenVault();
  ASSERT_THAT(v, IsOk());
  vault_ = *std::move(v);
}

absl::StatusOr<mv::VersionInfo> VaultTest::Upload(const std::string& name,
                                                  const std::string& data,
                                                  std::vector<size_t> pieces) {
  mv::UploadSpec spec;
  spec.name = name;
  return Upload(spec, data, std::move(pieces));
}

absl::StatusOr<mv::VersionInfo> VaultTest::Upload(const mv::UploadSpec& spec,
                                                  const std::string& data,
                                                  std::vector<size_t> pieces) {
  auto writer = vault_->catalog().BeginUpload(spec, root_);
  if (!writer.ok()) return writer.status();
  std::string_view rest = data;
  for (size_t i = 0; !rest.empty(); ++i) {
    const size_t n = std::min(rest.size(), pieces[i % pieces.size()]);
    if (absl::Status s = (*writer)->Append(rest.substr(0, n)); !s.ok())
      return s;
    rest.remove_prefix(n);
  }
  mv::Sha256Digest digest = mv::Sha256::Of(data);
  return (*writer)->Commit(std::string(mv::AsChars(digest)));
}

Download VaultTest::Fetch(const std::string& ref, uint64_t offset,
                          uint64_t length) {
  auto reader = vault_->catalog().OpenDownload(ref, offset, length);
  if (!reader.ok()) return Download{reader.status(), "", ""};
  return Drain(**reader);
}

absl::Status VaultTest::EditStored(
    const std::function<absl::Status(mv::LmdbEnv&, mv::WriteTxn&)>& fn,
    bool through_barrier) {
  EXPECT_EQ(vault_, nullptr) << "close the vault before editing its files";
  auto env = mv::LmdbEnv::Open({Options().data_dir, Options().map_size},
                               mv::Dbs::kNames);
  if (!env.ok()) return env.status();
  std::unique_ptr<mv::KeyStore> keys;  // outlives the barrier's use
  if (through_barrier) {
    std::string vault_id;
    MV_RETURN_IF_ERROR((*env)->Read([&](const mv::Txn& txn) -> absl::Status {
      MV_ASSIGN_OR_RETURN(auto id, txn.Get((*env)->Db("meta"),
                                           mv::StorageBarrier::kVaultIdKey));
      if (id) vault_id = std::string(*id);
      return absl::OkStatus();
    }));
    if (!vault_id.empty()) {
      keys = OpenKeyStore(vault_id);
      absl::StatusOr<std::unique_ptr<mv::StorageBarrier>> barrier =
          keys != nullptr ? mv::StorageBarrier::New(keys->holder(), vault_id)
                          : mv::StorageBarrier::NewLegacy(Kek(), vault_id);
      if (!barrier.ok()) return barrier.status();
      (*env)->SetBarrier(*std::move(barrier));
    }
  }
  return (*env)->Write([&](mv::WriteTxn& txn) { return fn(**env, txn); });
}

std::string VaultTest::StoredVaultId() {
  std::string vault_id;
  auto env = mv::LmdbEnv::Open({Options().data_dir, Options().map_size},
                               mv::Dbs::kNames);
  EXPECT_THAT(env, IsOk());
  if (!env.ok()) return "";
  EXPECT_THAT((*env)->Read([&](const mv::Txn& txn) -> absl::Status {
    MV_ASSIGN_OR_RETURN(
        auto id, txn.Get((*env)->Db("meta"), mv::StorageBarrier::kVaultIdKey));
    if (id) vault_id = std::string(*id);
    return absl::OkStatus();
  }),
              IsOk());
  return vault_id;
}

std::unique_ptr<mv::KeyStore> VaultTest::OpenKeyStore() {
  return OpenKeyStore(StoredVaultId());
}

std::unique_ptr<mv::KeyStore> VaultTest::OpenKeyStore(
    const std::string& vault_id) {
  EXPECT_EQ(vault_, nullptr) << "close the vault before reading its files";
  const std::string path =
      Options().data_dir + "/" + std::string(mv::KeyFile::kFileName);
  if (!std::filesystem::exists(path)) return nullptr;
  auto keys = mv::KeyStore::Open(Options().data_dir, vault_id, Kek());
  EXPECT_THAT(keys, IsOk());
  return keys.ok() ? *std::move(keys) : nullptr;
}

void VaultTest::LowerToFormat3() {
  const mv::LegacyKeyWrap legacy(Kek());
  const std::string vault_id = StoredVaultId();
  std::unique_ptr<mv::KeyStore> keys = OpenKeyStore(vault_id);
  ASSERT_NE(keys, nullptr);
  const std::shared_ptr<const mv::KeyRing> ring = keys->ring();
  auto barrier = mv::StorageBarrier::NewLegacy(Kek(), vault_id);
  ASSERT_THAT(barrier, IsOk());
  std::map<std::string, std::vector<std::pair<std::string, std::string>>>
      opened;
  for (const char* db : mv::Dbs::kNames) opened[db] = DumpRaw(db);
  for (auto& [k, v] : opened["versions"]) {
    auto record = mv::DecodeVersion(v);
    ASSERT_THAT(record, IsOk());
    auto dek = keys->Open(record->version_id);
    ASSERT_THAT(dek, IsOk());
    record->key_version = mv::LegacyKeyWrap::kKeyVersion;
    record->wrapped_dek = legacy.WrapDataKey(record->version_id, *dek);
    v = mv::EncodeVersion(*record);
  }
  for (auto& [k, v] : opened["meta"]) {
    if (k != "token_key" && k != "audit_signing_key" && k != "fingerprint_key")
      continue;
    auto key = ring->UnwrapNamedKey(k, v);
    ASSERT_THAT(key, IsOk());
    v = legacy.WrapNamedKey(k, *key);
  }
  ASSERT_THAT(EditStored(
                  [&](mv::LmdbEnv& env, mv::WriteTxn& txn) -> absl::Status {
                    std::string sealed;
                    for (const auto& [db, records] : opened) {
                      for (auto [k, v] : records) {
                        if (k == "format" && db == "meta") v = mv::IdKey(3);
                        if ((*barrier)->Seals(db, k)) {
                          (*barrier)->Seal(db, k, v, &sealed);
                          v = sealed;
                        }
                        MV_RETURN_IF_ERROR(txn.Put(env.Db(db), k, v));
                      }
                    }
                    return absl::OkStatus();
                  },
                  /*through_barrier=*/false),
              IsOk());
  keys.reset();
  std::filesystem::remove(Options().data_dir + "/" +
                          std::string(mv::KeyFile::kFileName));
}

absl::Status VaultTest::EditRaw(
    const std::function<absl::Status(mv::LmdbEnv&, mv::WriteTxn&)>& fn) {
  return EditStored(fn, /*through_barrier=*/true);
}

void VaultTest::LowerToFormat2() {
  LowerToFormat3();
  const auto bare = [](std::string identity) {
    std::string_view v = identity;
    EXPECT_TRUE(mv::StripCertIdentityKind(&v)) << identity;
    return std::string(v);
  };
  ASSERT_THAT(
      EditStored(
          [&](mv::LmdbEnv& env, mv::WriteTxn& txn) -> absl::Status {
            const mv::Dbs dbs = mv::Dbs::Of(env);
            MV_ASSIGN_OR_RETURN(const mv::Txn::Records ids,
                                txn.ReadAll(dbs.cert_identities));
            for (const auto& [id, name] : ids)  // all, then the new keys
              MV_RETURN_IF_ERROR(txn.Delete(dbs.cert_identities, id));
            for (const auto& [id, name] : ids)
              MV_RETURN_IF_ERROR(txn.Put(dbs.cert_identities, bare(id), name));
            MV_ASSIGN_OR_RETURN(const mv::Txn::Records principals,
                                txn.ReadAll(dbs.principals));
            for (const auto& [name, value] : principals) {
              MV_ASSIGN_OR_RETURN(mv::PrincipalRecord r,
                                  mv::DecodePrincipal(value));
              if (r.cert_identity.empty()) continue;
              r.cert_identity = bare(r.cert_identity);
              MV_RETURN_IF_ERROR(
                  txn.Put(dbs.principals, name, mv::EncodePrincipal(r)));
            }
            return txn.Put(dbs.meta, "format", mv::IdKey(2));
          },
          /*through_barrier=*/true),
      IsOk());
}

void VaultTest::LowerToFormat1() {
  LowerToFormat2();
  std::map<std::string, std::vector<std::pair<std::string, std::string>>>
      opened;
  for (const char* db : mv::Dbs::kNames) opened[db] = DumpRaw(db);
  ASSERT_THAT(
      EditStored(
          [&](mv::LmdbEnv& env, mv::WriteTxn& txn) -> absl::Status {
            for (const auto& [db, records] : opened) {
              for (const auto& [k, v] : records)
                MV_RETURN_IF_ERROR(txn.Put(env.Db(db), k, v));
            }
            const MDB_dbi meta = env.Db("meta");
            MV_RETURN_IF_ERROR(txn.Put(meta, "format", mv::IdKey(1)));
            MV_RETURN_IF_ERROR(txn.Put(meta, "kcv", mv::KeyCheckValue(Kek())));
            return txn.Delete(meta, mv::StorageBarrier::kVaultIdKey);
          },
          /*through_barrier=*/false),
      IsOk());
}

std::vector<std::pair<std::string, std::string>> VaultTest::DumpRaw(
    const char* db) {
  std::vector<std::pair<std::string, std::string>> out;
  EXPECT_THAT(EditRaw([&](mv::LmdbEnv& env, mv::WriteTxn& txn) {
                return txn.Scan(env.Db(db), "", "",
                                [&](std::string_view k, std::string_view v) {
                                  out.emplace_back(k, v);
                                  return true;
                                });
              }),
              IsOk());
  return out;
}

std::vector<ChunkKey> VaultTest::StoredChunks() {
  std::vector<ChunkKey> out;
  for (const auto& [k, v] : DumpRaw("chunks")) {
    EXPECT_EQ(k.size(), 16u);
    const auto* p = reinterpret_cast<const uint8_t*>(k.data());
    out.push_back({mv::GetBigEndian64(p), mv::GetBigEndian64(p + 8)});
  }
  return out;
}

std::string VaultTest::AllowJson(const std::string& globs,
                                 const std::string& actions) {
  return R"({"rules": [{"effect": "allow", "artifacts": )" + globs +
         R"(, "actions": )" + actions + "}]}";
}

void VaultTest::PutPolicy(const std::string& name, const std::string& json) {
  EXPECT_THAT(vault_->identity().PutPolicy(mv::RootCaller(), name, json),
              IsOk())
      << name << ": " << json;
}

mv::Principal VaultTest::Principal(const std::string& name,
                                   std::vector<std::string> policies) {
  absl::StatusOr<mv::Principal> who =
      Login(AddPrincipal(name, std::move(policies)));
  EXPECT_TRUE(who.ok()) << who.status();
  return who.ok() ? *who : mv::Principal();
}

std::string VaultTest::AddPrincipal(const std::string& name,
                                    std::vector<std::string> policies,
                                    const std::string& cert_identity) {
  mv::PrincipalInfo info;
  info.name = name;
  info.policies = std::move(policies);
  info.cert_identity = cert_identity;
  EXPECT_THAT(vault_->identity().CreatePrincipal(mv::RootCaller(), info),
              IsOk())
      << name;
  mv::TokenSpec spec;
  spec.principal = name;
  absl::StatusOr<mv::IssuedToken> issued =
      vault_->identity().CreateToken(mv::RootCaller(), spec);
  EXPECT_THAT(issued, IsOk()) << name;
  return issued.ok() ? issued->token : "";
}

}  // namespace mvtesting
