#include "server/vault_slot.h"

#include <sodium.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <thread>

#include "absl/strings/str_cat.h"
#include "audit/audit_record.h"

namespace mvserver {
namespace {

std::string Rfc3339(absl::Time t) {
  return absl::FormatTime(absl::RFC3339_sec, t, absl::UTCTimeZone());
}

}  // namespace

std::unique_ptr<VaultSlot> VaultSlot::Unsealed(
    std::shared_ptr<mv::Vault> vault) {
  std::unique_ptr<VaultSlot> slot(new VaultSlot);
  mv::MutexLock lock(&slot->mu_);  // for the analysis: nobody else has it yet
  slot->vault_ = std::move(vault);
  return slot;
}

std::unique_ptr<VaultSlot> VaultSlot::Sealed(mv::SealConfig config, Opener open,
                                             Settings settings) {
  std::unique_ptr<VaultSlot> slot(new VaultSlot);
  slot->by_shares_ = true;
  slot->config_ = std::move(config);
  slot->open_ = std::move(open);
  slot->settings_ = settings;
  return slot;
}

VaultSlot::~VaultSlot() {
  mv::MutexLock lock(&mu_);
  ClearSharesLocked();
}

void VaultSlot::SetHooks(Hooks hooks) {
  mv::MutexLock op(&op_mu_);
  hooks_ = std::move(hooks);
}

absl::StatusOr<std::shared_ptr<mv::Vault>> VaultSlot::Acquire() const {
  mv::MutexLock lock(&mu_);
  if (vault_ != nullptr) return vault_;
  if (by_shares_) ExpireLocked(settings_.clock->Now());
  return absl::UnavailableError(absl::StrCat("vault is sealed (", given_.size(),
                                             " of ", config_.threshold,
                                             " unseal keys given)"));
}

SealProgress VaultSlot::Progress() const {
  mv::MutexLock lock(&mu_);
  if (by_shares_ && vault_ == nullptr) ExpireLocked(settings_.clock->Now());
  return ProgressLocked();
}

bool VaultSlot::Sealing() const {
  mv::MutexLock lock(&mu_);
  return previous_closed_ != nullptr && !previous_closed_->load();
}

SealProgress VaultSlot::ProgressLocked() const {
  SealProgress p;
  p.sealed = vault_ == nullptr;
  p.by_shares = by_shares_;
  p.threshold = config_.threshold;
  p.shares = config_.shares;
  p.given = static_cast<uint32_t>(given_.size());
  if (!given_.empty()) p.expires = first_given_ + settings_.progress_timeout;
  return p;
}

void VaultSlot::ClearSharesLocked() const {
  // ~UnsealShare wipes each payload (sodium_memzero).
  given_.clear();
  given_.shrink_to_fit();
}

void VaultSlot::ExpireLocked(absl::Time now) const {
  if (given_.empty() || now - first_given_ < settings_.progress_timeout) return;
  std::fprintf(stderr,
               "modelvaultd: unseal progress expired: %zu of %u unseal keys "
               "given since %s discarded\n",
               given_.size(), config_.threshold, Rfc3339(first_given_).c_str());
  ClearSharesLocked();
}

bool VaultSlot::MayTryLocked(const std::string& address, absl::Time now) {
  if (settings_.failure_burst == 0) return true;
  auto it = buckets_.find(address);
  if (it == buckets_.end()) return true;
  Bucket& b = it->second;
  const double earned = (now - b.updated) / settings_.failure_refill;
  b.tokens = std::min<double>(settings_.failure_burst, b.tokens + earned);
  b.updated = now;
  return b.tokens >= 1;
}

absl::Status VaultSlot::FailLocked(absl::Status status,
                                   std::string_view peer_ip,
                                   std::string_view peer, absl::Time now) {
  std::fprintf(stderr, "modelvaultd: unseal key refused from %s: %s\n",
               peer_ip.empty() ? "local" : std::string(peer_ip).c_str(),
               std::string(status.message()).c_str());
  if (failures_.size() < kMaxPendingFailures) {
    failures_.push_back(
        Failure{now, std::string(peer), std::string(status.message())});
  } else {
    ++dropped_failures_;
  }
  if (settings_.failure_burst > 0) {
    std::string address = peer_ip.empty() ? "local" : std::string(peer_ip);
    if (buckets_.size() >= kMaxTrackedAddresses && !buckets_.contains(address))
      address = "overflow";
    auto [it, fresh] = buckets_.try_emplace(address);
    if (fresh) it->second = Bucket{double(settings_.failure_burst), now};
    it->second.tokens = std::max(0.0, it->second.tokens - 1);
  }
  return status;
}

absl::StatusOr<SealProgress> VaultSlot::Unseal(std::string_view share_text,
                                               std::string_view peer_ip,
                                               std::string_view peer) {
  mv::MutexLock op(&op_mu_);
  WaitForPreviousToClose();
  std::shared_ptr<mv::Vault> opened;
  SealProgress progress;
  {
    mv::MutexLock lock(&mu_);
    if (vault_ != nullptr || !by_shares_) return ProgressLocked();
    const absl::Time now = settings_.clock->Now();
    std::string address = peer_ip.empty() ? "local" : std::string(peer_ip);
    if (!buckets_.contains(address) && buckets_.size() >= kMaxTrackedAddresses)
      address = "overflow";
    if (!MayTryLocked(address, now)) {
      return absl::ResourceExhaustedError(absl::StrCat(
          "too many refused unseal keys from ", address, "; retry in ",
          absl::FormatDuration(settings_.failure_refill)));
    }
    ExpireLocked(now);
    absl::StatusOr<mv::UnsealShare> share = mv::ParseShare(share_text);
    if (!share.ok()) return FailLocked(share.status(), peer_ip, peer, now);
    if (sodium_memcmp(share->tag.data(), config_.tag.data(),
                      std::min(share->tag.size(), config_.tag.size())) != 0 ||
        share->tag.size() != config_.tag.size()) {
      return FailLocked(
          absl::InvalidArgumentError(
              "this unseal key belongs to another vault (its vault tag "
              "differs); nothing was added"),
          peer_ip, peer, now);
    }
    for (const mv::UnsealShare& g : given_) {
      if (g.index == share->index) {
        return absl::InvalidArgumentError(absl::StrCat(
            "unseal key ", share->index, " was already given (", given_.size(),
            " of ", config_.threshold, " unseal keys given)"));
      }
    }
    if (previous_closed_ != nullptr && !previous_closed_->load()) {
      return absl::UnavailableError(
          "the vault is still being sealed (calls in flight hold it); "
          "retry shortly");
    }
    if (given_.empty()) first_given_ = now;
    given_.push_back(*std::move(share));
    if (given_.size() < config_.threshold) return ProgressLocked();
    absl::StatusOr<std::shared_ptr<mv::Vault>> vault =
        OpenLocked(peer_ip, peer, now);
    if (!vault.ok()) return vault.status();
    opened = *std::move(vault);
    progress = ProgressLocked();
  }
  std::fprintf(stderr, "modelvaultd: vault unsealed\n");
  if (hooks_.unsealed) hooks_.unsealed(opened);
  return progress;
}

void VaultSlot::WaitForPreviousToClose() {
  std::shared_ptr<std::atomic<bool>> closing;
  {
    mv::MutexLock lock(&mu_);
    closing = previous_closed_;
  }
  // Right after a Seal the vault usually has no call left but is still
  // writing its final checkpoint; an operator's next key should not fail
  // for that. A call that keeps it longer (a long pull) is refused below.
  // A poll, not a CondVar: the deleter runs on whichever thread drops the
  // last reference and takes no lock of ours.
  for (int i = 0; closing != nullptr && !closing->load() && i < 200; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
}

absl::StatusOr<std::shared_ptr<mv::Vault>> VaultSlot::OpenLocked(
    std::string_view peer_ip, std::string_view peer, absl::Time now) {
  absl::StatusOr<mv::SecretKey> kek = mv::CombineShares(given_);
  ClearSharesLocked();
  if (!kek.ok()) return FailLocked(kek.status(), peer_ip, peer, now);
  const absl::Status wrong = absl::InvalidArgumentError(absl::StrCat(
      "the unseal keys given do not combine to this vault's key (one of them "
      "is wrong or from another split); unseal progress reset to 0 of ",
      config_.threshold));
  const std::string tag = mv::ShareTag(*kek);
  if (tag.size() != config_.tag.size() ||
      sodium_memcmp(tag.data(), config_.tag.data(), tag.size()) != 0)
    return FailLocked(wrong, peer_ip, peer, now);
  // Open runs under mu_ (it may take a while: it collects pending uploads);
  // calls wait for it rather than see a half-opened vault.
  absl::StatusOr<std::unique_ptr<mv::Vault>> vault = open_(*std::move(kek));
  if (!vault.ok()) {
    // The key check value refused the key (Vault::Open's WrongKey; the tag
    // matched, so the seal file's tag was changed to this key's).
    const std::string why(vault.status().message());
    if (absl::IsFailedPrecondition(vault.status()) &&
        why.starts_with("wrong master key"))
      return FailLocked(wrong, peer_ip, peer, now);
    // Anything else (a witness that shows a rollback, a damaged record) is
    // the operator's to read on the server, not an unauthenticated caller's.
    std::fprintf(stderr, "modelvaultd: cannot open the vault: %s\n",
                 why.c_str());
    return absl::FailedPreconditionError(
        "the unseal keys are right but the vault cannot be opened (the "
        "server's log says why); unseal progress reset");
  }
  auto closed = std::make_shared<std::atomic<bool>>(false);
  vault_ = std::shared_ptr<mv::Vault>(vault->release(), [closed](mv::Vault* v) {
    delete v;
    closed->store(true);
  });
  closed_ = std::move(closed);
  std::vector<Failure> failures;
  failures.swap(failures_);
  const uint64_t dropped = std::exchange(dropped_failures_, 0);
  AuditFailures(*vault_, std::move(failures), dropped, peer);
  return vault_;
}

void VaultSlot::AuditFailures(mv::Vault& vault, std::vector<Failure> failures,
                              uint64_t dropped, std::string_view peer) {
  for (const Failure& f : failures) {
    mv::AuditRecord record;
    record.peer = f.peer;
    record.method = kUnsealMethod;
    record.decision = mv::AuditDecision::kFailed;
    record.status_code =
        static_cast<uint32_t>(absl::StatusCode::kInvalidArgument);
    record.reason = absl::StrCat("while sealed, at ", Rfc3339(f.time),
                                 ": unseal key refused: ", f.reason);
    if (absl::StatusOr<uint64_t> s = vault.audit_log().Commit(record); !s.ok())
      std::fprintf(stderr, "modelvaultd: auditing a refused unseal key: %s\n",
                   std::string(s.status().message()).c_str());
  }
  mv::AuditRecord unsealed;
  unsealed.peer = std::string(peer);
  unsealed.method = kUnsealMethod;
  unsealed.decision = mv::AuditDecision::kAllowed;
  unsealed.reason = absl::StrCat(
      "vault unsealed with ", config_.threshold, " of ", config_.shares,
      " unseal keys",
      dropped > 0 ? absl::StrCat(" (", dropped, " more refused keys not kept)")
                  : "");
  if (absl::StatusOr<uint64_t> s = vault.audit_log().Commit(unsealed); !s.ok())
    std::fprintf(stderr, "modelvaultd: auditing the unseal: %s\n",
                 std::string(s.status().message()).c_str());
}

SealProgress VaultSlot::ResetProgress() {
  mv::MutexLock lock(&mu_);
  ClearSharesLocked();
  return ProgressLocked();
}

absl::Status VaultSlot::Seal() {
  mv::MutexLock op(&op_mu_);
  if (!by_shares_) {
    return absl::FailedPreconditionError(
        "this vault is opened by its master key file and cannot be sealed; "
        "only a vault initialised with --key-shares can");
  }
  {
    mv::MutexLock lock(&mu_);
    if (vault_ == nullptr)
      return absl::FailedPreconditionError("the vault is already sealed");
  }
  if (hooks_.sealing) hooks_.sealing();
  std::shared_ptr<mv::Vault> dropped;
  {
    mv::MutexLock lock(&mu_);
    dropped = std::move(vault_);
    vault_ = nullptr;
    previous_closed_ = std::move(closed_);
  }
  std::fprintf(stderr,
               "modelvaultd: vault sealed; keys are wiped when in-flight "
               "calls end\n");
  return absl::OkStatus();  // `dropped` goes here unless a call holds it
}

}  // namespace mvserver
