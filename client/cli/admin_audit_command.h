// `mvault admin audit tail|export|verify|pubkey`: the audit log
// (AuditService; every call needs admin:audit and is itself audited).
//
//   tail [-f] [-n N] [--principal P] [--artifact GLOB] [--action A]
//        [--decision D] [--since T] [--until T]
//       the last N (default 20) matching records, oldest first, as a table
//       or JSON lines (audit_output.h); -f then prints new ones until Ctrl-C.
//   export [--since T] [--from-sequence N] [--output FILE]
//       the JSON-lines export (src/audit/audit_export.h), ending with a
//       checkpoint the server signs for it; to stdout, or to FILE (written
//       as FILE.partial and renamed once complete).
//   archive --before T --output FILE [--pubkey PUBFILE]
//       moves the records up to the newest checkpoint signed before T out
//       of the server: exports them, verifies the export (against PUBFILE,
//       else the server's key) and keeps it at FILE (never overwritten),
//       and only then has the server remove them (admin:audit:archive).
//       The checkpoint stays as the signed anchor of the remaining chain.
//   verify                       server-side check of the stored chain
//   verify FILE... --pubkey PUBFILE offline check of exports: no server,
//       no token. Exit 5 for any problem, including records after the last
//       checkpoint (a truncated export), or a FILE that does not chain
//       into the one after it (an archive, then a later export).
//   pubkey    the checkpoint-signing public key line (`> vault.pub`).
//
// T is RFC 3339 (2026-11-29T10:00:00Z) or a duration ago (15m, 2h, 7d).
#ifndef MODELVAULT_CLIENT_CLI_ADMIN_AUDIT_COMMAND_H_
#define MODELVAULT_CLIENT_CLI_ADMIN_AUDIT_COMMAND_H_

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "audit/audit_export.h"
#include "client/cli/admin_command.h"
#include "client/lib/audit_client.h"

namespace mvcli {

struct AuditTailOptions {
  bool follow = false;
  int64_t count = 20;
  std::string principal, artifact, action, decision;
  std::string since, until;  // "" = no bound; else a time (see above)
};

struct AuditExportOptions {
  std::string since;           // "" = no bound
  uint64_t from_sequence = 0;  // 0 = the first record
  std::string output;          // "" = stdout
};

struct AuditArchiveOptions {
  std::string before;  // a time (see above)
  std::string output;
  std::string pubkey;  // "" = the server's key
};

struct AuditVerifyOptions {
  std::vector<std::string> files;  // empty = ask the server
  std::string pubkey;              // required with `file`
  std::string witness;  // optional with `file`: the vault's witness file
};

// The Unix milliseconds `text` names: RFC 3339, or a duration (duration.h)
// before `now`. InvalidArgumentError naming the text otherwise.
absl::StatusOr<int64_t> ParseAuditTime(std::string_view text, absl::Time now);

// The server filter of `tail`; usage errors name the bad flag.
absl::StatusOr<mvclient::AuditQuery> TailQuery(const AuditTailOptions& options,
                                               absl::Time now);

// The offline verdict on an export: exit code (0 or 5) and the line to
// print ("ok: N records, M checkpoints; sequences A-B, T1 to T2" or what is
// wrong, naming the line). With `witness_text` (the vault's witness file),
// the export must agree with every witness checkpoint in its range and reach
// the newest: a truncated or cut export exits 5.
struct OfflineVerdict {
  int exit_code = kExitIntegrity;
  std::string message;
};
// `result` (optional) gets the verifier's findings.
OfflineVerdict VerifyExportText(
    std::string_view export_text, std::string_view public_key_text,
    std::optional<std::string_view> witness_text = std::nullopt,
    mv::VerifyResult* result = nullptr);

int RunAuditTail(const AuditTailOptions& options, const GlobalOptions& globals);
int RunAuditArchive(const AuditArchiveOptions& options,
                    const GlobalOptions& globals);
int RunAuditExport(const AuditExportOptions& options,
                   const GlobalOptions& globals);
int RunAuditVerify(const AuditVerifyOptions& options,
                   const GlobalOptions& globals);
int RunAuditPubkey(const GlobalOptions& globals);

}  // namespace mvcli

#endif  // MODELVAULT_CLIENT_CLI_ADMIN_AUDIT_COMMAND_H_
