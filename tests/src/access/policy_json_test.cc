#include <gtest/gtest.h>

#include "absl/strings/str_cat.h"
#include "access/policy.h"
#include "testing/status_matchers.h"

namespace mv {
namespace {

using mvtesting::IsOk;
using mvtesting::StatusIs;
using testing::HasSubstr;
using testing::StartsWith;

constexpr char kIssueExample[] = R"({"rules": [
  {"effect": "allow", "artifacts": ["acme/llama-*", "acme/runs/**"], "actions": ["read", "list"],
   "conditions": {"source_cidrs": ["10.0.0.0/8", "127.0.0.1/32"],
                  "not_before": "2026-01-01T00:00:00Z", "not_after": "2027-01-01T00:00:00Z",
                  "max_downloads_per_day": 20, "max_bytes_per_day": "500GiB",
                  "require_fingerprint": true}},
  {"effect": "deny", "artifacts": ["acme/llama-*-internal"], "actions": ["read"]}]})";

absl::Time T(std::string_view rfc3339) {
  absl::Time t;
  std::string err;
  EXPECT_TRUE(
      absl::ParseTime(absl::RFC3339_full, std::string(rfc3339), &t, &err))
      << err;
  return t;
}

TEST(PolicyJsonTest, ParsesTheIssueExample) {
  absl::StatusOr<Policy> p = ParsePolicy("researchers", kIssueExample);
  ASSERT_THAT(p, IsOk());
  EXPECT_EQ(p->name, "researchers");
  ASSERT_EQ(p->rules.size(), 2u);
  const Rule& allow = p->rules[0];
  EXPECT_EQ(allow.effect, Rule::Effect::kAllow);
  EXPECT_EQ(allow.artifacts,
            (std::vector<std::string>{"acme/llama-*", "acme/runs/**"}));
  EXPECT_TRUE(allow.Has(Action::kRead));
  EXPECT_TRUE(allow.Has(Action::kList));
  EXPECT_FALSE(allow.Has(Action::kWrite));
  const Conditions& c = allow.conditions;
  ASSERT_EQ(c.source_cidrs.size(), 2u);
  EXPECT_EQ(c.source_cidrs[1].ToString(), "127.0.0.1/32");
  EXPECT_EQ(c.not_before, T("2026-01-01T00:00:00Z"));
  EXPECT_EQ(c.not_after, T("2027-01-01T00:00:00Z"));
  EXPECT_EQ(c.max_downloads_per_day, 20u);
  EXPECT_EQ(c.max_bytes_per_day, 500ull << 30);
  EXPECT_TRUE(c.require_fingerprint);
  EXPECT_EQ(p->rules[1].effect, Rule::Effect::kDeny);
  EXPECT_NE(p->index, nullptr);
}

