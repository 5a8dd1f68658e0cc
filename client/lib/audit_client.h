// mvclient::AuditClient — the audit log calls of modelvault
// (proto/modelvault/v1/audit.proto: AuditService). Every call needs the
// admin:audit action and is itself audited by the server.
//
// Runs over the channel, credentials and cancellation of an existing Client,
// like AccessClient: unary calls get the Client's unary deadline; Export has
// no total deadline but is cancelled after the Client's stream idle timeout
// without a message; Follow has neither (it is idle by nature) and runs
// until the callback stops it, the server ends it or Client::Cancel()
// interrupts it (CANCELLED "interrupted"). Results are plain structs; the
// protos stay inside audit_client.cc.
//
// Errors are the server's status codes unchanged: UNAUTHENTICATED,
// PERMISSION_DENIED (no admin:audit), INVALID_ARGUMENT (bad filter or page
// token), UNAVAILABLE.
//
// Thread-safety: as Client — calls may be made from several threads.
#ifndef MODELVAULT_CLIENT_LIB_AUDIT_CLIENT_H_
#define MODELVAULT_CLIENT_LIB_AUDIT_CLIENT_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "client/lib/client.h"
#include "modelvault/v1/audit.grpc.pb.h"

namespace mvclient {

// One audited call outcome (fields as in src/audit/audit_record.h).
struct AuditEntry {
  uint64_t sequence = 0;
  int64_t time_unix_ms = 0;
  std::string principal;       // "" = unauthenticated
  std::string token_accessor;  // never the token
  std::string peer;
  std::string tls_identity;
  std::string method;    // "/modelvault.v1.ArtifactService/Download"
  std::string resource;  // "NAME@N" or ""
  std::string action;
  std::string decision;  // allowed | denied | unauthenticated | failed
  uint32_t status_code = 0;
  uint64_t bytes = 0;
  std::string request_id;
  uint64_t download_id = 0;  // 0 = none
  std::string reason;
  std::string delivery;          // downloads: unmarked | fingerprinted | exact
  std::string delivered_sha256;  // a whole download's outcome: hex SHA-256 sent
  std::string hash;              // 32-byte chain hash
};

// Every set field must match ("" / 0 = any).
struct AuditQuery {
  std::string principal;
  std::string artifact;  // policy glob over the artifact name
  std::string action;
  std::string decision;
  int64_t since_unix_ms = 0;  // time >= since
  int64_t until_unix_ms = 0;  // time < until
};

struct AuditPage {
  std::vector<AuditEntry> entries;
  std::string next_page_token;  // "" = no more
};

struct AuditVerdict {
  bool ok = false;
  uint64_t records = 0;
  uint64_t checkpoints = 0;
  std::string problem;            // "" when ok
  uint64_t archived_through = 0;  // records 1..this were archived
};

// The records an archive holds (sequences, inclusive).
struct AuditArchiveRange {
  uint64_t first = 0, through = 0;
};

class AuditClient {
 public:
  // REQUIRES: client != nullptr. Shares ownership of `client`.
  explicit AuditClient(std::shared_ptr<Client> client);

  // One page (page_size 0 = server default 100, at most 1000). A page may
  // hold fewer entries than asked for and still have a next page token: the
  // server bounds the records it scans per call.
  absl::StatusOr<AuditPage> Query(const AuditQuery& query, uint32_t page_size,
                                  const std::string& page_token,
                                  bool newest_first);

  // Calls `on_entry` for each matching record written after
  // `after_sequence` (0 = from now on) until it returns false (then OK),
  // the server ends the stream (OK) or the call fails.
  absl::Status Follow(const AuditQuery& query, uint64_t after_sequence,
                      const std::function<bool(const AuditEntry&)>& on_entry);

  // The JSON-lines export from `from_sequence` (0 = the first record), or
  // from the first record at or after `since_unix_ms` when that is set;
  // `sink` gets whole lines in order and may fail the export with a status
  // of its own (e.g. a write error), which is returned. It ends at the
  // signed checkpoint `through_sequence` when that is not 0.
  absl::Status Export(uint64_t from_sequence, int64_t since_unix_ms,
                      const std::function<absl::Status(std::string_view)>& sink,
                      uint64_t through_sequence = 0);

  // Archiving: the records an archive of those before `before_unix_ms`
  // would hold; then, once their export is kept, removing them from the
  // server (the export's SHA-256 goes into the audit record).
  absl::StatusOr<AuditArchiveRange> PlanArchive(int64_t before_unix_ms);
  absl::StatusOr<AuditArchiveRange> Archive(uint64_t through_sequence,
                                            const std::string& sha256_hex);

  // "modelvault-audit-ed25519 <base64>\n" (audit/checkpoint.h).
  absl::StatusOr<std::string> GetPublicKey();

  // Server-side verification of the whole stored chain.
  absl::StatusOr<AuditVerdict> Verify();

 private:
  // One unary call with the Client's metadata, deadline and cancellation.
  template <typename Req, typename Resp>
  absl::StatusOr<Resp> Call(
      grpc::Status (modelvault::v1::AuditService::Stub::*method)(
          grpc::ClientContext*, const Req&, Resp*),
      const Req& request);

  std::shared_ptr<Client> client_;
  std::unique_ptr<modelvault::v1::AuditService::Stub> stub_;
};

}  // namespace mvclient

#endif  // MODELVAULT_CLIENT_LIB_AUDIT_CLIENT_H_
