// Vault catalog use cases: references, listing, deletion, aliases, GC.
#include "vault/vault.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "absl/strings/escaping.h"
#include "common/bytes.h"
#include "crypto/sha256.h"
#include "testing/mapped_bytes.h"
#include "testing/status_matchers.h"
#include "testing/vault_fixture.h"

namespace mvtesting {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

std::vector<std::string> Refs(const mv::VersionPage& page) {
  std::vector<std::string> out;
  for (const mv::VersionInfo& v : page.versions) out.push_back(v.Ref());
  return out;
}

class VaultCatalogTest : public VaultTest {};

TEST_F(VaultCatalogTest, ReferencesResolveByLatestNumberAliasAndDigest) {
  ASSERT_THAT(Upload({"m", {}, {"prod"}, 0}, "one"), IsOk());
  ASSERT_THAT(Upload("m", "two"), IsOk());
  ASSERT_THAT(Upload({"m", {}, {"canary"}, 0}, "three"), IsOk());
  auto number = [&](const std::string& ref) -> uint64_t {
    absl::StatusOr<mv::VersionInfo> v = vault_->catalog().GetVersion(ref);
    return v.ok() ? v->number : 0;
  };
  EXPECT_EQ(number("m"), 3u);
  EXPECT_EQ(number("m@latest"), 3u);
  EXPECT_EQ(number("m@2"), 2u);
  EXPECT_EQ(number("m@prod"), 1u);
  EXPECT_EQ(number("m@canary"), 3u);
  EXPECT_EQ(number("m@sha256:" + mv::ToHex(mv::Sha256::Of("two"))), 2u);
  EXPECT_EQ(Fetch("m@prod").bytes, "one");
  EXPECT_THAT(
      vault_->catalog().GetVersion("m@sha256:" +
                                   mv::ToHex(mv::Sha256::Of("four"))),
      StatusIs(absl::StatusCode::kNotFound, HasSubstr("not found: m@sha256:")));
  EXPECT_THAT(vault_->catalog().GetVersion("m@4"),
              StatusIs(absl::StatusCode::kNotFound, "not found: m@4"));
  EXPECT_THAT(vault_->catalog().GetVersion("mm"),
              StatusIs(absl::StatusCode::kNotFound, "not found: mm"));
}

TEST_F(VaultCatalogTest, DigestReferenceResolvesToTheNewestMatch) {
  ASSERT_THAT(Upload("m", "same"), IsOk());
  ASSERT_THAT(Upload("m", "other"), IsOk());
  ASSERT_THAT(Upload("m", "same"), IsOk());
  absl::StatusOr<mv::VersionInfo> v = vault_->catalog().GetVersion(
      "m@sha256:" + mv::ToHex(mv::Sha256::Of("same")));
  ASSERT_THAT(v, IsOk());
  EXPECT_EQ(v->number, 3u);
}

TEST_F(VaultCatalogTest, NamesThatArePrefixesDoNotMix) {
  ASSERT_THAT(Upload("a/b", "ab"), IsOk());
  ASSERT_THAT(Upload("a/bc", "abc"), IsOk());
  ASSERT_THAT(Upload("a/bc", "abc2"), IsOk());
  EXPECT_EQ(Fetch("a/b").bytes, "ab");
  EXPECT_THAT(vault_->catalog().GetVersion("a/b@2"),
              StatusIs(absl::StatusCode::kNotFound, "not found: a/b@2"));
  EXPECT_EQ(Fetch("a/bc").bytes, "abc2");
}

TEST_F(VaultCatalogTest, DeletedVersionIsGoneEverywhere) {
  ASSERT_THAT(Upload("m", std::string(2 * kChunk, '1')), IsOk());
  ASSERT_THAT(Upload({"m", {}, {"prod", "stable"}, 0},
                     std::string(3 * kChunk + 1, '2')),
              IsOk());
  absl::StatusOr<mv::VersionInfo> gone =
      vault_->catalog().DeleteVersion("m@prod");
  ASSERT_THAT(gone, IsOk());
  EXPECT_EQ(gone->number, 2u);
  EXPECT_THAT(gone->aliases, ElementsAre("prod", "stable"));
  EXPECT_THAT(vault_->catalog().GetVersion("m@2"),
              StatusIs(absl::StatusCode::kNotFound, "not found: m@2"));
  EXPECT_THAT(vault_->catalog().OpenDownload("m@2", 0, 0),
              StatusIs(absl::StatusCode::kNotFound, "not found: m@2"));
  EXPECT_THAT(vault_->catalog().GetVersion("m@prod"),
              StatusIs(absl::StatusCode::kNotFound, "not found: m@prod"));
  EXPECT_THAT(vault_->catalog().GetVersion("m@stable"),
              StatusIs(absl::StatusCode::kNotFound, "not found: m@stable"));
  EXPECT_THAT(vault_->catalog().DeleteVersion("m@2"),
              StatusIs(absl::StatusCode::kNotFound, "not found: m@2"));
  absl::StatusOr<mv::VersionInfo> latest = vault_->catalog().GetVersion("m");
  ASSERT_THAT(latest, IsOk());
  EXPECT_EQ(latest->number, 1u) << "latest falls back";
  absl::StatusOr<mv::VersionInfo> next = Upload("m", "3");
  ASSERT_THAT(next, IsOk());
  EXPECT_EQ(next->number, 3u) << "numbers are never reused";
  CloseVault();
  std::vector<ChunkKey> chunks = StoredChunks();
  ASSERT_EQ(chunks.size(), 3u)
      << "2 chunks of m@1 and 1 of m@3; m@2's 4 are gone";
  EXPECT_THAT(DumpRaw("pending"), IsEmpty());
}

TEST_F(VaultCatalogTest, DeletingAndReusingPagesLeavesNoChunkDataMapped) {
  // Deleting reads every chunk's first page through LMDB's map, and a push
  // into the freed pages reads B-tree pages that share page-cache folios
  // with chunk data; the kernel maps whole large folios on such faults.
  // Both must hand the mapping back, or RSS grows with what was deleted.
  const std::string data(size_t{16} << 20, 'd');
  ASSERT_THAT(Upload("m", data), IsOk());
  ASSERT_THAT(vault_->catalog().DeleteVersion("m@1"), IsOk());
  EXPECT_LT(mvtesting::MappedBytes("/data.mdb"), size_t{2} << 20)
      << "after the delete";
  ASSERT_THAT(Upload("m", data), IsOk());
  EXPECT_LT(mvtesting::MappedBytes("/data.mdb"), size_t{2} << 20)
      << "after a push into the freed pages";
  EXPECT_TRUE(Fetch("m@2").bytes == data);
}

TEST_F(VaultCatalogTest, DeletingEveryVersionStillNeverReusesNumbers) {
  ASSERT_THAT(Upload("m", "1"), IsOk());
  ASSERT_THAT(vault_->catalog().DeleteVersion("m"), IsOk());
  EXPECT_THAT(vault_->catalog().GetVersion("m"),
              StatusIs(absl::StatusCode::kNotFound, "not found: m"));
  absl::StatusOr<mv::VersionInfo> again = Upload("m", "2");
  ASSERT_THAT(again, IsOk());
  EXPECT_EQ(again->number, 2u);
}

TEST_F(VaultCatalogTest, SetAliasMovesItAndDeleteAliasRemovesIt) {
  ASSERT_THAT(Upload("m", "1"), IsOk());
  ASSERT_THAT(Upload("m", "2"), IsOk());
  absl::StatusOr<mv::VersionInfo> set =
      vault_->catalog().SetAlias("m@1", "prod");
  ASSERT_THAT(set, IsOk());
  EXPECT_EQ(set->number, 1u);
  EXPECT_THAT(set->aliases, ElementsAre("prod"));
  EXPECT_EQ(Fetch("m@prod").bytes, "1");
  ASSERT_THAT(vault_->catalog().SetAlias("m@latest", "prod"), IsOk());
  EXPECT_EQ(Fetch("m@prod").bytes, "2");
  absl::StatusOr<mv::VersionInfo> one = vault_->catalog().GetVersion("m@1");
  ASSERT_THAT(one, IsOk());
  EXPECT_THAT(one->aliases, IsEmpty());
  ASSERT_THAT(vault_->catalog().DeleteAlias("m", "prod"), IsOk());
  EXPECT_THAT(vault_->catalog().GetVersion("m@prod"),
              StatusIs(absl::StatusCode::kNotFound, "not found: m@prod"));
  EXPECT_THAT(
      vault_->catalog().DeleteAlias("m", "prod"),
      StatusIs(absl::StatusCode::kNotFound, "not found: alias prod of m"));
}

TEST_F(VaultCatalogTest, AliasErrors) {
  ASSERT_THAT(Upload("m", "1"), IsOk());
  EXPECT_THAT(vault_->catalog().SetAlias("m@7", "prod"),
              StatusIs(absl::StatusCode::kNotFound, "not found: m@7"));
  EXPECT_THAT(vault_->catalog().SetAlias("nope", "prod"),
              StatusIs(absl::StatusCode::kNotFound, "not found: nope"));
  EXPECT_THAT(
      vault_->catalog().SetAlias("m", "latest"),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("reserved")));
  EXPECT_THAT(
      vault_->catalog().SetAlias("m", "Prod"),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("invalid alias")));
  EXPECT_THAT(
      vault_->catalog().DeleteAlias("nope", "prod"),
      StatusIs(absl::StatusCode::kNotFound, "not found: alias prod of nope"));
  EXPECT_THAT(vault_->catalog().DeleteAlias("Bad", "prod"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("invalid artifact name")));
  EXPECT_THAT(
      vault_->catalog().DeleteAlias("m", "latest"),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("reserved")));
}