TEST(PolicyJsonTest, CanonicalJsonRoundTrips) {
  absl::StatusOr<Policy> p = ParsePolicy("researchers", kIssueExample);
  ASSERT_THAT(p, IsOk());
  std::string json = PolicyToJson(*p);
  EXPECT_EQ(
      json,
      R"({"rules":[{"actions":["read","list"],"artifacts":["acme/llama-*","acme/runs/**"],)"
      R"("conditions":{"max_bytes_per_day":536870912000,"max_downloads_per_day":20,)"
      R"("not_after":"2027-01-01T00:00:00Z","not_before":"2026-01-01T00:00:00Z",)"
      R"("require_fingerprint":true,"source_cidrs":["10.0.0.0/8","127.0.0.1/32"]},)"
      R"("effect":"allow"},{"actions":["read"],"artifacts":["acme/llama-*-internal"],)"
      R"("effect":"deny"}]})");
  absl::StatusOr<Policy> again = ParsePolicy("researchers", json);
  ASSERT_THAT(again, IsOk());
  EXPECT_EQ(*again, *p);
  EXPECT_EQ(PolicyToJson(*again), json);
}

TEST(PolicyJsonTest, AdminOnlyRulesNeedNoArtifacts) {
  absl::StatusOr<Policy> p = ParsePolicy(
      "auditor",
      R"({"rules":[{"effect":"allow","actions":["admin:audit","admin:keys"]}]})");
  ASSERT_THAT(p, IsOk());
  EXPECT_TRUE(p->rules[0].artifacts.empty());
  EXPECT_TRUE(p->rules[0].Has(Action::kAdminAudit));
}

TEST(PolicyJsonTest, EmptyConditionsAndFalseFlagsAreDefaults) {
  absl::StatusOr<Policy> p = ParsePolicy(
      "p",
      R"({"rules":[{"effect":"deny","artifacts":["*"],"actions":["read","read"],)"
      R"("conditions":{"require_fingerprint":false}}]})");
  ASSERT_THAT(p, IsOk());
  EXPECT_EQ(p->rules[0].conditions, Conditions{});
  EXPECT_EQ(
      PolicyToJson(*p),
      R"({"rules":[{"actions":["read"],"artifacts":["*"],"effect":"deny"}]})");
}

std::string WithConditions(std::string_view conditions) {
  return absl::StrCat(
      R"({"rules":[{"effect":"allow","artifacts":["a/*"],"actions":["read"],)",
      R"("conditions":)", std::string(conditions), "}]}");
}

struct SizeCase {
  std::string json;
  uint64_t bytes;
};

TEST(PolicyJsonTest, SizesTakeIntegersAndUnits) {
  for (const SizeCase& c : std::vector<SizeCase>{
           {"0", 0},
           {"1234", 1234},
           {"18446744073709551615", UINT64_MAX},
           {R"("0")", 0},
           {R"("17")", 17},
           {R"("17B")", 17},
           {R"("2KB")", 2000},
           {R"("3MB")", 3'000'000},
           {R"("4GB")", 4'000'000'000},
           {R"("5TB")", 5'000'000'000'000},
           {R"("2KiB")", 2048},
           {R"("3MiB")", 3ull << 20},
           {R"("500GiB")", 500ull << 30},
           {R"("5TiB")", 5ull << 40},
           {R"("16777215TiB")", 16777215ull << 40},
           {R"("18446744073709551615B")", UINT64_MAX},
       }) {
    absl::StatusOr<Policy> p = ParsePolicy(
        "p",
        WithConditions(absl::StrCat(R"({"max_bytes_per_day":)", c.json, "}")));
    ASSERT_THAT(p, IsOk()) << c.json;
    EXPECT_EQ(p->rules[0].conditions.max_bytes_per_day, c.bytes) << c.json;
  }
}

TEST(PolicyJsonTest, TimesAreRfc3339WithOffsets) {
  absl::StatusOr<Policy> p = ParsePolicy(
      "p", WithConditions(R"({"not_before":"2026-01-01T02:00:00+02:00",)"
                          R"("not_after":"2026-01-01T00:00:00.5Z"})"));
  ASSERT_THAT(p, IsOk());
  EXPECT_EQ(p->rules[0].conditions.not_before, T("2026-01-01T00:00:00Z"));
  EXPECT_EQ(p->rules[0].conditions.not_after,
            T("2026-01-01T00:00:00Z") + absl::Milliseconds(500));
  EXPECT_THAT(PolicyToJson(*p),
              HasSubstr(R"("not_after":"2026-01-01T00:00:00.5Z")"));
  EXPECT_THAT(PolicyToJson(*p),
              HasSubstr(R"("not_before":"2026-01-01T00:00:00Z")"));
}

struct BadCase {
  std::string json;
  std::string message_start;  // the path, and usually the reason
};

// Each document is rejected with INVALID_ARGUMENT whose message starts with
// the path of the bad field.
TEST(PolicyJsonTest, RejectionsNameThePath) {
  const std::string r0 =
      R"({"rules":[{"effect":"allow","artifacts":["a/*"],"actions":["read"])";
  for (
      const BadCase& c : std::vector<BadCase>{
          {"", "policy document: not valid JSON"},
          {"{", "policy document: not valid JSON"},
          {R"({"rules":[]} x)", "policy document: not valid JSON"},
          {"[]", "policy document: must be an object"},
          {"{}", "policy document: missing field \"rules\""},
          {R"({"rules":[],"extra":1})",
           "policy document: unknown field \"extra\""},
          {R"({"rules":1})", "rules: must be an array"},
          {R"({"rules":[]})", "rules: must not be empty"},
          {R"({"rules":[1]})", "rules[0]: must be an object"},
          {R"({"rules":[{"effect":"allow","actions":["read"]}]})",
           "rules[0]: missing field \"artifacts\""},
          {r0 + R"(,"color":"red"}]})", "rules[0]: unknown field \"color\""},
          {r0 + R"(,"effect":"deny"}]})",
           "policy document: duplicate field \"effect\""},
          {R"({"rules":[{"artifacts":["a"],"actions":["read"]}]})",
           "rules[0]: missing field \"effect\""},
          {R"({"rules":[{"effect":"Allow","artifacts":["a"],"actions":["read"]}]})",
           "rules[0].effect: must be \"allow\" or \"deny\""},
          {R"({"rules":[{"effect":true,"artifacts":["a"],"actions":["read"]}]})",
           "rules[0].effect: must be"},
          {R"({"rules":[{"effect":"allow","artifacts":["a"]}]})",
           "rules[0]: missing field \"actions\""},
          {R"({"rules":[{"effect":"allow","artifacts":["a"],"actions":[]}]})",
           "rules[0].actions: must not be empty"},
          {R"({"rules":[{"effect":"allow","artifacts":["a"],"actions":"read"}]})",
           "rules[0].actions: must be an array of strings"},
          {R"({"rules":[{"effect":"allow","artifacts":["a"],"actions":["read","fly"]}]})",
           "rules[0].actions[1]: unknown action \"fly\""},
          {R"({"rules":[{"effect":"allow","artifacts":["a"],"actions":["read",7]}]})",
           "rules[0].actions[1]: must be a string"},
          {R"({"rules":[{"effect":"allow","artifacts":[],"actions":["read"]}]})",
           "rules[0].artifacts: must not be empty"},
          {R"({"rules":[{"effect":"allow","artifacts":["a",""],"actions":["read"]}]})",
           "rules[0].artifacts[1]: empty glob"},
          {R"({"rules":[{"effect":"allow","artifacts":["a/***"],"actions":["read"]}]})",
           "rules[0].artifacts[0]: glob holds `***`"},
          {r0 + R"(,"conditions":[]}]})",
           "rules[0].conditions: must be an object"},
          {r0 + R"(,"conditions":{"source_cidr":[]}}]})",
           "rules[0].conditions: unknown field \"source_cidr\""},
          {r0 +
               R"(,"conditions":{"source_cidrs":["10.0.0.0/8","10.0.0.0/33"]}}]})",
           "rules[0].conditions.source_cidrs[1]: not a CIDR (bad prefix "
           "length): 10.0.0.0/33"},
          {r0 + R"(,"conditions":{"source_cidrs":["10.0.0.1/8"]}}]})",
           "rules[0].conditions.source_cidrs[0]: not a CIDR (host bits set)"},
          {r0 + R"(,"conditions":{"source_cidrs":["2001:db8::1/32"]}}]})",
           "rules[0].conditions.source_cidrs[0]: not a CIDR (host bits set)"},
          {r0 + R"(,"conditions":{"source_cidrs":[]}}]})",
           "rules[0].conditions.source_cidrs: must not be empty"},
          {r0 + R"(,"conditions":{"not_before":"2026-01-01"}}]})",
           "rules[0].conditions.not_before: not an RFC 3339 time"},
          {r0 + R"(,"conditions":{"not_after":"2026-13-01T00:00:00Z"}}]})",
           "rules[0].conditions.not_after: not an RFC 3339 time"},
          {r0 + R"(,"conditions":{"not_after":"infinite-future"}}]})",
           "rules[0].conditions.not_after: not an RFC 3339 time"},
          {r0 + R"(,"conditions":{"not_after":" 2026-01-01T00:00:00Z"}}]})",
           "rules[0].conditions.not_after: not an RFC 3339 time"},
          {r0 + R"(,"conditions":{"not_after":1700000000}}]})",
           "rules[0].conditions.not_after: must be an RFC 3339 time string"},
          {r0 +
               R"(,"conditions":{"not_before":"2026-01-01T00:00:00Z","not_after":"2026-01-01T00:00:00Z"}}]})",
           "rules[0].conditions.not_after: must be after not_before"},
          {r0 + R"(,"conditions":{"max_downloads_per_day":-1}}]})",
           "rules[0].conditions.max_downloads_per_day: must be a non-negative "
           "integer"},
          {r0 + R"(,"conditions":{"max_downloads_per_day":1.5}}]})",
           "rules[0].conditions.max_downloads_per_day: must be a non-negative "
           "integer"},
          {r0 + R"(,"conditions":{"max_downloads_per_day":"20"}}]})",
           "rules[0].conditions.max_downloads_per_day: must be a non-negative "
           "integer"},
          {r0 +
               R"(,"conditions":{"max_downloads_per_day":18446744073709551616}}]})",
           "rules[0].conditions.max_downloads_per_day: must be a non-negative "
           "integer"},
          {r0 + R"(,"conditions":{"max_bytes_per_day":-5}}]})",
           "rules[0].conditions.max_bytes_per_day: must be a non-negative "
           "integer or a size"},
          {r0 + R"(,"conditions":{"max_bytes_per_day":"-5GB"}}]})",
           "rules[0].conditions.max_bytes_per_day: not a size"},
          {r0 + R"(,"conditions":{"max_bytes_per_day":"5 GB"}}]})",
           "rules[0].conditions.max_bytes_per_day: not a size"},
          {r0 + R"(,"conditions":{"max_bytes_per_day":"5gb"}}]})",
           "rules[0].conditions.max_bytes_per_day: not a size"},
          {r0 + R"(,"conditions":{"max_bytes_per_day":"1.5GB"}}]})",
           "rules[0].conditions.max_bytes_per_day: not a size"},
          {r0 + R"(,"conditions":{"max_bytes_per_day":"GB"}}]})",
           "rules[0].conditions.max_bytes_per_day: not a size"},
          {r0 + R"(,"conditions":{"max_bytes_per_day":"16777216TiB"}}]})",
           "rules[0].conditions.max_bytes_per_day: size overflows 64 bits"},
          {r0 +
               R"(,"conditions":{"max_bytes_per_day":"18446744073709551616"}}]})",
           "rules[0].conditions.max_bytes_per_day: size overflows 64 bits"},
          {r0 + R"(,"conditions":{"require_fingerprint":"yes"}}]})",
           "rules[0].conditions.require_fingerprint: must be true or false"},
          {r0 + R"(},)" + r0.substr(10) +
               R"(,"conditions":{"source_cidrs":["::1/129"]}}]})",
           "rules[1].conditions.source_cidrs[0]: not a CIDR"},
      }) {
    EXPECT_THAT(ParsePolicy("p", c.json),
                StatusIs(absl::StatusCode::kInvalidArgument,
                         StartsWith(c.message_start)))
        << c.json;
  }
}

TEST(PolicyJsonTest, RejectsBadAndReservedNames) {
  const char* doc =
      R"({"rules":[{"effect":"allow","artifacts":["*"],"actions":["read"]}]})";
  EXPECT_THAT(ParsePolicy("readers-1.x_y", doc), IsOk());
  EXPECT_THAT(
      ParsePolicy("root", doc),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("reserved")));
  for (std::string_view bad :
       {"", "Readers", "-x", ".x", "a b", "a/b", "a:b"}) {
    EXPECT_THAT(
        ParsePolicy(bad, doc),
        StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("policy name")))
        << bad;
  }
  EXPECT_THAT(ValidatePolicyName(std::string(64, 'a')), IsOk());
  EXPECT_THAT(ValidatePolicyName(std::string(65, 'a')),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("1-64")));
  EXPECT_THAT(ValidatePolicyName("root"), IsOk());
  EXPECT_THAT(ValidatePolicyName("0day"), IsOk());
}

TEST(PolicyJsonTest, BoundsTheWork) {
  std::string rule =
      R"({"effect":"allow","artifacts":["*"],"actions":["read"]})";
  std::string rules;
  for (int i = 0; i < 1001; ++i) rules += (i ? "," : "") + rule;
  EXPECT_THAT(ParsePolicy("p", R"({"rules":[)" + rules + "]}"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       StartsWith("rules: more than 1000")));
  std::string huge = R"({"rules":[)" + rule + "]}" + std::string(1 << 20, ' ');
  EXPECT_THAT(ParsePolicy("p", huge),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("larger than 1 MiB")));
  std::string deep = std::string(10000, '[') + std::string(10000, ']');
  EXPECT_THAT(
      ParsePolicy("p", deep),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("nested deeper")));
  std::string globs;
  for (int i = 0; i < 257; ++i) globs += (i ? ",\"a\"" : "\"a\"");
  EXPECT_THAT(
      ParsePolicy(
          "p",
          R"({"rules":[{"effect":"allow","actions":["read"],"artifacts":[)" +
              globs + "]}]}"),
      StatusIs(absl::StatusCode::kInvalidArgument,
               StartsWith("rules[0].artifacts: more than 256")));
}

TEST(PolicyJsonTest, ErrorMessagesArePrintable) {
  absl::Status s =
      ParsePolicy("p", R"({"rules":[{"effect":"allow","artifacts":["a"],)"
                       R"("actions":["r\u0000\n\u00e9"]}]})")
          .status();
  ASSERT_THAT(s, StatusIs(absl::StatusCode::kInvalidArgument,
                          HasSubstr("unknown action")));
  for (char c : std::string(s.message())) {
    EXPECT_TRUE(c >= 0x20 && c < 0x7f) << static_cast<int>(c);
  }
}

}  // namespace
}  // namespace mv
