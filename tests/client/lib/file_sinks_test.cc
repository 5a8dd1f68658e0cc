#include "client/lib/file_sinks.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>

#include "test_util.h"

namespace mvclient {
namespace {

namespace fs = std::filesystem;
using testing::Pattern;
using testing::ReadFile;
using testing::TempDir;

TEST(PartialFileSinkTest, CommitRenamesPartialToDest) {
  TempDir dir;
  std::string dest = dir.File("model");
  auto sink = PartialFileSink::Create(dest, false);
  ASSERT_TRUE(sink.ok()) << sink.status();
  ASSERT_TRUE((*sink)->Write("hello ").ok());
  EXPECT_TRUE(fs::exists(dest + ".partial"));
  EXPECT_FALSE(fs::exists(dest));
  ASSERT_TRUE((*sink)->Write("world").ok());
  ASSERT_TRUE((*sink)->Commit().ok());
  EXPECT_EQ(ReadFile(dest), "hello world");
  EXPECT_FALSE(fs::exists(dest + ".partial"));
}

// Chunks as a pull delivers them (1 MiB) plus an unaligned tail, through
// the O_DIRECT path where the file system allows it.
TEST(PartialFileSinkTest, LargeUnalignedFileIsByteIdentical) {
  TempDir dir;
  std::string dest = dir.File("model");
  const std::string data = Pattern((size_t{9} << 20) + 4097);
  auto sink = PartialFileSink::Create(dest, false);
  ASSERT_TRUE(sink.ok()) << sink.status();
  for (size_t pos = 0; pos < data.size(); pos += size_t{1} << 20) {
    absl::string_view chunk = absl::string_view(data).substr(pos, 1 << 20);
    ASSERT_TRUE((*sink)->Write(chunk).ok());
  }
  ASSERT_TRUE((*sink)->Commit().ok());
  EXPECT_TRUE(ReadFile(dest) == data);
  EXPECT_EQ(fs::file_size(dest), data.size());
}

TEST(PartialFileSinkTest, PartialIsOwnerOnly) {
  TempDir dir;
  auto sink = PartialFileSink::Create(dir.File("m"), false);
  ASSERT_TRUE(sink.ok());
  struct stat st;
  ASSERT_EQ(::stat((*sink)->partial_path().c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0077, 0u);
}

TEST(PartialFileSinkTest, AbortRemovesPartialAndLeavesNoDest) {
  TempDir dir;
  std::string dest = dir.File("model");
  auto sink = PartialFileSink::Create(dest, false);
  ASSERT_TRUE(sink.ok());
  ASSERT_TRUE((*sink)->Write("junk").ok());
  (*sink)->Abort();
  EXPECT_FALSE(fs::exists(dest + ".partial"));
  EXPECT_FALSE(fs::exists(dest));
}

TEST(PartialFileSinkTest, DestructionWithoutCommitAborts) {
  TempDir dir;
  std::string dest = dir.File("model");
  {
    auto sink = PartialFileSink::Create(dest, false);
    ASSERT_TRUE(sink.ok());
    ASSERT_TRUE((*sink)->Write("junk").ok());
  }
  EXPECT_TRUE(fs::is_empty(dir.path()));
}

TEST(PartialFileSinkTest, RefusesExistingDestWithoutOverwrite) {
  TempDir dir;
  std::string dest = dir.File("model");
  std::ofstream(dest) << "keep me";
  auto sink = PartialFileSink::Create(dest, false);
  EXPECT_EQ(sink.status().code(), absl::StatusCode::kAlreadyExists);
  EXPECT_NE(sink.status().message().find("--force"), absl::string_view::npos);
  EXPECT_EQ(ReadFile(dest), "keep me");
  EXPECT_FALSE(fs::exists(dest + ".partial"));
}

TEST(PartialFileSinkTest, OverwriteReplacesOnlyOnCommit) {
  TempDir dir;
  std::string dest = dir.File("model");
  std::ofstream(dest) << "old";
  auto sink = PartialFileSink::Create(dest, true);
  ASSERT_TRUE(sink.ok());
  ASSERT_TRUE((*sink)->Write("new").ok());
  EXPECT_EQ(ReadFile(dest), "old");
  ASSERT_TRUE((*sink)->Commit().ok());
  EXPECT_EQ(ReadFile(dest), "new");
}

TEST(PartialFileSinkTest, AbortedOverwriteKeepsTheOldFile) {
  TempDir dir;
  std::string dest = dir.File("model");
  std::ofstream(dest) << "old";
  auto sink = PartialFileSink::Create(dest, true);
  ASSERT_TRUE(sink.ok());
  ASSERT_TRUE((*sink)->Write("new").ok());
  (*sink)->Abort();
  EXPECT_EQ(ReadFile(dest), "old");
}

TEST(PartialFileSinkTest, StalePartialIsReplaced) {
  TempDir dir;
  std::string dest = dir.File("model");
  std::ofstream(dest + ".partial") << "stale bytes from a killed pull";
  auto sink = PartialFileSink::Create(dest, false);
  ASSERT_TRUE(sink.ok()) << sink.status();
  ASSERT_TRUE((*sink)->Write("fresh").ok());
  ASSERT_TRUE((*sink)->Commit().ok());
  EXPECT_EQ(ReadFile(dest), "fresh");
}

TEST(PartialFileSinkTest, DoesNotWriteThroughPlantedSymlink) {
  TempDir dir;
  std::string dest = dir.File("model");
  std::string victim = dir.File("victim");
  std::ofstream(victim) << "precious";
  fs::create_symlink(victim, dest + ".partial");
  auto sink = PartialFileSink::Create(dest, false);
  ASSERT_TRUE(sink.ok()) << sink.status();
  ASSERT_TRUE((*sink)->Write("payload").ok());
  ASSERT_TRUE((*sink)->Commit().ok());
  EXPECT_EQ(ReadFile(victim), "precious");
  EXPECT_EQ(ReadFile(dest), "payload");
}

TEST(PartialFileSinkTest, DirectoryDestIsRejected) {
  TempDir dir;
  auto sink = PartialFileSink::Create(dir.path().string(), true);
  EXPECT_EQ(sink.status().code(), absl::StatusCode::kFailedPrecondition);
}

TEST(PartialFileSinkTest, MissingParentDirIsNotFound) {
  TempDir dir;
  auto sink = PartialFileSink::Create(dir.File("no/such/file"), false);
  EXPECT_EQ(sink.status().code(), absl::StatusCode::kNotFound);
}

TEST(PartialFileSinkTest, CommitFailureLeavesNothing) {
  TempDir dir;
  std::string dest = dir.File("model");
  auto sink = PartialFileSink::Create(dest, false);
  ASSERT_TRUE(sink.ok());
  ASSERT_TRUE((*sink)->Write("x").ok());
  std::ofstream(dest) << "raced in";  // appears after the pre-check
  absl::Status s = (*sink)->Commit();
  EXPECT_EQ(s.code(), absl::StatusCode::kAlreadyExists);
  EXPECT_EQ(ReadFile(dest), "raced in");
  EXPECT_FALSE(fs::exists(dest + ".partial"));
}

}  // namespace
}  // namespace mvclient
