// ChainCheck: the one walk of the audit hash chain, shared by the stored log
// (AuditLog::VerifyStored) and an exported file (VerifyExport), so that both
// decide the same things the same way. Each caller words its own findings:
// the stored log names sequences, an export also names lines.
//
//   ChainCheck chain(public_key, anchor.sequence, anchor.hash);
//   for (each record r with its stored hash h, in order)
//     if (chain.AddRecord(r, chain.head(), h) != ChainCheck::kOk) ...
//   for (each signed checkpoint c, after the record it covers)
//     if (chain.AddCheckpoint(c, signature) != ChainCheck::kOk) ...
//
// Records must come in sequence order, each with the hash of the one before
// ("prev") and its own hash = ChainHash(prev, canonical record). A checkpoint
// must be signed by the vault's key, come after the last one, and name the
// hash the chain had at its sequence.
//
// Holds every record's hash until the check ends (a checkpoint may come long
// after the records it covers, as in the stored log). Not thread-safe.
#ifndef MODELVAULT_AUDIT_CHAIN_CHECK_H_
#define MODELVAULT_AUDIT_CHAIN_CHECK_H_

#include <cstdint>
#include <map>
#include <string>
#include <string_view>

#include "audit/audit_record.h"
#include "audit/checkpoint.h"

namespace mv {

class ChainCheck {
 public:
  enum Finding {
    kOk,
    kOutOfPlace,       // a record that is not the next sequence
    kPrevMismatch,     // its prev is not the previous record's hash
    kHashMismatch,     // its hash is not ChainHash(prev, record)
    kBadSignature,     // a checkpoint the key did not sign as it is
    kCheckpointOrder,  // a checkpoint not after the previous one
    kNotCovered,       // a checkpoint for a record the chain has not seen
    kHeadMismatch,     // a checkpoint whose head is not the chain's hash there
  };

  // A chain that continues after record `sequence`, whose hash is `head`
  // (0 and GenesisHash() for a log that starts at its first record).
  ChainCheck(std::string_view public_key, uint64_t sequence, std::string head);
  // A chain that starts wherever its first record says (an export may begin
  // at any sequence after an archive or with --from).
  explicit ChainCheck(std::string_view public_key);

  Finding AddRecord(const AuditRecord& r, std::string_view prev,
                    std::string_view hash);
  Finding AddCheckpoint(const Checkpoint& c, std::string_view signature);

  // The sequence the next record must have, and the hash it must chain to.
  uint64_t next_sequence() const { return next_sequence_; }
  const std::string& head() const { return head_; }
  bool started() const { return started_; }
  uint64_t checkpoints() const { return checkpoints_; }
  uint64_t last_checkpoint() const { return last_checkpoint_; }
  // The hash the chain had at `sequence`; null if it holds no such record.
  const std::string* HashAt(uint64_t sequence) const {
    auto it = hashes_.find(sequence);
    return it == hashes_.end() ? nullptr : &it->second;
  }

 private:
  const std::string public_key_;
  bool started_;
  uint64_t next_sequence_;
  std::string head_;
  std::map<uint64_t, std::string> hashes_;  // sequence → hash
  uint64_t checkpoints_ = 0, last_checkpoint_ = 0;
};

}  // namespace mv

#endif  // MODELVAULT_AUDIT_CHAIN_CHECK_H_
