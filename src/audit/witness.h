// AuditWitness: an append-only file outside the data dir that receives every
// audit checkpoint, one export line each (audit_export.h), so that restoring
// an older data.mdb (a rollback that would erase audit records) is caught:
// the witness then holds a checkpoint the database does not (DESIGN.md §6).
//
// It must live outside the data dir: a backup or snapshot of the data dir
// must not carry the witness back with it. A torn last line (a crash during
// append) is dropped when the file is opened.
//
// Thread safety: thread-compatible (AuditLog serialises its use).
#ifndef MODELVAULT_AUDIT_WITNESS_H_
#define MODELVAULT_AUDIT_WITNESS_H_

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "audit/checkpoint.h"

namespace mv {

class AuditWitness {
 public:
  // Opens `path` for appending, creating it (mode 0600) if absent, and reads
  // its newest checkpoint. FAILED_PRECONDITION naming the file if it cannot
  // be opened, or if its last line is not a checkpoint signed with
  // `public_key` (a witness of another vault, or edited by hand).
  static absl::StatusOr<std::unique_ptr<AuditWitness>> Open(
      std::string path, std::string_view public_key);
  ~AuditWitness();
  AuditWitness(const AuditWitness&) = delete;
  AuditWitness& operator=(const AuditWitness&) = delete;

  // The newest checkpoint in the file; nullopt for an empty witness.
  const std::optional<Checkpoint>& last() const { return last_; }
  const std::string& path() const { return path_; }

  // Appends one line and fsyncs it. UNAVAILABLE naming the file on failure.
  absl::Status Append(const Checkpoint& c, std::string_view signature);

 private:
  AuditWitness(std::string path, int fd) : path_(std::move(path)), fd_(fd) {}
  std::string path_;
  int fd_;
  std::optional<Checkpoint> last_;
};

// The default witness of a data dir: "<data_dir>.audit-witness" beside it
// (trailing slashes ignored).
std::string DefaultWitnessPath(std::string_view data_dir);
// INVALID_ARGUMENT if `witness` is inside `data_dir` (lexically, after
// making both absolute and normal).
absl::Status CheckWitnessOutside(std::string_view witness,
                                 std::string_view data_dir);

}  // namespace mv

#endif  // MODELVAULT_AUDIT_WITNESS_H_
