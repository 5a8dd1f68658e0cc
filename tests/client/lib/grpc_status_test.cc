#include "client/lib/grpc_status.h"

#include <gtest/gtest.h>

namespace mvclient {
namespace {

TEST(GrpcStatusTest, OkIsOk) {
  EXPECT_TRUE(FromGrpcStatus(grpc::Status::OK).ok());
}

TEST(GrpcStatusTest, EveryCodeKeepsItsNumberAndMessage) {
  for (int code = 1; code <= 16; ++code) {
    grpc::Status in(static_cast<grpc::StatusCode>(code), "msg");
    absl::Status out = FromGrpcStatus(in);
    EXPECT_EQ(static_cast<int>(out.code()), code);
    EXPECT_EQ(out.message(), "msg");
  }
}

TEST(GrpcStatusTest, NamedCodesLineUp) {
  EXPECT_EQ(
      FromGrpcStatus(grpc::Status(grpc::StatusCode::NOT_FOUND, "")).code(),
      absl::StatusCode::kNotFound);
  EXPECT_EQ(
      FromGrpcStatus(grpc::Status(grpc::StatusCode::DATA_LOSS, "")).code(),
      absl::StatusCode::kDataLoss);
  EXPECT_EQ(FromGrpcStatus(grpc::Status(grpc::StatusCode::UNAUTHENTICATED, ""))
                .code(),
            absl::StatusCode::kUnauthenticated);
}

}  // namespace
}  // namespace mvclient
