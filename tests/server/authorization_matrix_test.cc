// The authorization matrix, generated from the service descriptors: every
// RPC of every modelvault.v1 service × {anonymous, reader of A, writer of A,
// reader of B, admin, revoked} has an expected status code. An RPC without a
// row here fails the test, so a new RPC has to be classified. The same run
// checks audit completeness: every call left exactly one outcome record with
// its principal, method, decision and code (issue [audit]).
#include <gmock/gmock.h>
#include <google/protobuf/descriptor.h>
#include <grpcpp/generic/generic_stub.h>
#include <gtest/gtest.h>

#include <array>
#include <filesystem>
#include <functional>
#include <future>
#include <map>
#include <set>
#include <thread>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/bytes.h"
#include "crypto/sha256.h"
#include "crypto/token.h"
#include "server/access_setup.h"
#include "server/call_audit.h"
#include "server/method_access.h"
#include "server/test_server.h"

namespace mvtesting {
namespace {

namespace v1 = modelvault::v1;
using google::protobuf::Message;
using grpc::StatusCode;

// The proto files of the modelvault.v1 package. The test also checks that
// the source directory holds no other, so a new file cannot slip past.
constexpr const char* kProtoFiles[] = {
    "modelvault/v1/artifact.proto", "modelvault/v1/access.proto",
    "modelvault/v1/audit.proto", "modelvault/v1/trace.proto",
    "modelvault/v1/operator.proto"};

enum Caller {
  kAnonymous,
  kReaderA,
  kWriterA,
  kReaderB,
  kAdmin,
  kRevoked,
  kCallerCount
};
constexpr const char* kCallerNames[] = {"anonymous",   "reader of A",
                                        "writer of A", "reader of B",
                                        "admin",       "revoked"};
// The principal each caller authenticates as ("" = not at all).
constexpr const char* kPrincipalNames[] = {"",         "reader-a", "writer-a",
                                           "reader-b", "admin",    ""};

class Env {
 public:
  Env() : tokens_(*SetUpCallers(server_.vault())) {
    EXPECT_TRUE(server_.Upload("a/model", "weights of a").ok());
    EXPECT_TRUE(server_.Upload("b/model", "weights of b").ok());
  }

  TestServer& server() { return server_; }
  std::string Token(Caller caller) const {
    switch (caller) {
      case kAnonymous:
        return "";
      case kReaderA:
        return tokens_.reader_a;
      case kWriterA:
        return tokens_.writer_a;
      case kReaderB:
        return tokens_.reader_b;
      case kAdmin:
        return tokens_.admin;
      default:
        return tokens_.revoked;
    }
  }
  // A name no other invocation uses.
  std::string Unique(const std::string& stem) {
    return stem + "-" + std::to_string(++counter_);
  }

  // Each call gets a request id of its own, to find its audit records.
  std::unique_ptr<grpc::ClientContext> Context(const std::string& token) {
    auto context = std::make_unique<grpc::ClientContext>();
    last_request_id_ = "matrix-" + std::to_string(++requests_);
    context->AddMetadata("x-request-id", last_request_id_);
    if (!token.empty())
      context->AddMetadata("authorization", "Bearer " + token);
    context->set_deadline(std::chrono::system_clock::now() +
                          std::chrono::seconds(30));
    return context;
  }

  // Calls unary `method` with `request` through the generic stub.
  grpc::Status Unary(const google::protobuf::MethodDescriptor& method,
                     const Message& request, const std::string& token) {
    grpc::GenericStub stub(server_.channel());
    std::string bytes = request.SerializeAsString();
    grpc::Slice slice(bytes);
    grpc::ByteBuffer in(&slice, 1), out;
    auto context = Context(token);
    std::promise<grpc::Status> done;
    stub.UnaryCall(context.get(),
                   "/" + method.service()->full_name() + "/" + method.name(),
                   grpc::StubOptions(), &in, &out,
                   [&](grpc::Status s) { done.set_value(s); });
    return done.get_future().get();
  }

  const std::string& last_request_id() const { return last_request_id_; }
  // Payload bytes the last Download call received (counted in the client).
  uint64_t& payload_bytes() { return payload_bytes_; }

  // The root token does the preparation a call needs.
  v1::Version UploadAsRoot(const std::string& name) {
    v1::Version version;
    EXPECT_TRUE(server_.Upload(name, "prepared", &version).ok());
    return version;
  }

