#include "audit/chain_check.h"

#include <utility>

namespace mv {

ChainCheck::ChainCheck(std::string_view public_key, uint64_t sequence,
                       std::string head)
    : public_key_(public_key),
      started_(true),
      next_sequence_(sequence + 1),
      head_(std::move(head)) {
  if (sequence != 0) hashes_[sequence] = head_;
}

ChainCheck::ChainCheck(std::string_view public_key)
    : public_key_(public_key), started_(false), next_sequence_(0) {}

ChainCheck::Finding ChainCheck::AddRecord(const AuditRecord& r,
                                          std::string_view prev,
                                          std::string_view hash) {
  if (!started_) {
    started_ = true;
    next_sequence_ = r.sequence;
    head_ = std::string(prev);
  }
  if (r.sequence != next_sequence_) return kOutOfPlace;
  if (prev != head_) return kPrevMismatch;
  if (ChainHash(head_, EncodeAuditRecord(r)) != hash) return kHashMismatch;
  head_ = std::string(hash);
  hashes_[r.sequence] = head_;
  ++next_sequence_;
  return kOk;
}

ChainCheck::Finding ChainCheck::AddCheckpoint(const Checkpoint& c,
                                              std::string_view signature) {
  if (!VerifyCheckpoint(c, signature, public_key_).ok()) return kBadSignature;
  if (checkpoints_ > 0 && c.sequence <= last_checkpoint_)
    return kCheckpointOrder;
  const std::string* hash = HashAt(c.sequence);
  if (hash == nullptr) return kNotCovered;
  if (*hash != c.head) return kHeadMismatch;
  last_checkpoint_ = c.sequence;
  ++checkpoints_;
  return kOk;
}

}  // namespace mv
