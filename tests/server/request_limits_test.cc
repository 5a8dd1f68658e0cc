// The request limits table (server/request_limits.h) against the service
// descriptors and docs/ARCHITECTURE.md, its checks on messages, and the
// check in front of a real server: out of range is INVALID_ARGUMENT naming
// the field, and nothing is stored.
#include "server/request_limits.h"

#include <gmock/gmock.h>
#include <google/protobuf/descriptor.h>
#include <google/protobuf/duration.pb.h>
#include <gtest/gtest.h>

#include <fstream>
#include <limits>
#include <set>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "server/test_server.h"
#include "testing/status_matchers.h"
#include "vault/identity.h"

namespace mvtesting {
namespace {

namespace v1 = modelvault::v1;
using google::protobuf::Descriptor;
using google::protobuf::DescriptorPool;
using google::protobuf::FieldDescriptor;
using mvserver::CheckRequestLimits;
using mvserver::FieldLimit;
using mvserver::RequestFieldLimits;
using ::testing::HasSubstr;

constexpr std::string_view kPackage = "modelvault.v1.";
constexpr const char* kProtoFiles[] = {
    "modelvault/v1/artifact.proto", "modelvault/v1/access.proto",
    "modelvault/v1/audit.proto", "modelvault/v1/trace.proto",
    "modelvault/v1/operator.proto"};

void Walk(const Descriptor& m, std::set<std::string>* seen,
          std::set<std::string>* need) {
  if (!seen->insert(m.full_name()).second) return;
  for (int i = 0; i < m.field_count(); ++i) {
    const FieldDescriptor& f = *m.field(i);
    if (mvserver::NeedsLimit(f))
      need->insert(f.full_name().substr(kPackage.size()));
    if (f.message_type() != nullptr) Walk(*f.message_type(), seen, need);
  }
}

// Every field reachable from the input of every RPC that needs a row.
std::set<std::string> FieldsNeedingRows() {
  std::set<std::string> seen, need;
  for (const char* name : kProtoFiles) {
    const auto* file = DescriptorPool::generated_pool()->FindFileByName(name);
    EXPECT_NE(file, nullptr) << name;
    if (file == nullptr) continue;
    for (int s = 0; s < file->service_count(); ++s) {
      for (int m = 0; m < file->service(s)->method_count(); ++m)
        Walk(*file->service(s)->method(m)->input_type(), &seen, &need);
    }
  }
  return need;
}

const FieldDescriptor* Field(std::string_view row) {
  return DescriptorPool::generated_pool()->FindFieldByName(
      absl::StrCat("modelvault.v1.", std::string(row)));
}

std::string Bound(uint64_t max) {
  if (max == std::numeric_limits<uint64_t>::max() ||
      max == std::numeric_limits<uint32_t>::max())
    return "any";
  if (max == static_cast<uint64_t>(std::numeric_limits<int64_t>::max()))
    return "0 … 2^63−1";
  return absl::StrCat("0 … ", max);
}

// The row docs/ARCHITECTURE.md must hold for `limit`.
std::string DocRow(const FieldLimit& limit) {
  const FieldDescriptor& f = *Field(limit.field);
  std::string range = "—";
  if (f.cpp_type() == FieldDescriptor::CPPTYPE_STRING) {
    range = limit.max == std::numeric_limits<uint32_t>::max()
                ? "the transport's message size"
                : absl::StrCat("≤ ", limit.max, " bytes");
  } else if (f.cpp_type() != FieldDescriptor::CPPTYPE_MESSAGE) {
    range = Bound(limit.max);
  }
  return absl::StrCat("| `", std::string(limit.field), "` | ", range, " | ",
                      f.is_repeated() ? absl::StrCat(limit.max_count) : "—",
                      " |");
}

TEST(RequestLimitsTest, EveryRequestFieldHasExactlyOneRowAndEveryRowAField) {
  const std::set<std::string> need = FieldsNeedingRows();
  std::set<std::string> rows;
  for (const FieldLimit& limit : RequestFieldLimits()) {
    EXPECT_TRUE(rows.insert(std::string(limit.field)).second)
        << limit.field << " has two rows";
    EXPECT_NE(Field(limit.field), nullptr)
        << limit.field << " names no field of modelvault.v1";
    EXPECT_TRUE(need.count(std::string(limit.field)))
        << limit.field << " is not a request field that needs a row";
  }
  for (const std::string& field : need) {
    EXPECT_TRUE(rows.count(field))
        << field << " has no row in server/request_limits.cc: give it one";
  }
}

TEST(RequestLimitsTest, TheArchitectureDocumentListsEveryRowAsTheCodeHasIt) {
  std::ifstream in(MV_ARCHITECTURE_MD);
  ASSERT_TRUE(in) << MV_ARCHITECTURE_MD;
  std::stringstream text;
  text << in.rdbuf();
  std::string missing;
  for (const FieldLimit& limit : RequestFieldLimits()) {
    const std::string row = DocRow(limit);
    if (text.str().find(row + "\n") == std::string::npos) missing += row + "\n";
  }
  EXPECT_EQ(missing, "") << "rows to put in docs/ARCHITECTURE.md "
                            "(\"Request field limits\"):\n"
                         << missing;
}

TEST(RequestLimitsTest, TheTokenTtlRowIsTheCoresLimit) {
  const FieldLimit* ttl = nullptr;
  for (const FieldLimit& limit : RequestFieldLimits()) {
    if (limit.field == "CreateTokenRequest.ttl_seconds") ttl = &limit;
  }
  ASSERT_NE(ttl, nullptr);
  EXPECT_EQ(ttl->max, absl::ToInt64Seconds(mv::kMaxTokenTtl));
}

TEST(RequestLimitsTest, AFieldWithoutARowIsRefusedNotPassed) {
  google::protobuf::Duration unlisted;  // not a modelvault.v1 message
  unlisted.set_seconds(1);
  EXPECT_THAT(CheckRequestLimits(unlisted),
              StatusIs(absl::StatusCode::kInternal,
                       HasSubstr("has no row in the request limits table")));
}

TEST(RequestLimitsTest, ValuesAtTheLimitPassAndBeyondItNameTheField) {
  v1::CreateTokenRequest token;
  token.set_principal("bob");
  token.set_ttl_seconds(315'360'000);
  token.set_uses(mv::kMaxTokenUses);
  for (int i = 0; i < 64; ++i) token.add_policies("p");
  EXPECT_TRUE(CheckRequestLimits(token).ok()) << CheckRequestLimits(token);

  token.set_ttl_seconds(9223372036854775);
  EXPECT_THAT(CheckRequestLimits(token),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("CreateTokenRequest.ttl_seconds: "
                                 "9223372036854775 is out of range")));
  token.set_ttl_seconds(-1);
  EXPECT_THAT(CheckRequestLimits(token),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("CreateTokenRequest.ttl_seconds: -1")));
  token.set_ttl_seconds(0);
  token.add_policies("p");
  EXPECT_THAT(CheckRequestLimits(token),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("CreateTokenRequest.policies: 65 entries, "
                                 "at most 64")));
}