TEST_F(VaultCatalogTest, ListVersionsPagesThroughEverything) {
  for (const char* name : {"m/a", "m/a", "m/b", "m/b", "m/b"})
    ASSERT_THAT(Upload(name, name), IsOk());
  absl::StatusOr<mv::VersionPage> page =
      vault_->catalog().ListVersions("", 2, "");
  ASSERT_THAT(page, IsOk());
  EXPECT_THAT(Refs(*page), ElementsAre("m/a@1", "m/a@2"));
  ASSERT_FALSE(page->next_page_token.empty());
  page = vault_->catalog().ListVersions("", 2, page->next_page_token);
  ASSERT_THAT(page, IsOk());
  EXPECT_THAT(Refs(*page), ElementsAre("m/b@1", "m/b@2"));
  ASSERT_FALSE(page->next_page_token.empty());
  page = vault_->catalog().ListVersions("", 2, page->next_page_token);
  ASSERT_THAT(page, IsOk());
  EXPECT_THAT(Refs(*page), ElementsAre("m/b@3"));
  EXPECT_EQ(page->next_page_token, "");
}

// `ls` for a caller who may list little: only the ranges its list globs
// reach are scanned, and paging crosses from one range to the next without
// losing or repeating a version.
TEST_F(VaultCatalogTest, ListVersionsForPagesThroughWhatTheCallerMayList) {
  for (const char* name :
       {"acme/pub/a", "acme/pub/b", "acme/priv/x", "big/1", "big/2", "big/3",
        "team/m", "team/secret/s", "zoo/m", "zoo/n"}) {
    ASSERT_THAT(Upload(name, name), IsOk());
  }
  ASSERT_THAT(Upload("team/m", "v2"), IsOk());
  PutPolicy("lister", R"({"rules":[
      {"effect":"allow","actions":["list"],"artifacts":["acme/pub/*","team/**","zoo/m"]},
      {"effect":"deny","actions":["list"],"artifacts":["team/secret/**"]}]})");
  absl::StatusOr<mv::Principal> who = Login(AddPrincipal("lister", {"lister"}));
  ASSERT_THAT(who, IsOk());
  std::vector<std::string> seen;
  std::string token;
  int pages = 0;
  do {
    absl::StatusOr<mv::VersionPage> page =
        vault_->catalog().ListVersionsFor(*who, "", "", 2, token);
    ASSERT_THAT(page, IsOk());
    EXPECT_LE(page->versions.size(), 2u);
    for (const std::string& ref : Refs(*page)) seen.push_back(ref);
    token = page->next_page_token;
  } while (!token.empty() && ++pages < 10);
  EXPECT_THAT(seen, ElementsAre("acme/pub/a@1", "acme/pub/b@1", "team/m@1",
                                "team/m@2", "zoo/m@1"));
  // Narrowed by the request's prefix; nothing for a prefix it may not list.
  absl::StatusOr<mv::VersionPage> page =
      vault_->catalog().ListVersionsFor(*who, "", "team/", 10, "");
  ASSERT_THAT(page, IsOk());
  EXPECT_THAT(Refs(*page), ElementsAre("team/m@1", "team/m@2"));
  page = vault_->catalog().ListVersionsFor(*who, "", "big/", 10, "");
  ASSERT_THAT(page, IsOk());
  EXPECT_THAT(Refs(*page), ::testing::IsEmpty());
  EXPECT_THAT(vault_->catalog().ListVersionsFor(*who, "", "team/", 10, "Zm9v"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("invalid page token")));
}

