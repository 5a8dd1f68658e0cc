// IdentityStore::ChargeDownload: daily download budgets (max_downloads_per_day,
// max_bytes_per_day) counted per principal and rule, per UTC day, in LMDB.
#include <cmath>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/status_macros.h"
#include "vault/audit_append.h"
#include "vault/identity_store.h"

namespace mv {
namespace {

struct Budgeted {
  const RuleRef* ref;
  const Rule* rule;
};

bool HasBudget(const Rule& rule) {
  return rule.conditions.max_downloads_per_day.has_value() ||
         rule.conditions.max_bytes_per_day.has_value();
}

uint32_t UtcDay(absl::Time now) {
  return static_cast<uint32_t>(
      std::max<int64_t>(0, absl::ToUnixSeconds(now) / 86400));
}

// "" if the rule has room for one more download of `bytes`, else why not.
std::string Refusal(const Budgeted& b, const BudgetRecord& used,
                    uint64_t bytes) {
  const Conditions& c = b.rule->conditions;
  const std::string rule =
      absl::StrCat("policy ", b.ref->policy, " rule ", b.ref->index);
  if (c.max_downloads_per_day && used.downloads >= *c.max_downloads_per_day) {
    return absl::StrCat(rule, " allows ", *c.max_downloads_per_day,
                        " downloads/day");
  }
  if (c.max_bytes_per_day && (bytes > *c.max_bytes_per_day ||
                              used.bytes > *c.max_bytes_per_day - bytes)) {
    return absl::StrCat(rule, " allows ", *c.max_bytes_per_day, " bytes/day (",
                        used.bytes, " used today; this download needs ", bytes,
                        ")");
  }
  return "";
}

// Deletes the earlier days of the rule whose key (with today's day) is
// `key`: the day is the key's last 4 bytes, big-endian, so they sort first.
absl::Status PruneEarlierDays(WriteTxn& txn, MDB_dbi budgets,
                              const std::string& key) {
  const std::string prefix = key.substr(0, key.size() - 4);
  std::vector<std::string> old;
  MV_RETURN_IF_ERROR(txn.Scan(budgets, prefix, prefix,
                              [&](std::string_view k, std::string_view) {
                                if (k >= key) return false;
                                old.emplace_back(k);
                                return true;
                              }));
  for (const std::string& k : old) MV_RETURN_IF_ERROR(txn.Delete(budgets, k));
  return absl::OkStatus();
}

}  // namespace

std::vector<RuleRef> IdentityStore::BudgetedRules(
    const Decision& decision) const {
  const std::shared_ptr<const PolicySet> policies = PolicySnapshot();
  std::vector<RuleRef> budgeted;
  for (RuleRef ref : decision.allowed_by) {
    if (ref.rule == nullptr) {  // a hand-made decision: find the rule by name
      auto it = policies->find(ref.policy);
      if (it != policies->end() && ref.index < it->second->rules.size()) {
        ref.rule = &it->second->rules[ref.index];
      }
    }
    // An allowing rule without a budget (or the built-in root) lets the
    // download through uncharged. Rule pointers stay valid for the life of
    // the Vault (retired_policies_).
    if (ref.rule == nullptr || !HasBudget(*ref.rule)) return {};
    budgeted.push_back(std::move(ref));
  }
  return budgeted;
}

absl::Status IdentityStore::ChargeRules(WriteTxn& txn, const Principal& who,
                                        const std::vector<RuleRef>& rules,
                                        uint64_t bytes) const {
  if (rules.empty()) return absl::OkStatus();
  const uint32_t day = UtcDay(options_.clock->Now());
  const Dbs dbs = Dbs::Of(*env_);
  std::vector<std::string> refusals;
  for (const RuleRef& ref : rules) {
    const std::string key = BudgetKey(who.name, ref.policy, ref.index, day);
    BudgetRecord used;
    MV_ASSIGN_OR_RETURN(auto raw, txn.Get(dbs.budgets, key));
    if (raw) {
      MV_ASSIGN_OR_RETURN(used, DecodeBudget(*raw));
    }
    if (std::string why = Refusal({&ref, ref.rule}, used, bytes);
        !why.empty()) {
      refusals.push_back(std::move(why));
      continue;
    }
    ++used.downloads;
    used.bytes += bytes;
    MV_RETURN_IF_ERROR(txn.Put(dbs.budgets, key, EncodeBudget(used)));
    return PruneEarlierDays(txn, dbs.budgets, key);
  }
  return absl::ResourceExhaustedError(absl::StrCat(
      "daily download budget exhausted: ", absl::StrJoin(refusals, "; ")));
}

absl::Status IdentityStore::ChargeDownload(const Principal& who,
                                           const Decision& decision,
                                           uint64_t bytes,
                                           const AuditRecord* audit) {
  if (!decision.allowed)
    return absl::FailedPreconditionError("cannot charge a denied download");
  const std::vector<RuleRef> rules = BudgetedRules(decision);
  // Nothing to charge: the record alone, group-committed.
  if (rules.empty()) return CommitAudit(*audit_, audit);
  // Charged and audited together; a refusal writes nothing.
  return env_->Write([&](WriteTxn& txn) -> absl::Status {
    MV_RETURN_IF_ERROR(ChargeRules(txn, who, rules, bytes));
    return AppendAudit(*audit_, txn, audit);
  });
}

absl::Status IdentityStore::ChargeDownload(WriteTxn& txn, const Principal& who,
                                           const Decision& decision,
                                           uint64_t bytes) const {
  if (!decision.allowed)
    return absl::FailedPreconditionError("cannot charge a denied download");
  return ChargeRules(txn, who, BudgetedRules(decision), bytes);
}

}  // namespace mv
