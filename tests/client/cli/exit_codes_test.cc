#include "client/cli/exit_codes.h"

#include <gtest/gtest.h>

namespace mvcli {
namespace {

TEST(ExitCodesTest, DocumentedMapping) {
  EXPECT_EQ(ExitCodeFor(absl::OkStatus()), 0);
  EXPECT_EQ(ExitCodeFor(absl::UnknownError("")), 1);
  EXPECT_EQ(ExitCodeFor(absl::InternalError("")), 1);
  EXPECT_EQ(ExitCodeFor(absl::NotFoundError("")), 3);
  EXPECT_EQ(ExitCodeFor(absl::UnauthenticatedError("")), 4);
  EXPECT_EQ(ExitCodeFor(absl::PermissionDeniedError("")), 4);
  EXPECT_EQ(ExitCodeFor(absl::DataLossError("")), 5);
  EXPECT_EQ(ExitCodeFor(absl::UnavailableError("")), 6);
  EXPECT_EQ(ExitCodeFor(absl::CancelledError("")), 130);
}

TEST(ExitCodesTest, ServerInvalidArgumentIsNotAUsageError) {
  // 2 is reserved for errors CLI11 catches before any request.
  EXPECT_EQ(ExitCodeFor(absl::InvalidArgumentError("")), 1);
  EXPECT_EQ(ExitCodeFor(absl::AlreadyExistsError("")), 1);
  EXPECT_EQ(ExitCodeFor(absl::FailedPreconditionError("")), 1);
  EXPECT_EQ(ExitCodeFor(absl::ResourceExhaustedError("")), 1);
  EXPECT_EQ(ExitCodeFor(absl::DeadlineExceededError("")), 1);
}

}  // namespace
}  // namespace mvcli