TEST_F(VaultCatalogTest, ListVersionsExactPageHasNoNextToken) {
  for (int i = 0; i < 4; ++i) ASSERT_THAT(Upload("m", "x"), IsOk());
  absl::StatusOr<mv::VersionPage> page =
      vault_->catalog().ListVersions("", 2, "");
  ASSERT_THAT(page, IsOk());
  page = vault_->catalog().ListVersions("", 2, page->next_page_token);
  ASSERT_THAT(page, IsOk());
  EXPECT_THAT(Refs(*page), ElementsAre("m@3", "m@4"));
  EXPECT_EQ(page->next_page_token, "");
  page = vault_->catalog().ListVersions("", 0, "");
  ASSERT_THAT(page, IsOk());
  EXPECT_EQ(page->versions.size(), 4u) << "page size 0 means the default";
}

TEST_F(VaultCatalogTest, ListVersionsFiltersByPrefix) {
  for (const char* name : {"org/a", "org/ab", "other/a", "org/b"})
    ASSERT_THAT(Upload(name, name), IsOk());
  absl::StatusOr<mv::VersionPage> page =
      vault_->catalog().ListVersions("org/a", 10, "");
  ASSERT_THAT(page, IsOk());
  EXPECT_THAT(Refs(*page), ElementsAre("org/a@1", "org/ab@1"));
  page = vault_->catalog().ListVersions("org/", 1, "");
  ASSERT_THAT(page, IsOk());
  EXPECT_THAT(Refs(*page), ElementsAre("org/a@1"));
  page = vault_->catalog().ListVersions("org/", 1, page->next_page_token);
  ASSERT_THAT(page, IsOk());
  EXPECT_THAT(Refs(*page), ElementsAre("org/ab@1"));
  page = vault_->catalog().ListVersions("zzz", 10, "");
  ASSERT_THAT(page, IsOk());
  EXPECT_THAT(page->versions, IsEmpty());
  EXPECT_EQ(page->next_page_token, "");
  EXPECT_THAT(vault_->catalog().ListVersions("Org", 10, ""),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("invalid name prefix")));
}

