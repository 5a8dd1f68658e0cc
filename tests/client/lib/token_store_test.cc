#include "client/lib/token_store.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include "client/lib/config.h"
#include "test_util.h"

namespace mvclient {
namespace {

namespace fs = std::filesystem;
using testing::ReadFile;
using testing::TempDir;

mode_t Mode(const std::string& path) {
  struct stat st;
  EXPECT_EQ(::stat(path.c_str(), &st), 0) << path;
  return st.st_mode & 07777;
}

size_t Entries(const fs::path& dir) {
  return static_cast<size_t>(std::distance(fs::directory_iterator(dir), {}));
}

TEST(TokenStoreTest, CreatesMissingDirectoriesPrivateAndFileMode0600) {
  TempDir dir;
  std::string path = dir.File("xdg/modelvault/token");
  ASSERT_TRUE(WriteTokenFile(path, "mvt_abc").ok());
  EXPECT_EQ(ReadFile(path), "mvt_abc\n");
  EXPECT_EQ(Mode(path), 0600u);
  EXPECT_EQ(Mode(dir.File("xdg/modelvault")), 0700u);
  EXPECT_EQ(Mode(dir.File("xdg")), 0700u);
  auto back = ReadTokenFile(path);
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(*back, "mvt_abc");
}

TEST(TokenStoreTest, LeavesExistingDirectoriesAlone) {
  TempDir dir;
  fs::create_directories(dir.path() / "cfg");
  ::chmod(dir.File("cfg").c_str(), 0755);
  ASSERT_TRUE(WriteTokenFile(dir.File("cfg/token"), "mvt_abc").ok());
  EXPECT_EQ(Mode(dir.File("cfg")), 0755u);
}

TEST(TokenStoreTest, ReplacesAnOpenFileAtomicallyWithMode0600) {
  TempDir dir;
  std::string path = dir.File("token");
  std::ofstream(path) << "mvt_old\n";
  ::chmod(path.c_str(), 0644);
  ASSERT_TRUE(WriteTokenFile(path, "mvt_new").ok());
  EXPECT_EQ(ReadFile(path), "mvt_new\n");
  EXPECT_EQ(Mode(path), 0600u);
  EXPECT_EQ(Entries(dir.path()), 1u);  // no temporary left behind
}

TEST(TokenStoreTest, FailedRenameKeepsTheOldEntryAndLeavesNoTemporary) {
  TempDir dir;
  // A non-empty directory where the file should go: rename(2) must fail.
  fs::create_directories(dir.path() / "token" / "inside");
  absl::Status s = WriteTokenFile(dir.File("token"), "mvt_new");
  EXPECT_FALSE(s.ok());
  EXPECT_NE(s.message().find(dir.File("token")), std::string::npos);
  EXPECT_TRUE(fs::is_directory(dir.path() / "token" / "inside"));
  EXPECT_EQ(Entries(dir.path()), 1u);
}

TEST(TokenStoreTest, UnwritableDirectoryIsPermissionDenied) {
  if (::geteuid() == 0) GTEST_SKIP() << "root ignores directory modes";
  TempDir dir;
  fs::create_directories(dir.path() / "ro");
  ::chmod(dir.File("ro").c_str(), 0500);
  absl::Status s = WriteTokenFile(dir.File("ro/token"), "mvt_x");
  ::chmod(dir.File("ro").c_str(), 0700);
  EXPECT_EQ(s.code(), absl::StatusCode::kPermissionDenied) << s;
  EXPECT_EQ(Entries(dir.path() / "ro"), 0u);
}

TEST(TokenStoreTest, MalformedTokenIsRefusedAndNothingIsWritten) {
  TempDir dir;
  EXPECT_EQ(WriteTokenFile(dir.File("t"), "").code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(WriteTokenFile(dir.File("t"), "mvt_a mvt_b").code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(WriteTokenFile(dir.File("t"), "mvt_a\nX").code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(WriteTokenFile("", "mvt_a").code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(Entries(dir.path()), 0u);
}

TEST(TokenStoreTest, RemoveReportsWhetherThereWasAFile) {
  TempDir dir;
  std::string path = dir.File("token");
  ASSERT_TRUE(WriteTokenFile(path, "mvt_abc").ok());
  auto removed = RemoveTokenFile(path);
  ASSERT_TRUE(removed.ok()) << removed.status();
  EXPECT_TRUE(*removed);
  EXPECT_FALSE(fs::exists(path));
  removed = RemoveTokenFile(path);
  ASSERT_TRUE(removed.ok()) << removed.status();
  EXPECT_FALSE(*removed);
}

}  // namespace
}  // namespace mvclient
