// The ranges of the catalog `ls` scans for a caller (access/list_prefixes.h).
#include "access/list_prefixes.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace mv {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;

Policy Parse(const std::string& json) {
  absl::StatusOr<Policy> p = ParsePolicy("p", json);
  EXPECT_TRUE(p.ok()) << p.status();
  return p.ok() ? *p : Policy{};
}

TEST(ListPrefixes, TheLiteralPartOfEachListGlobNarrowedToTheRequest) {
  const Policy a = Parse(R"({"rules":[
      {"effect":"allow","actions":["list","read"],"artifacts":["acme/pub/*","team/**"]},
      {"effect":"allow","actions":["read"],"artifacts":["big/**"]},
      {"effect":"deny","actions":["list"],"artifacts":["team/secret/**"]}]})");
  const Policy b = Parse(
      R"({"rules":[{"effect":"allow","actions":["list"],"artifacts":["acme/pub/x","zoo/m"]}]})");
  // read-only and deny rules add nothing; acme/pub/x is inside acme/pub/.
  EXPECT_THAT(ListPrefixes({&a, &b}, ""),
              ElementsAre("acme/pub/", "team/", "zoo/m"));
  EXPECT_THAT(ListPrefixes({&a, &b}, "team/a"), ElementsAre("team/a"));
  EXPECT_THAT(ListPrefixes({&a, &b}, "acme/"), ElementsAre("acme/pub/"));
  EXPECT_THAT(ListPrefixes({&a, &b}, "big/"), IsEmpty());
  EXPECT_THAT(ListPrefixes({}, ""), IsEmpty());
}

TEST(ListPrefixes, AGlobStartingWithAWildcardReachesEverything) {
  const Policy all = Parse(
      R"({"rules":[{"effect":"allow","actions":["list"],"artifacts":["**","acme/*"]}]})");
  EXPECT_THAT(ListPrefixes({&all}, ""), ElementsAre(""));
  EXPECT_THAT(ListPrefixes({&all}, "x/y"), ElementsAre("x/y"));
  Policy root;  // built in: no stored rules, allows everything
  root.name = std::string(kRootPolicy);
  EXPECT_THAT(ListPrefixes({&root}, "acme/"), ElementsAre("acme/"));
}

}  // namespace
}  // namespace mv