TEST_F(VaultCatalogTest, ListVersionsRejectsInvalidTokens) {
  for (int i = 0; i < 3; ++i) ASSERT_THAT(Upload("m", "x"), IsOk());
  absl::StatusOr<mv::VersionPage> page =
      vault_->catalog().ListVersions("m", 1, "");
  ASSERT_THAT(page, IsOk());
  for (const std::string& token :
       {std::string("!!!not base64!!!"), std::string("*"),
        absl::WebSafeBase64Escape(absl::string_view("other\0", 6))}) {
    EXPECT_THAT(
        vault_->catalog().ListVersions("m", 1, token),
        StatusIs(absl::StatusCode::kInvalidArgument, "invalid page token"))
        << token;
  }
  EXPECT_THAT(
      vault_->catalog().ListVersions("x", 1, page->next_page_token),
      StatusIs(absl::StatusCode::kInvalidArgument, "invalid page token"))
      << "a token from another prefix";
}

TEST_F(VaultCatalogTest, ListVersionsCarriesAliases) {
  ASSERT_THAT(Upload({"m", {{"k", "v"}}, {"prod"}, 0}, "x"), IsOk());
  absl::StatusOr<mv::VersionPage> page =
      vault_->catalog().ListVersions("", 0, "");
  ASSERT_THAT(page, IsOk());
  ASSERT_EQ(page->versions.size(), 1u);
  EXPECT_THAT(page->versions[0].aliases, ElementsAre("prod"));
  EXPECT_EQ(page->versions[0].labels.at("k"), "v");
}