TEST(RequestLimitsTest, TheLongestValidReferenceFits) {
  // A 200-byte name (4 segments of up to 64) with a digest selector.
  const std::string name =
      absl::StrCat(std::string(64, 'a'), "/", std::string(64, 'b'), "/",
                   std::string(64, 'c'), "/", std::string(5, 'd'));
  ASSERT_EQ(name.size(), 200u);
  v1::DownloadRequest download;
  download.set_ref(absl::StrCat(name, "@sha256:", std::string(64, 'f')));
  EXPECT_TRUE(CheckRequestLimits(download).ok())
      << CheckRequestLimits(download);
  download.set_ref(download.ref() + "f");
  EXPECT_FALSE(CheckRequestLimits(download).ok());
}

TEST(RequestLimitsTest, NestedMessagesMapsAndEnumsAreChecked) {
  v1::UploadRequest upload;
  upload.mutable_header()->set_name(std::string(201, 'a'));
  EXPECT_THAT(CheckRequestLimits(upload),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("UploadHeader.name: 201 bytes")));
  upload.mutable_header()->set_name("acme/x");
  (*upload.mutable_header()->mutable_labels())["k"] = std::string(1025, 'v');
  EXPECT_THAT(CheckRequestLimits(upload),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("UploadHeader.LabelsEntry.value: 1025")));
  upload.mutable_header()->mutable_labels()->clear();
  for (int i = 0; i < 65; ++i)
    (*upload.mutable_header()->mutable_labels())[absl::StrCat("k", i)] = "v";
  EXPECT_THAT(CheckRequestLimits(upload),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("UploadHeader.labels: 65 entries")));
  upload.mutable_header()->mutable_labels()->clear();
  upload.mutable_header()->set_format(static_cast<v1::Format>(77));
  EXPECT_THAT(CheckRequestLimits(upload),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("UploadHeader.format: unknown value 77")));

  v1::QueryRecordsRequest query;
  query.mutable_filter()->set_since_unix_ms(-5);
  EXPECT_THAT(CheckRequestLimits(query),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("AuditFilter.since_unix_ms: -5")));
  v1::DownloadRequest download;
  download.set_offset(uint64_t{1} << 63);
  EXPECT_THAT(CheckRequestLimits(download),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("DownloadRequest.offset")));
}

TEST(RequestLimitsTest, AServerRefusesOutOfRangeFieldsAndStoresNothing) {
  TestServer server;
  v1::CreatePrincipalRequest principal;
  principal.set_name("bob");
  v1::Principal created;
  auto context = server.Context(server.root_token());
  ASSERT_TRUE(server.admin_stub()
                  .CreatePrincipal(context.get(), principal, &created)
                  .ok());

  v1::CreateTokenRequest request;  // the overflowing TTL
  request.set_principal("bob");
  request.set_ttl_seconds(9223372036854775);
  v1::CreateTokenResponse response;
  context = server.Context(server.root_token());
  grpc::Status status =
      server.admin_stub().CreateToken(context.get(), request, &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(status.error_message(),
              HasSubstr("CreateTokenRequest.ttl_seconds"));

  v1::ListTokensRequest list;
  list.set_principal("bob");
  v1::ListTokensResponse tokens;
  context = server.Context(server.root_token());
  ASSERT_TRUE(
      server.admin_stub().ListTokens(context.get(), list, &tokens).ok());
  EXPECT_EQ(tokens.tokens_size(), 0);
  // bob can still be removed: no corrupt record was left behind.
  v1::DeletePrincipalRequest remove;
  remove.set_name("bob");
  v1::DeletePrincipalResponse removed;
  context = server.Context(server.root_token());
  EXPECT_TRUE(server.admin_stub()
                  .DeletePrincipal(context.get(), remove, &removed)
                  .ok());
}

TEST(RequestLimitsTest, AnUnauthenticatedCallerLearnsNothingFromTheLimits) {
  TestServer server;
  v1::CreateTokenRequest request;
  request.set_principal("bob");
  request.set_ttl_seconds(-1);
  v1::CreateTokenResponse response;
  auto context = server.Context("mvt_not-a-token");
  EXPECT_EQ(server.admin_stub()
                .CreateToken(context.get(), request, &response)
                .error_code(),
            grpc::StatusCode::UNAUTHENTICATED);
}

}  // namespace
}  // namespace mvtesting
