// Policy evaluation cost (issue [access]): a caller with 1,000 policies of
// 20 rules each attached — the worst case, every policy consulted on every
// request — authorizing one request. Target: well under 50 µs per request.
//
//   policy_bench [--benchmark_filter=...]   (Google Benchmark flags)
//
// Each policy belongs to one team and looks like a real one: allow rules on
// the team's own prefixes (some with CIDR and time-window conditions), a
// deny on the team's internal models, a rule on a prefix every team shares,
// a wildcard-first deny ("**-secret") and, in every tenth policy, a
// wildcard-first allow ("*/public/**"). The cases range from a request every
// policy allows (allowed_by lists 1,000 rules) to one none does.
#include <benchmark/benchmark.h>

#include <chrono>
#include <cstdio>
#include <string>
#include <vector>

#include "access/policy.h"

namespace {

constexpr int kPolicies = 1000;
constexpr int kRulesPerPolicy = 20;

std::string TeamPolicyJson(int team) {
  std::string t = "team-" + std::to_string(team);
  std::string rules =
      R"({"effect":"allow","artifacts":[")" + t +
      R"(/**"],"actions":["list"]},)"
      R"({"effect":"allow","artifacts":[")" +
      t +
      R"(/runs/*"],"actions":["write","alias","read"]},)"
      R"({"effect":"deny","artifacts":[")" +
      t +
      R"(/*-internal"],"actions":["read","write"]},)"
      R"({"effect":"allow","artifacts":["shared/models/*","shared/datasets/**"],"actions":["read","list"]},)"
      R"({"effect":"deny","artifacts":["**-secret"],"actions":["read"]},)";
  rules +=
      team % 10 == 0
          ? R"({"effect":"allow","artifacts":["*/public/**"],"actions":["read"]},)"
          : R"({"effect":"allow","actions":["admin:audit"],"conditions":{"source_cidrs":["10.0.0.0/8"]}},)";
  for (int j = 0; j < kRulesPerPolicy - 6; ++j) {
    std::string p = t + "/project-" + std::to_string(j);
    std::string conditions =
        j % 3 == 0
            ? R"(,"conditions":{"source_cidrs":["10.0.0.0/8","192.168.0.0/16"]})"
        : j % 3 == 1
            ? R"(,"conditions":{"not_before":"2026-01-01T00:00:00Z","not_after":"2036-01-01T00:00:00Z","max_bytes_per_day":"500GiB"})"
            : "";
    rules += R"({"effect":"allow","artifacts":[")" + p + R"(/*",")" + p +
             R"(/ckpt/**"],)"
             R"("actions":["read","list"])" +
             conditions + "}";
    if (j + 1 < kRulesPerPolicy - 6) rules += ",";
  }
  return R"({"rules":[)" + rules + "]}";
}

const std::vector<mv::Policy>& Policies() {
  static const std::vector<mv::Policy>* policies = [] {
    auto* out = new std::vector<mv::Policy>;
    for (int i = 0; i < kPolicies; ++i) {
      absl::StatusOr<mv::Policy> p =
          mv::ParsePolicy("team-" + std::to_string(i), TeamPolicyJson(i));
      if (!p.ok() || p->rules.size() != kRulesPerPolicy) {
        std::fprintf(stderr, "bad bench policy: %s\n",
                     std::string(p.status().message()).c_str());
        std::abort();
      }
      out->push_back(*std::move(p));
    }
    return out;
  }();
  return *policies;
}

std::vector<const mv::Policy*> Attached() {
  std::vector<const mv::Policy*> out;
  for (const mv::Policy& p : Policies()) out.push_back(&p);
  return out;
}

struct Case {
  const char* label;
  mv::Action action;
  const char* artifact;
  bool expect_allowed;
};

const Case kCases[] = {
    {"own project, allowed by 1 rule", mv::Action::kRead,
     "team-500/project-4/llama-7b", true},
    {"own checkpoint, 2 globs", mv::Action::kRead,
     "team-500/project-3/ckpt/step-9", true},
    {"shared model, allowed by 1000 rules", mv::Action::kRead,
     "shared/models/llama-70b", true},
    {"public via */public/**", mv::Action::kRead, "acme/public/bert", true},
    {"explicit deny (own internal)", mv::Action::kRead,
     "team-500/llama-internal", false},
    {"explicit deny (**-secret)", mv::Action::kRead, "shared/models/x-secret",
     false},
    {"no rule matches", mv::Action::kRead, "other/thing", false},
    {"admin action (conditions)", mv::Action::kAdminAudit, "", true},
    {"action nobody has", mv::Action::kAdminKeys, "", false},
};

mv::AccessRequest Request(const Case& c) {
  mv::AccessRequest r;
  r.action = c.action;
  r.artifact = c.artifact;
  r.peer_address = "10.20.30.40";
  r.now = absl::FromUnixSeconds(1'800'000'000);
  return r;
}

void BM_Evaluate(benchmark::State& state) {
  const Case& c = kCases[state.range(0)];
  std::vector<const mv::Policy*> attached = Attached();
  mv::AccessRequest request = Request(c);
  if (mv::Evaluate(attached, request).allowed != c.expect_allowed) {
    state.SkipWithError("unexpected decision");
    return;
  }
  for (auto _ : state) {
    mv::Decision d = mv::Evaluate(attached, request);
    benchmark::DoNotOptimize(d);
  }
  state.SetLabel(c.label);
}
BENCHMARK(BM_Evaluate)
    ->DenseRange(0, std::size(kCases) - 1)
    ->Unit(benchmark::kMicrosecond);

void BM_ParsePolicy(benchmark::State& state) {
  std::string json = TeamPolicyJson(7);
  for (auto _ : state) {
    benchmark::DoNotOptimize(mv::ParsePolicy("team-7", json));
  }
  state.SetLabel("one 20-rule document, parsed and indexed");
}
BENCHMARK(BM_ParsePolicy)->Unit(benchmark::kMicrosecond);

// The headline figure: the mean over all cases, each request evaluated in
// turn, measured outside the framework so it prints on one line.
void PrintSummary() {
  std::vector<const mv::Policy*> attached = Attached();
  std::vector<mv::AccessRequest> requests;
  for (const Case& c : kCases) requests.push_back(Request(c));
  using Clock = std::chrono::steady_clock;
  constexpr int kRounds = 2000;
  double worst_us = 0;
  auto start = Clock::now();
  for (int round = 0; round < kRounds; ++round) {
    for (const mv::AccessRequest& r : requests) {
      auto t0 = Clock::now();
      benchmark::DoNotOptimize(mv::Evaluate(attached, r));
      worst_us = std::max(
          worst_us,
          std::chrono::duration<double, std::micro>(Clock::now() - t0).count());
    }
  }
  double total_us =
      std::chrono::duration<double, std::micro>(Clock::now() - start).count();
  std::printf(
      "\nper-request authorization, %d policies x %d rules: mean %.2f us over "
      "%zu request "
      "kinds (target: well under 50 us); slowest single request %.1f us\n",
      kPolicies, kRulesPerPolicy, total_us / (kRounds * requests.size()),
      requests.size(), worst_us);
}

}  // namespace

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  PrintSummary();
  benchmark::Shutdown();
  return 0;
}