TEST_F(VaultCatalogTest, CollectGarbageTakesIdleUploadsAndKeepsFreshOnes) {
  auto idle = vault_->catalog().BeginUpload({"idle", {}, {}, 0}, root_);
  ASSERT_THAT(idle, IsOk());
  clock_.Advance(absl::Minutes(50));
  auto fresh = vault_->catalog().BeginUpload({"fresh", {}, {}, 0}, root_);
  ASSERT_THAT(fresh, IsOk());
  clock_.Advance(absl::Minutes(20));  // idle: 70 min, fresh: 20 min
  EXPECT_THAT(vault_->catalog().CollectGarbage(absl::Hours(1)),
              IsOkAndHolds(1u));
  EXPECT_THAT(vault_->catalog().CollectGarbage(absl::Hours(1)),
              IsOkAndHolds(0u));
  ASSERT_THAT((*fresh)->Append(std::string(kChunk + 1, 'f')), IsOk());
  absl::StatusOr<mv::VersionInfo> done = (*fresh)->Commit("");
  ASSERT_THAT(done, IsOk());
  EXPECT_EQ(Fetch("fresh").bytes, std::string(kChunk + 1, 'f'));
}

TEST_F(VaultCatalogTest, CollectGarbageFreesTheChunksOfIdleUploads) {
  auto idle = vault_->catalog().BeginUpload({"idle", {}, {}, 0}, root_);
  ASSERT_THAT(idle, IsOk());
  ASSERT_THAT((*idle)->Append(std::string(3 * kChunk + 1, 'i')), IsOk());
  idle->reset();  // frees its own chunks; GC then has nothing to do
  EXPECT_THAT(vault_->catalog().CollectGarbage(absl::ZeroDuration()),
              IsOkAndHolds(0u));
  CloseVault();
  EXPECT_THAT(StoredChunks(), IsEmpty());
}

TEST_F(VaultCatalogTest, ReopenCollectsPendingUploadsOfAPreviousProcess) {
  ASSERT_THAT(Upload("keep", "kept"), IsOk());
  CloseVault();
  // What a crash mid-upload leaves behind: a pending record and chunks.
  ASSERT_THAT(
      EditRaw([](mv::LmdbEnv& env, mv::WriteTxn& txn) -> absl::Status {
        if (auto s = txn.Put(env.Db("pending"), mv::IdKey(99),
                             mv::EncodePending({"crashed", 0}));
            !s.ok())
          return s;
        if (auto s = txn.Put(env.Db("pending"), mv::IdKey(98), "garbage");
            !s.ok())
          return s;
        for (uint64_t i = 0; i < 3; ++i) {
          if (auto s = txn.Put(env.Db("chunks"), mv::ChunkKey(99, i), "sealed");
              !s.ok())
            return s;
        }
        return absl::OkStatus();
      }),
      IsOk());
  Reopen();
  CloseVault();
  EXPECT_THAT(DumpRaw("pending"), IsEmpty());
  std::vector<ChunkKey> chunks = StoredChunks();
  ASSERT_EQ(chunks.size(), 1u);
  EXPECT_NE(chunks[0].version_id, 99u);
}

TEST_F(VaultCatalogTest, CommitAfterItsUploadWasCollectedFails) {
  // An upload idle past the TTL is collected; if its client then resumes and
  // commits, the version must not be published with chunks missing.
  auto writer = vault_->catalog().BeginUpload({"late", {}, {}, 0}, root_);
  ASSERT_THAT(writer, IsOk());
  ASSERT_THAT((*writer)->Append(std::string(2 * kChunk + 1, 'a')), IsOk());
  clock_.Advance(absl::Hours(2));
  ASSERT_THAT(vault_->catalog().CollectGarbage(absl::Hours(1)),
              IsOkAndHolds(1u));
  // The committer may notice first (then Append fails) or Commit does.
  absl::Status appended = (*writer)->Append(std::string(kChunk, 'b'));
  EXPECT_TRUE(appended.ok() || appended.code() == absl::StatusCode::kAborted)
      << appended;
  EXPECT_THAT((*writer)->Commit(""),
              StatusIs(absl::StatusCode::kAborted, HasSubstr("expired")));
  writer->reset();
  EXPECT_THAT(vault_->catalog().GetVersion("late"),
              StatusIs(absl::StatusCode::kNotFound, "not found: late"));
  CloseVault();
  EXPECT_THAT(StoredChunks(), IsEmpty());
  EXPECT_THAT(DumpRaw("pending"), IsEmpty());
}

}  // namespace
}  // namespace mvtesting
