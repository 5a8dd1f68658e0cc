// AuditWitness: an append-only file outside the data dir that receives every
// audit checkpoint, one export line each (audit_export.h), so that restoring
// an older data.mdb (a rollback that would erase audit records) is caught:
// the witness then holds a checkpoint the database does not (DESIGN.md §6).
//
// It must live outside the data dir: a backup or snapshot of the data dir
// must not carry the witness back with it. A torn last line (a crash during
// append) is dropped when the file is opened for appending, and ignored when
// it is only read. Every line is checked when the file is opened: a signed
// checkpoint of this vault, sequences strictly increasing. The file is read
// whole (about 300 bytes per checkpoint).
//
// Thread safety: thread-compatible (AuditLog serialises its use).
#ifndef MODELVAULT_AUDIT_WITNESS_H_
#define MODELVAULT_AUDIT_WITNESS_H_

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "audit/checkpoint.h"

namespace mv {

class AuditWitness {
 public:
  enum class Mode {
    kCreate,    // append; create the file (mode 0600) if absent
    kExisting,  // append; NOT_FOUND if absent
    kReadOnly,  // read only (an inspecting process); NOT_FOUND if absent
  };
  // Opens `path` and checks every line (ParseWitness). FAILED_PRECONDITION
  // naming the file and the line if one is not a checkpoint signed with
  // `public_key` (a witness of another vault, or edited by hand) or does not
  // increase, or if the file cannot be opened.
  static absl::StatusOr<std::unique_ptr<AuditWitness>> Open(
      std::string path, std::string_view public_key, Mode mode = Mode::kCreate);
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
  // Reads and checks the whole file; drops a torn last line if `repair`.
  absl::Status Load(std::string_view public_key, bool repair);
  std::string path_;
  int fd_;
  std::optional<Checkpoint> last_;
};

// The checkpoints of witness text: every '\n'-terminated line a checkpoint
// signed with `public_key`, sequences strictly increasing; a last line
// without '\n' (a torn append) is ignored. FAILED_PRECONDITION "line L: why"
// otherwise. *complete_size, if given, gets the length of the whole lines.
absl::StatusOr<std::vector<Checkpoint>> ParseWitness(
    std::string_view text, std::string_view public_key,
    size_t* complete_size = nullptr);

// The default witness of a data dir: "<data_dir>.audit-witness" beside it
// (trailing slashes ignored).
std::string DefaultWitnessPath(std::string_view data_dir);
// INVALID_ARGUMENT if `witness` is inside `data_dir` (lexically, after
// making both absolute and normal).
absl::Status CheckWitnessOutside(std::string_view witness,
                                 std::string_view data_dir);

}  // namespace mv

#endif  // MODELVAULT_AUDIT_WITNESS_H_
