// CheckProperty: runs a rapidcheck property inside a GoogleTest test with a
// fixed seed (TESTING.md), so a run is repeatable and CI never turns red on
// a case it had not tried before. The seed and the shrunk counterexample are
// part of the failure message; RC_PARAMS="seed=N" (or a wider max_success
// in RC_PARAMS for a nightly run) overrides the seed.
//
//   TEST(GlobProperty, MatchesTheReference) {
//     mvtesting::CheckProperty(2000, [] { RC_ASSERT(...); });
//   }
#ifndef MODELVAULT_TESTS_TESTING_PROPERTY_H_
#define MODELVAULT_TESTS_TESTING_PROPERTY_H_

#include <gtest/gtest.h>
#include <rapidcheck.h>

#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <sstream>
#include <utility>

namespace mvtesting {

inline constexpr uint64_t kPropertySeed = 20261207;

template <typename Property>
void CheckProperty(int cases, Property property) {
  rc::detail::TestParams params = rc::detail::configuration().testParams;
  const char* env = std::getenv("RC_PARAMS");
  if (env == nullptr || std::strstr(env, "seed=") == nullptr)
    params.seed = kPropertySeed;
  params.maxSuccess = cases;
  rc::detail::TestMetadata metadata;
  metadata.id = testing::UnitTest::GetInstance()->current_test_info()->name();
  const rc::detail::TestResult result =
      rc::detail::checkTestable(std::move(property), metadata, params);
  if (!result.template is<rc::detail::SuccessResult>()) {
    std::ostringstream out;
    rc::detail::printResultMessage(result, out);
    ADD_FAILURE() << "rapidcheck seed " << params.seed
                  << " (rerun with RC_PARAMS=\"seed=" << params.seed << "\"):\n"
                  << out.str();
  }
}

}  // namespace mvtesting

#endif  // MODELVAULT_TESTS_TESTING_PROPERTY_H_
