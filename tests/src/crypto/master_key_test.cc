#include "crypto/master_key.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>

#include "common/bytes.h"
#include "testing/status_matchers.h"
#include "testing/temp_dir.h"

namespace mv {
namespace {

using ::mvtesting::IsOk;
using ::mvtesting::StatusIs;
using ::testing::AllOf;
using ::testing::HasSubstr;

std::string Raw(const SecretKey& k) {
  return std::string(reinterpret_cast<const char*>(k.data()), SecretKey::kSize);
}

void WriteFile(const std::string& path, const std::string& contents,
               mode_t mode) {
  std::ofstream(path, std::ios::binary) << contents;
  ASSERT_EQ(chmod(path.c_str(), mode), 0);
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

TEST(LoadMasterKeyFile, ReadsA0600FileOfExactly32Bytes) {
  mvtesting::TempDir dir;
  const std::string raw(32, '\x07');
  WriteFile(dir.Sub("kek"), raw, 0600);
  absl::StatusOr<SecretKey> key = LoadMasterKeyFile(dir.Sub("kek"));
  ASSERT_THAT(key, IsOk());
  EXPECT_EQ(Raw(*key), raw);
}

TEST(LoadMasterKeyFile, AcceptsOwnerReadOnly0400) {
  mvtesting::TempDir dir;
  WriteFile(dir.Sub("kek"), std::string(32, 'k'), 0400);
  EXPECT_THAT(LoadMasterKeyFile(dir.Sub("kek")), IsOk());
}

TEST(LoadMasterKeyFile, RejectsGroupOrOtherPermissionsWithChmodAdvice) {
  mvtesting::TempDir dir;
  for (mode_t mode : {0644, 0640, 0604, 0660, 0602, 0620, 0601}) {
    WriteFile(dir.Sub("kek"), std::string(32, 'k'), mode);
    char octal[8];
    snprintf(octal, sizeof octal, "%04o", mode);
    EXPECT_THAT(LoadMasterKeyFile(dir.Sub("kek")),
                StatusIs(absl::StatusCode::kFailedPrecondition,
                         AllOf(HasSubstr("chmod 600"),
                               HasSubstr(dir.Sub("kek")), HasSubstr(octal))))
        << octal;
  }
}

TEST(LoadMasterKeyFile, RejectsWrongLength) {
  mvtesting::TempDir dir;
  for (size_t n : {0, 1, 31, 33, 64}) {
    WriteFile(dir.Sub("kek"), std::string(n, 'k'), 0600);
    EXPECT_THAT(LoadMasterKeyFile(dir.Sub("kek")),
                StatusIs(absl::StatusCode::kInvalidArgument,
                         HasSubstr("exactly 32 bytes")))
        << n;
  }
}

TEST(LoadMasterKeyFile, MissingFileIsNotFound) {
  mvtesting::TempDir dir;
  EXPECT_THAT(
      LoadMasterKeyFile(dir.Sub("absent")),
      StatusIs(absl::StatusCode::kNotFound, HasSubstr(dir.Sub("absent"))));
}

TEST(CreateMasterKeyFile, Writes32Bytes0600ThatLoadBack) {
  mvtesting::TempDir dir;
  absl::StatusOr<SecretKey> key = CreateMasterKeyFile(dir.Sub("kek"));
  ASSERT_THAT(key, IsOk());
  struct stat st {};
  ASSERT_EQ(stat(dir.Sub("kek").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0600u);
  EXPECT_EQ(st.st_size, 32);
  EXPECT_EQ(ReadFile(dir.Sub("kek")), Raw(*key));
  absl::StatusOr<SecretKey> loaded = LoadMasterKeyFile(dir.Sub("kek"));
  ASSERT_THAT(loaded, IsOk());
  EXPECT_EQ(Raw(*loaded), Raw(*key));
}

TEST(CreateMasterKeyFile, TwoFilesHoldDifferentKeys) {
  mvtesting::TempDir dir;
  absl::StatusOr<SecretKey> a = CreateMasterKeyFile(dir.Sub("a"));
  absl::StatusOr<SecretKey> b = CreateMasterKeyFile(dir.Sub("b"));
  ASSERT_THAT(a, IsOk());
  ASSERT_THAT(b, IsOk());
  EXPECT_NE(Raw(*a), Raw(*b));
}

TEST(CreateMasterKeyFile, RefusesAnExistingFileAndLeavesItAlone) {
  mvtesting::TempDir dir;
  WriteFile(dir.Sub("kek"), "precious", 0600);
  EXPECT_THAT(
      CreateMasterKeyFile(dir.Sub("kek")),
      StatusIs(absl::StatusCode::kAlreadyExists, HasSubstr(dir.Sub("kek"))));
  EXPECT_EQ(ReadFile(dir.Sub("kek")), "precious");
}

TEST(CreateMasterKeyFile, MissingDirectoryIsNotFound) {
  mvtesting::TempDir dir;
  EXPECT_THAT(CreateMasterKeyFile(dir.Sub("no/such/kek")),
              StatusIs(absl::StatusCode::kNotFound, HasSubstr("no/such/kek")));
}

TEST(WriteSecretFile, WritesContentsWithMode0600) {
  mvtesting::TempDir dir;
  ASSERT_THAT(WriteSecretFile(dir.Sub("s"), "token-bytes"), IsOk());
  struct stat st {};
  ASSERT_EQ(stat(dir.Sub("s").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0600u);
  EXPECT_EQ(ReadFile(dir.Sub("s")), "token-bytes");
  EXPECT_THAT(
      WriteSecretFile(dir.Sub("s"), "x"),
      StatusIs(absl::StatusCode::kAlreadyExists, HasSubstr(dir.Sub("s"))));
  EXPECT_EQ(ReadFile(dir.Sub("s")), "token-bytes");
}

TEST(KeyCheckValue, IsDeterministicAndDiffersPerKey) {
  const std::string a(32, 'a'), b(32, 'b');
  const std::string kcv_a = KeyCheckValue(*SecretKey::FromBytes(AsBytes(a)));
  EXPECT_EQ(kcv_a.size(), 32u);
  EXPECT_EQ(kcv_a, KeyCheckValue(*SecretKey::FromBytes(AsBytes(a))));
  EXPECT_NE(kcv_a, KeyCheckValue(*SecretKey::FromBytes(AsBytes(b))));
  std::string a1 = a;
  a1[31] = 'A';
  EXPECT_NE(kcv_a, KeyCheckValue(*SecretKey::FromBytes(AsBytes(a1))));
  EXPECT_EQ(kcv_a.find(a.substr(0, 8)), std::string::npos);
}

TEST(DeriveSubkey, IsDeterministicAndSeparatesIdsAndContexts) {
  const SecretKey key = *SecretKey::FromBytes(AsBytes(std::string(32, 'm')));
  auto derive = [&](uint64_t id, const char* ctx) {
    return Raw(*DeriveSubkey(key, id, ctx));
  };
  const std::string base = derive(1, "mvtoken_");
  EXPECT_EQ(base, derive(1, "mvtoken_"));
  EXPECT_NE(base, derive(2, "mvtoken_"));
  EXPECT_NE(base, derive(1, "mvsign__"));
  EXPECT_NE(base, Raw(key));
}

}  // namespace
}  // namespace mv
