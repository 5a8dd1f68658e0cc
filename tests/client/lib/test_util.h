// Helpers shared by the client library tests: temp directories, digests and
// in-memory fakes of the gRPC stream interfaces. Not thread-safe.
#ifndef MODELVAULT_TESTS_CLIENT_LIB_TEST_UTIL_H_
#define MODELVAULT_TESTS_CLIENT_LIB_TEST_UTIL_H_

#include <grpcpp/support/sync_stream.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "client/lib/byte_sink.h"
#include "common/bytes.h"
#include "crypto/sha256.h"
#include "modelvault/v1/artifact.pb.h"

namespace mvclient::testing {

// A fresh directory removed on destruction.
class TempDir {
 public:
  TempDir() {
    std::string tmpl =
        (std::filesystem::temp_directory_path() / "mvclient_test_XXXXXX")
            .string();
    path_ = ::mkdtemp(tmpl.data());
  }
  ~TempDir() { std::filesystem::remove_all(path_); }
  const std::filesystem::path& path() const { return path_; }
  std::string File(const std::string& name) const {
    return (path_ / name).string();
  }

 private:
  std::filesystem::path path_;
};

inline std::string Digest(const std::string& data) {
  return std::string(mv::AsChars(mv::Sha256::Of(data)));
}

// Deterministic non-repeating-looking bytes.
inline std::string Pattern(size_t n) {
  std::string s(n, '\0');
  uint32_t x = 2463534242u;
  for (size_t i = 0; i < n; ++i) {
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    s[i] = static_cast<char>(x);
  }
  return s;
}

inline std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

// Replays scripted messages; Finish() returns `status`, or CANCELLED once
// cancelled (like a real call).
class FakeDownloadStream
    : public grpc::ClientReaderInterface<modelvault::v1::DownloadResponse> {
 public:
  std::vector<modelvault::v1::DownloadResponse> messages;
  grpc::Status status;
  bool cancelled = false;
  size_t reads = 0;

  bool Read(modelvault::v1::DownloadResponse* msg) override {
    if (cancelled || reads >= messages.size()) return false;
    *msg = messages[reads++];
    return true;
  }
  bool NextMessageSize(uint32_t* size) override {
    *size = 1 << 20;
    return reads < messages.size();
  }
  grpc::Status Finish() override {
    if (cancelled)
      return grpc::Status(grpc::StatusCode::CANCELLED, "cancelled");
    return status;
  }
  void WaitForInitialMetadata() override {}
};

// Records what was sent. Write fails once `fail_at` messages were accepted.
class FakeUploadStream
    : public grpc::ClientWriterInterface<modelvault::v1::UploadRequest> {
 public:
  std::vector<modelvault::v1::UploadRequest> sent;
  size_t fail_at = SIZE_MAX;
  bool writes_done = false;
  bool finished = false;
  grpc::Status status;

  bool Write(const modelvault::v1::UploadRequest& msg,
             grpc::WriteOptions) override {
    if (sent.size() >= fail_at) return false;
    sent.push_back(msg);
    return true;
  }
  bool WritesDone() override {
    writes_done = true;
    return true;
  }
  grpc::Status Finish() override {
    finished = true;
    return status;
  }
};

// Keeps bytes in memory; can fail the Nth write.
class MemorySink : public ByteSink {
 public:
  std::string data;
  int fail_on_write = -1;  // 0-based index of the failing write
  int writes = 0;
  bool committed = false;
  bool aborted = false;

  absl::Status Write(absl::string_view chunk) override {
    if (writes++ == fail_on_write)
      return absl::ResourceExhaustedError("disk full");
    data.append(chunk.data(), chunk.size());
    return absl::OkStatus();
  }
  absl::Status Commit() override {
    committed = true;
    return absl::OkStatus();
  }
  void Abort() override { aborted = true; }
};

}  // namespace mvclient::testing

#endif  // MODELVAULT_TESTS_CLIENT_LIB_TEST_UTIL_H_
