// x-request-id (README, "Audit"): a printable id of at most 128 bytes sent
// by the client comes back in the response's initial metadata and is the
// request_id of the call's audit record; anything else is replaced by a
// fresh random id, which is echoed and recorded the same way. (gRPC clients
// refuse to send control characters, so a space is the unprintable case.)
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <optional>
#include <string>

#include "server/test_server.h"

namespace mvtesting {
namespace {

namespace v1 = modelvault::v1;
using ::testing::MatchesRegex;

struct RequestIds {
  std::string echoed;    // in the response's initial metadata
  std::string recorded;  // in the call's audit record
};

RequestIds WhoAmIWith(TestServer& server, std::optional<std::string> id) {
  grpc::ClientContext context;
  context.AddMetadata("authorization", "Bearer " + server.root_token());
  if (id.has_value()) context.AddMetadata("x-request-id", *id);
  v1::WhoAmIResponse response;
  const grpc::Status status =
      server.auth_stub().WhoAmI(&context, v1::WhoAmIRequest(), &response);
  EXPECT_TRUE(status.ok()) << status.error_message();
  RequestIds out;
  const auto& metadata = context.GetServerInitialMetadata();
  if (auto it = metadata.find("x-request-id"); it != metadata.end())
    out.echoed = std::string(it->second.data(), it->second.size());
  // The call's record is committed before its response is sent.
  EXPECT_TRUE(
      server.vault()
          .audit_log()
          .ScanRecordsBackward(0,
                               [&](const mv::AuditRecord& r, std::string_view) {
                                 if (!r.method.ends_with("/WhoAmI"))
                                   return true;
                                 out.recorded = r.request_id;
                                 return false;
                               })
          .ok());
  return out;
}

TEST(RequestIdTest, APrintableIdOfAtMost128BytesIsEchoedAndRecorded) {
  TestServer server;
  for (const std::string& id :
       {std::string("trainer-7/job_42.step~1000"), std::string(128, 'a'),
        std::string("!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~")}) {
    const RequestIds ids = WhoAmIWith(server, id);
    EXPECT_EQ(ids.echoed, id);
    EXPECT_EQ(ids.recorded, id);
  }
}

TEST(RequestIdTest, AnythingElseGetsAFreshRandomIdEchoedAndRecorded) {
  TestServer server;
  std::string previous;
  for (const std::optional<std::string>& id :
       {std::optional<std::string>(), std::optional<std::string>(""),
        std::optional<std::string>(std::string(129, 'a')),
        std::optional<std::string>("two words")}) {
    const RequestIds ids = WhoAmIWith(server, id);
    EXPECT_THAT(ids.echoed, MatchesRegex("[0-9a-f]{24}")) << id.value_or("");
    EXPECT_EQ(ids.recorded, ids.echoed);
    EXPECT_NE(ids.echoed, previous);  // fresh for every call
    previous = ids.echoed;
  }
}

}  // namespace
}  // namespace mvtesting
