// GoogleTest matchers for absl::Status / StatusOr (Debian's Abseil ships
// none): EXPECT_THAT(s, IsOk()), EXPECT_THAT(v, IsOkAndHolds(5)),
// EXPECT_THAT(s, StatusIs(absl::StatusCode::kNotFound, HasSubstr("x"))).
#ifndef MODELVAULT_TESTS_TESTING_STATUS_MATCHERS_H_
#define MODELVAULT_TESTS_TESTING_STATUS_MATCHERS_H_

#include <gmock/gmock.h>

#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace mvtesting {

inline const absl::Status& GetStatus(const absl::Status& s) { return s; }
template <typename T>
const absl::Status& GetStatus(const absl::StatusOr<T>& s) {
  return s.status();
}

MATCHER(IsOk, "is OK") {
  const absl::Status& s = GetStatus(arg);
  if (!s.ok()) *result_listener << "status is " << s.ToString();
  return s.ok();
}

MATCHER_P(IsOkAndHolds, matcher, "is OK and holds a matching value") {
  if (!arg.ok()) {
    *result_listener << "status is " << arg.status().ToString();
    return false;
  }
  return testing::ExplainMatchResult(matcher, *arg, result_listener);
}

MATCHER_P2(StatusIs, code, message_matcher, "has the given code and message") {
  const absl::Status& s = GetStatus(arg);
  *result_listener << "status is " << s.ToString();
  return s.code() == code &&
         testing::ExplainMatchResult(message_matcher, std::string(s.message()),
                                     result_listener);
}

}  // namespace mvtesting

#endif  // MODELVAULT_TESTS_TESTING_STATUS_MATCHERS_H_