 private:
  // The anonymous and revoked callers fail authentication on every row, far
  // beyond the daemon's allowance per address; the throttle has its own
  // tests (limits_test.cc).
  // A vault sealed by unseal keys (and unsealed by the test server), so
  // that OperatorService.Seal can succeed for root (CallSeal unseals again).
  static TestServerOptions Unthrottled() {
    TestServerOptions options;
    options.auth_throttle.burst = 0;
    options.key_shares = 3;
    options.key_threshold = 2;
    return options;
  }
  TestServer server_{Unthrottled()};
  CallerTokens tokens_;
  int counter_ = 0;
  int requests_ = 0;
  std::string last_request_id_;
  uint64_t payload_bytes_ = 0;
};

// Everything a call could change, read back through the vault's own API:
// principals, tokens, policies, versions with their aliases and labels, and
// each version's downloads. (The audit log is checked per call below.)
std::string StateOf(Env& env) {
  mv::Vault& vault = env.server().vault();
  std::string s;
  for (const mv::PrincipalInfo& p : vault.identity().ListPrincipals()) {
    absl::StrAppend(&s, "principal ", p.name, " [",
                    absl::StrJoin(p.policies, ","), "] ", p.cert_identity,
                    "\n");
  }
  for (const mv::TokenInfo& t : vault.identity().ListTokens("")) {
    absl::StrAppend(&s, "token ", t.accessor, " ", t.principal, " [",
                    absl::StrJoin(t.policies, ","), "] ", t.expires_at_unix_ms,
                    " ", t.uses_left, "\n");
  }
  for (const std::string& name : vault.identity().ListPolicies()) {
    absl::StrAppend(&s, "policy ", name, " ",
                    vault.identity().GetPolicy(name).value_or("?"), "\n");
  }
  std::string page;
  do {
    absl::StatusOr<mv::VersionPage> listed =
        vault.catalog().ListVersions("", 1000, page);
    if (!listed.ok()) return "listing failed";
    for (const mv::VersionInfo& v : listed->versions) {
      absl::StrAppend(&s, "version ", v.Ref(), " ",
                      absl::BytesToHexString(v.sha256), " [",
                      absl::StrJoin(v.aliases, ","), "] [",
                      absl::StrJoin(v.labels, ",", absl::PairFormatter("=")),
                      "] downloads");
      absl::StatusOr<std::vector<mv::DownloadRecord>> downloads =
          vault.downloads().ListDownloads(v.serial);
      if (!downloads.ok()) return "downloads unreadable";
      for (const mv::DownloadRecord& d : *downloads)
        absl::StrAppend(&s, " ", d.download_id);
      absl::StrAppend(&s, "\n");
    }
    page = listed->next_page_token;
  } while (!page.empty());
  return s;
}

grpc::Status CallUpload(Env& env, const std::string& token) {
  auto context = env.Context(token);
  v1::UploadResponse response;
  auto stream = env.server().stub().Upload(context.get(), &response);
  v1::UploadRequest message;
  message.mutable_header()->set_name("a/model");
  stream->Write(message);
  message.set_chunk("new weights");
  stream->Write(message);
  message.mutable_trailer()->set_sha256(
      std::string(mv::AsChars(mv::Sha256::Of("new weights"))));
  stream->Write(message);
  stream->WritesDone();
  return stream->Finish();
}

grpc::Status CallDownload(Env& env, const std::string& token) {
  auto context = env.Context(token);
  v1::DownloadRequest request;
  request.set_ref("a/model@1");
  auto stream = env.server().stub().Download(context.get(), request);
  v1::DownloadResponse message;
  env.payload_bytes() = 0;
  while (stream->Read(&message)) env.payload_bytes() += message.chunk().size();
  return stream->Finish();
}

// Follows the log from its first record: OK once one record arrived (a
// follow never ends by itself), else the status it ended with.
grpc::Status CallFollow(Env& env, const std::string& token) {
  auto context = env.Context(token);
  v1::FollowRecordsRequest request;
  request.set_after_sequence(1);  // record 2 on exist already
  auto stream = env.server().audit_stub().FollowRecords(context.get(), request);
  v1::AuditRecord record;
  if (!stream->Read(&record)) return stream->Finish();
  context->TryCancel();
  (void)stream->Finish();
  // The server notices the cancel on its next poll and only then writes the
  // call's record: wait for it, so the completeness check sees it.
  const std::string id = env.last_request_id();
  for (int i = 0; i < 500; ++i) {
    bool found = false;
    (void)env.server().vault().audit_log().ScanRecordsBackward(
        0, [&](const mv::AuditRecord& r, std::string_view) {
          found = r.request_id == id;
          return !found && r.sequence > 1;
        });
    if (found) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return grpc::Status::OK;
}

grpc::Status CallExport(Env& env, const std::string& token) {
  auto context = env.Context(token);
  auto stream =
      env.server().audit_stub().Export(context.get(), v1::ExportRequest());
  v1::ExportChunk chunk;
  while (stream->Read(&chunk)) {
  }
  return stream->Finish();
}

// Traces an exact copy of a/model@1 against it (tier 0: found by hash).
grpc::Status CallTrace(Env& env, const std::string& token) {
  auto context = env.Context(token);
  v1::TraceResponse response;
  auto stream = env.server().trace_stub().Trace(context.get(), &response);
  v1::TraceRequest message;
  message.mutable_header()->set_artifact("a/model@1");
  message.mutable_header()->set_size(std::string("weights of a").size());
  stream->Write(message);
  message.set_chunk("weights of a");
  stream->Write(message);
  message.mutable_end();
  stream->Write(message);
  stream->WritesDone();
  return stream->Finish();
}

// Seal as `token`; when it succeeded, unseal again (once the sealed vault
// is gone: the Seal handler may still hold it for an instant) so that the
// matrix goes on.
grpc::Status CallSeal(Env& env, const std::string& token) {
  auto context = env.Context(token);
  v1::SealResponse response;
  grpc::Status status = env.server().operator_stub().Seal(
      context.get(), v1::SealRequest(), &response);
  if (!status.ok()) return status;
  EXPECT_TRUE(response.state().sealed());
  mvserver::VaultSlot& slot = env.server().slot();
  for (int i = 0; i < 2; ++i) {
    absl::StatusOr<mvserver::SealProgress> p;
    for (int tries = 0; tries < 1000; ++tries) {
      p = slot.Unseal(env.server().shares()[i], "", "test");
      if (!absl::IsUnavailable(p.status())) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    EXPECT_TRUE(p.ok()) << p.status();
  }
  EXPECT_FALSE(slot.Progress().sealed);
  return status;
}

// How to call one RPC: a streaming call, or the request of a unary call
// (built afresh per caller, after any preparation done as root).
struct Invoker {
  std::function<grpc::Status(Env&, const std::string& token)> stream;
  std::function<std::unique_ptr<Message>(Env&)> request;
};

template <typename T>
std::unique_ptr<Message> Make(std::function<void(T&)> fill) {
  auto message = std::make_unique<T>();
  fill(*message);
  return message;
}

struct Row {
  Invoker invoker;
  // Expected code per caller, in Caller order: O = OK, U = UNAUTHENTICATED,
  // P = PERMISSION_DENIED.
  const char* expected;
};

// Everything below acts on artifact a/ (the writer's and first reader's).
std::map<std::string, Row> Matrix() {
  constexpr const char* kArtifactWrite = "UPOPPU";
  constexpr const char* kArtifactRead = "UOOPPU";
  constexpr const char* kAnyCaller = "UOOOOU";
  constexpr const char* kAdminOnly = "UPPPOU";
  std::map<std::string, Row> m;
  const std::string art = "modelvault.v1.ArtifactService.",
                    adm = "modelvault.v1.AdminService.";
  m[art + "Upload"] = {{CallUpload, nullptr}, kArtifactWrite};
  m[art + "Download"] = {{CallDownload, nullptr}, kArtifactRead};
  m[art + "GetVersion"] = {{nullptr,
                            [](Env&) {
                              return Make<v1::GetVersionRequest>(
                                  [](auto& r) { r.set_ref("a/model@latest"); });
                            }},
                           kArtifactRead};
  // Never denied: the results are filtered (see access_service_test.cc).
  m[art + "ListVersions"] = {{nullptr,
                              [](Env&) {
                                return Make<v1::ListVersionsRequest>(
                                    [](auto& r) { r.set_prefix("a/"); });
                              }},
                             kAnyCaller};
  m[art + "DeleteVersion"] = {
      {nullptr,
       [](Env& e) {
         v1::Version v = e.UploadAsRoot("a/doomed");
         return Make<v1::DeleteVersionRequest>([&](auto& r) {
           r.set_ref("a/doomed@" + std::to_string(v.number()));
         });
       }},
      kArtifactWrite};
  m[art + "SetAlias"] = {{nullptr,
                          [](Env& e) {
                            return Make<v1::SetAliasRequest>([&](auto& r) {
                              r.set_ref("a/model@1");
                              r.set_alias(e.Unique("tag"));
                            });
                          }},
                         kArtifactWrite};
  m[art + "DeleteAlias"] = {
      {nullptr,
       [](Env& e) {
         std::string alias = e.Unique("gone");
         EXPECT_TRUE(
             e.server().vault().catalog().SetAlias("a/model@1", alias).ok());
         return Make<v1::DeleteAliasRequest>([&](auto& r) {
           r.set_name("a/model");
           r.set_alias(alias);
         });
       }},
      kArtifactWrite};

  m["modelvault.v1.AuthService.WhoAmI"] = {
      {nullptr, [](Env&) { return Make<v1::WhoAmIRequest>([](auto&) {}); }},
      kAnyCaller};

  m[adm + "CreatePrincipal"] = {
      {nullptr,
       [](Env& e) {
         return Make<v1::CreatePrincipalRequest>(
             [&](auto& r) { r.set_name(e.Unique("new")); });
       }},
      kAdminOnly};
  m[adm + "ListPrincipals"] = {
      {nullptr,
       [](Env&) { return Make<v1::ListPrincipalsRequest>([](auto&) {}); }},
      kAdminOnly};
  m[adm + "GetPrincipal"] = {{nullptr,
                              [](Env&) {
                                return Make<v1::GetPrincipalRequest>(
                                    [](auto& r) { r.set_name("reader-a"); });
                              }},
                             kAdminOnly};
  m[adm + "DeletePrincipal"] = {
      {nullptr,
       [](Env& e) {
         mv::PrincipalInfo info;
         info.name = e.Unique("victim");
         EXPECT_TRUE(e.server()
                         .vault()
                         .identity()
                         .CreatePrincipal(mv::RootCaller(), info)
                         .ok());
         return Make<v1::DeletePrincipalRequest>(
             [&](auto& r) { r.set_name(info.name); });
       }},
      kAdminOnly};
  m[adm + "AttachPolicy"] = {
      {nullptr,
       [](Env& e) {
         mv::PrincipalInfo info;
         info.name = e.Unique("attach");
         EXPECT_TRUE(e.server()
                         .vault()
                         .identity()
                         .CreatePrincipal(mv::RootCaller(), info)
                         .ok());
         // A grant within the admin's own rights (a deny rule): grants
         // beyond them are refused (escalation_test, security_redteam).
         const std::string fence = e.Unique("fence");
         EXPECT_TRUE(e.server()
                         .vault()
                         .identity()
                         .PutPolicy(mv::RootCaller(), fence, DenyReadJson())
                         .ok());
         return Make<v1::AttachPolicyRequest>([&](auto& r) {
           r.set_principal(info.name);
           r.set_policy(fence);
         });
       }},
      kAdminOnly};
  m[adm + "DetachPolicy"] = {
      {nullptr,
       [](Env& e) {
         mv::PrincipalInfo info;
         info.name = e.Unique("detach");
         info.policies = {"reader-a"};
         EXPECT_TRUE(e.server()
                         .vault()
                         .identity()
                         .CreatePrincipal(mv::RootCaller(), info)
                         .ok());
         return Make<v1::DetachPolicyRequest>([&](auto& r) {
           r.set_principal(info.name);
           r.set_policy("reader-a");
         });
       }},
      kAdminOnly};
  m[adm + "CreateToken"] = {
      {nullptr,
       [](Env& e) {
         // For a principal whose rights the admin holds (none).
         mv::PrincipalInfo info;
         info.name = e.Unique("holder");
         EXPECT_TRUE(e.server()
                         .vault()
                         .identity()
                         .CreatePrincipal(mv::RootCaller(), info)
                         .ok());
         return Make<v1::CreateTokenRequest>(
             [&](auto& r) { r.set_principal(info.name); });
       }},
      kAdminOnly};
  m[adm + "ListTokens"] = {
      {nullptr, [](Env&) { return Make<v1::ListTokensRequest>([](auto&) {}); }},
      kAdminOnly};
  m[adm + "LookupToken"] = {{nullptr,
                             [](Env& e) {
                               std::string accessor =
                                   e.server()
                                       .vault()
                                       .identity()
                                       .ListTokens("reader-a")
                                       .at(0)
                                       .accessor;
                               return Make<v1::LookupTokenRequest>(
                                   [&](auto& r) { r.set_accessor(accessor); });
                             }},
                            kAdminOnly};
  m[adm + "RevokeToken"] = {{nullptr,
                             [](Env& e) {
                               mv::TokenSpec spec;
                               spec.principal = "reader-b";
                               std::string accessor =
                                   e.server()
                                       .vault()
                                       .identity()
                                       .CreateToken(mv::RootCaller(), spec)
                                       ->info.accessor;
                               return Make<v1::RevokeTokenRequest>(
                                   [&](auto& r) { r.set_accessor(accessor); });
                             }},
                            kAdminOnly};
  m[adm + "PutPolicy"] = {{nullptr,
                           [](Env& e) {
                             return Make<v1::PutPolicyRequest>([&](auto& r) {
                               r.set_name(e.Unique("pol"));
                               r.set_json(DenyReadJson());
                             });
                           }},
                          kAdminOnly};
  m[adm + "GetPolicy"] = {{nullptr,
                           [](Env&) {
                             return Make<v1::GetPolicyRequest>(
                                 [](auto& r) { r.set_name("reader-a"); });
                           }},
                          kAdminOnly};
  m[adm + "ListPolicies"] = {
      {nullptr,
       [](Env&) { return Make<v1::ListPoliciesRequest>([](auto&) {}); }},
      kAdminOnly};
  m[adm + "DeletePolicy"] = {
      {nullptr,
       [](Env& e) {
         std::string name = e.Unique("unused");
         EXPECT_TRUE(e.server()
                         .vault()
                         .identity()
                         .PutPolicy(mv::RootCaller(), name,
                                    AllowJson("c/**", R"("read")"))
                         .ok());
         return Make<v1::DeletePolicyRequest>(
             [&](auto& r) { r.set_name(name); });
       }},
      kAdminOnly};
  // admin:keys is held by none of the test callers but root: the other
  // admin sub-roles cannot rotate or read the keyring.
  m[adm + "RotateKey"] = {
      {nullptr, [](Env&) { return Make<v1::RotateKeyRequest>([](auto&) {}); }},
      "UPPPPU"};
  m[adm + "GetKeyStatus"] = {
      {nullptr,
       [](Env&) { return Make<v1::GetKeyStatusRequest>([](auto&) {}); }},
      "UPPPPU"};
  const std::string aud = "modelvault.v1.AuditService.";
  m[aud + "QueryRecords"] = {{nullptr,
                              [](Env&) {
                                return Make<v1::QueryRecordsRequest>(
                                    [](auto& r) { r.set_page_size(5); });
                              }},
                             kAdminOnly};
  m[aud + "FollowRecords"] = {{CallFollow, nullptr}, kAdminOnly};
  m[aud + "Export"] = {{CallExport, nullptr}, kAdminOnly};
  m[aud + "GetPublicKey"] = {
      {nullptr,
       [](Env&) { return Make<v1::GetPublicKeyRequest>([](auto&) {}); }},
      kAdminOnly};
  m[aud + "Verify"] = {
      {nullptr,
       [](Env&) { return Make<v1::VerifyAuditRequest>([](auto&) {}); }},
      kAdminOnly};
  // admin:audit may read the log, not shrink it: archiving needs
  // admin:audit:archive, which no test caller holds.
  // A plan (it removes nothing), after a checkpoint so root's succeeds.
  m[aud + "Archive"] = {
      {nullptr,
       [](Env& e) {
         EXPECT_TRUE(e.server().vault().audit_log().ForceCheckpoint().ok());
         return Make<v1::ArchiveAuditRequest>(
             [](auto& r) { r.set_before_unix_ms(4'000'000'000'000); });
       }},
      "UPPPPU"};
  // `trace` is granted to none of the test callers but root.
  m["modelvault.v1.TraceService.Trace"] = {{CallTrace, nullptr}, "UPPPPU"};
  // Once unsealed, OperatorService answers authenticated callers like
  // WhoAmI (sealed, Unseal and SealStatus need none: sealed_server_test.cc);
  // admin:seal is granted to none of the test callers but root.
  const std::string op = "modelvault.v1.OperatorService.";
  m[op + "Unseal"] = {
      {nullptr, [](Env&) { return Make<v1::UnsealRequest>([](auto&) {}); }},
      kAnyCaller};
  m[op + "SealStatus"] = {
      {nullptr, [](Env&) { return Make<v1::SealStatusRequest>([](auto&) {}); }},
      kAnyCaller};
  m[op + "Seal"] = {{CallSeal, nullptr}, "UPPPPU"};
  return m;
}

StatusCode Expected(char c) {
  switch (c) {
    case 'O':
      return StatusCode::OK;
    case 'U':
      return StatusCode::UNAUTHENTICATED;
    default:
      return StatusCode::PERMISSION_DENIED;
  }
}

std::vector<const google::protobuf::MethodDescriptor*> AllMethods() {
  std::vector<const google::protobuf::MethodDescriptor*> methods;
  for (const char* name : kProtoFiles) {
    const google::protobuf::FileDescriptor* file =
        google::protobuf::DescriptorPool::generated_pool()->FindFileByName(
            name);
    EXPECT_NE(file, nullptr) << name;
    if (file == nullptr) continue;
    for (int s = 0; s < file->service_count(); ++s) {
      for (int m = 0; m < file->service(s)->method_count(); ++m) {
        methods.push_back(file->service(s)->method(m));
      }
    }
  }
  return methods;
}

TEST(AuthorizationMatrixTest,
     TheProtoDirectoryHoldsOnlyTheFilesTheMatrixWalks) {
  std::set<std::string> on_disk, walked;
  for (const auto& entry :
       std::filesystem::directory_iterator(MV_PROTO_V1_DIR)) {
    if (entry.path().extension() == ".proto")
      on_disk.insert(entry.path().filename().string());
  }
  for (const char* name : kProtoFiles)
    walked.insert(std::filesystem::path(name).filename().string());
  EXPECT_EQ(on_disk, walked);
}

TEST(AuthorizationMatrixTest,
     EveryRpcHasARowInTheMatrixAndTheServerAccessTable) {
  std::map<std::string, Row> matrix = Matrix();
  std::set<std::string> seen;
  for (const auto* method : AllMethods()) {
    seen.insert(method->full_name());
    EXPECT_TRUE(matrix.count(method->full_name()))
        << method->full_name()
        << " has no row in the authorization matrix: classify it";
    EXPECT_NE(mvserver::FindMethodAccess(method->full_name()), nullptr)
        << method->full_name() << " has no row in server/method_access.cc";
  }
  EXPECT_GE(seen.size(), 27u);
  for (const auto& [name, row] : matrix)
    EXPECT_TRUE(seen.count(name)) << "stale row " << name;
  for (const auto& row : mvserver::AllMethodAccess()) {
    EXPECT_TRUE(seen.count(std::string(row.method)))
        << "stale access rule " << row.method;
  }
}

// One call of the matrix, to find its audit records afterwards.
struct Call {
  std::string request_id, method, principal;
  StatusCode code;
};

mv::AuditDecision DecisionFor(StatusCode code) {
  switch (code) {
    case StatusCode::OK:
      return mv::AuditDecision::kAllowed;
    case StatusCode::UNAUTHENTICATED:
      return mv::AuditDecision::kUnauthenticated;
    default:
      return mv::AuditDecision::kDenied;
  }
}

// Every call left exactly one outcome record, with its principal, method,
// decision and code; an allowed download also one "download started"
// record before it.
void ExpectOneOutcomeRecordPerCall(mv::AuditLog& log,
                                   const std::vector<Call>& calls) {
  std::map<std::string, std::vector<mv::AuditRecord>> by_request;
  ASSERT_TRUE(log.ScanRecords(1,
                              [&](const mv::AuditRecord& r, std::string_view) {
                                by_request[r.request_id].push_back(r);
                                return true;
                              })
                  .ok());
  for (const Call& call : calls) {
    SCOPED_TRACE(call.method + " " + call.request_id);
    std::vector<mv::AuditRecord> outcomes, starts;
    for (const mv::AuditRecord& r : by_request[call.request_id]) {
      (r.reason == mvserver::kDownloadStarted ? starts : outcomes).push_back(r);
    }
    ASSERT_EQ(outcomes.size(), 1u);
    const mv::AuditRecord& r = outcomes.front();
    EXPECT_EQ(r.method, "/" + call.method.substr(0, call.method.rfind('.')) +
                            "/" +
                            call.method.substr(call.method.rfind('.') + 1));
    EXPECT_EQ(r.principal, call.principal);
    EXPECT_EQ(r.decision, DecisionFor(call.code));
    EXPECT_EQ(r.status_code, static_cast<uint32_t>(call.code));
    EXPECT_FALSE(r.peer.empty());
    const bool download =
        call.method.ends_with(".Download") && call.code == StatusCode::OK;
    EXPECT_EQ(starts.size(), download ? 1u : 0u);
    if (download) {
      EXPECT_LT(starts.front().sequence, r.sequence);
      EXPECT_NE(r.download_id, 0u);
      EXPECT_EQ(starts.front().download_id, r.download_id);
      EXPECT_EQ(r.bytes, std::string("weights of a").size());
      EXPECT_EQ(r.resource, "a/model@1");
    }
    if (call.code == StatusCode::PERMISSION_DENIED) {
      EXPECT_THAT(r.reason, testing::HasSubstr("denied"));
    }
  }
}

TEST(AuthorizationMatrixTest, EveryRpcAnswersEveryCallerWithItsExpectedCode) {
  Env env;
  std::vector<Call> calls;
  std::map<std::string, Row> matrix = Matrix();
  for (const auto* method : AllMethods()) {
    auto it = matrix.find(method->full_name());
    if (it == matrix.end()) continue;  // reported by the test above
    const Row& row = it->second;
    ASSERT_EQ(std::string(row.expected).size(), size_t{kCallerCount})
        << method->full_name();
    for (int c = 0; c < kCallerCount; ++c) {
      SCOPED_TRACE(method->full_name() + " as " + kCallerNames[c]);
      const std::string token = env.Token(static_cast<Caller>(c));
      const StatusCode want = Expected(row.expected[c]);
      grpc::Status status;
      std::string before;  // taken after the preparation, if any
      if (row.invoker.stream) {
        before = StateOf(env);
        status = row.invoker.stream(env, token);
      } else {
        std::unique_ptr<Message> request = row.invoker.request(env);
        ASSERT_EQ(request->GetDescriptor(), method->input_type());
        before = StateOf(env);
        status = env.Unary(*method, *request, token);
      }
      EXPECT_EQ(status.error_code(), want) << status.error_message();
      if (want != StatusCode::OK) {
        // Denied means nothing happened: no state changed, no byte left.
        EXPECT_EQ(StateOf(env), before);
        if (method->name() == "Download") {
          EXPECT_EQ(env.payload_bytes(), 0u);
        }
      }
      calls.push_back({env.last_request_id(), method->full_name(),
                       kPrincipalNames[c], want});
      if (want == StatusCode::UNAUTHENTICATED) {
        EXPECT_EQ(status.error_message(), mv::kUnauthenticatedMessage);
      }
      if (want == StatusCode::PERMISSION_DENIED) {
        EXPECT_TRUE(status.error_message().starts_with("permission denied"))
            << status.error_message();
      }
    }
  }
  ExpectOneOutcomeRecordPerCall(env.server().vault().audit_log(), calls);
}

TEST(AuthorizationMatrixTest, RootMayCallEveryRpc) {
  Env env;
  std::map<std::string, Row> matrix = Matrix();
  for (const auto* method : AllMethods()) {
    auto it = matrix.find(method->full_name());
    if (it == matrix.end()) continue;
    SCOPED_TRACE(method->full_name());
    const Invoker& invoker = it->second.invoker;
    grpc::Status status = invoker.stream
                              ? invoker.stream(env, env.server().root_token())
                              : env.Unary(*method, *invoker.request(env),
                                          env.server().root_token());
    EXPECT_TRUE(status.ok()) << status.error_message();
  }
}

}  // namespace
}  // namespace mvtesting
