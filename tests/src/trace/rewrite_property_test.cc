// Structural rewrites of a leak (issue [trace-structure]), each over 20
// rapidcheck cases with a fixed seed: a version with fresh keys (another
// serial: other mark positions and codes), a random leaker among 12
// fingerprinted downloads, and the rewrite. The leaker is attributed and no
// one else is accused; colluders are the only ones named; 200 unrelated
// models put through the same rewrites map to nothing and accuse no one.
#include <gtest/gtest.h>
#include <rapidcheck.h>

#include <set>
#include <string>
#include <vector>

#include "src/trace/traced_version.h"
#include "testing/property.h"

namespace mv {
namespace {

using ::mv::trace_testing::Version;
using ::mvtesting::kLlamaHeadDim;

constexpr int kCases = 20;
constexpr size_t kDownloads = 12;  // the candidates scored
// Fewer decoys than a real trace (10,000) keep 20 cases affordable; the
// decoy check (max Z) is only looser with fewer.
const DetectOptions kOptions{.decoys = 1000};

const std::string& LlamaFile() {
  static const std::string* f =
      new std::string(mvtesting::Build(mvtesting::LlamaModel("F32", 61)));
  return *f;
}

// The first kDownloads downloads of `v`, scored on `leak`.
TraceResult Score(const Version& v, const std::string& leak) {
  absl::StatusOr<LeakValues> values = ReadLeakFile(v.table(), leak);
  RC_ASSERT(values.ok());
  const std::vector<uint64_t> ids(v.ids().begin(),
                                  v.ids().begin() + kDownloads);
  return ScoreDownloads(v.keys(), v.table(), ComputeVotes(v.table(), *values),
                        ids, kOptions);
}

// The top candidate is one of `guilty` and at least `verdict`; no one else
// is named.
void AssertOnlyGuiltyNamed(const Version& v, const TraceResult& r,
                           const std::set<size_t>& guilty, Verdict verdict) {
  RC_LOG() << "top #" << v.Index(r.candidates.at(0).download_id) << " Z "
           << r.candidates[0].z << " log10P " << r.candidates[0].log10_p_family
           << " " << VerdictName(r.candidates[0].verdict) << "; decoys max Z "
           << r.decoys.max_z << "\n";
  RC_ASSERT(!r.abstained);
  RC_ASSERT(r.candidates.size() == kDownloads);
  RC_ASSERT(guilty.contains(v.Index(r.candidates[0].download_id)));
  RC_ASSERT(r.candidates[0].verdict >= verdict);
  for (const CandidateScore& c : r.candidates) {
    if (!guilty.contains(v.Index(c.download_id)))
      RC_ASSERT(c.verdict == Verdict::kNone);
  }
}

// A version of `file` under fresh keys, and which download leaks.
struct Case {
  std::unique_ptr<Version> version;
  size_t leaker;
};
Case NewCase(const std::string& file) {
  const auto serial = *rc::gen::inRange<uint64_t>(1, 1u << 30);
  const auto leaker = *rc::gen::inRange<size_t>(0, kDownloads);
  return {std::make_unique<Version>(file, serial), leaker};
}

TEST(RewriteProperty, QuantizedToQ8_0ByLlamaCpp) {
  mvtesting::CheckProperty(kCases, [] {
    const Case c = NewCase(LlamaFile());
    const std::string leak = mvtesting::ToLlamaCppGguf(
        c.version->Download(c.leaker), kLlamaHeadDim, "Q8_0");
    AssertOnlyGuiltyNamed(*c.version, Score(*c.version, leak), {c.leaker},
                          Verdict::kAttributed);
  });
}

TEST(RewriteProperty, QuantizedToQ4_KByLlamaCpp) {
  mvtesting::CheckProperty(kCases, [] {
    const Case c = NewCase(LlamaFile());
    const std::string leak = mvtesting::ToLlamaCppGguf(
        c.version->Download(c.leaker), kLlamaHeadDim, "Q4_K");
    AssertOnlyGuiltyNamed(*c.version, Score(*c.version, leak), {c.leaker},
                          Verdict::kAttributed);
  });
}

TEST(RewriteProperty, CastTransposedRenamedAndPartial) {
  mvtesting::CheckProperty(kCases, [] {
    const Case c = NewCase(LlamaFile());
    const auto dtype = *rc::gen::element<std::string>("BF16", "F16");
    // Keep one layer of the three.
    const auto layer = *rc::gen::inRange(0, 3);
    const std::string kept = "transformer.h." + std::to_string(layer) + ".";
    const std::string leak =
        mvtesting::KeepTensors(mvtesting::ToGpt2Conv1d(mvtesting::Cast(
                                   c.version->Download(c.leaker), dtype)),
                               [&](const mvtesting::ModelTensor& t) {
                                 return t.name.starts_with(kept);
                               });
    AssertOnlyGuiltyNamed(*c.version, Score(*c.version, leak), {c.leaker},
                          Verdict::kAttributed);
  });
}

TEST(RewriteProperty, AGgufVersionLeakedAsHuggingFaceSafetensors) {
  static const std::string* gguf = new std::string(
      mvtesting::ToLlamaCppGguf(LlamaFile(), kLlamaHeadDim, "F32"));
  mvtesting::CheckProperty(kCases, [] {
    const Case c = NewCase(*gguf);
    const std::string leak = mvtesting::FromLlamaCppGguf(
        c.version->Download(c.leaker), kLlamaHeadDim);
    AssertOnlyGuiltyNamed(*c.version, Score(*c.version, leak), {c.leaker},
                          Verdict::kAttributed);
  });
}

TEST(RewriteProperty, ThreeColludersAveragedThenQuantizedToQ4_K) {
  mvtesting::CheckProperty(kCases, [] {
    const Case c = NewCase(LlamaFile());
    // Two more, distinct: offsets from the leaker (no generator in a loop:
    // shrinking could repeat a value for ever).
    const auto a = *rc::gen::inRange<size_t>(1, kDownloads - 1);
    const auto b = *rc::gen::inRange<size_t>(a + 1, kDownloads);
    const std::set<size_t> colluders = {c.leaker, (c.leaker + a) % kDownloads,
                                        (c.leaker + b) % kDownloads};
    std::vector<std::string> copies;
    for (size_t k : colluders) copies.push_back(c.version->Download(k));
    const std::string leak = mvtesting::ToLlamaCppGguf(
        mvtesting::Average(copies), kLlamaHeadDim, "Q4_K");
    // Each colluder holds a third of the signal: suspect at least.
    AssertOnlyGuiltyNamed(*c.version, Score(*c.version, leak), colluders,
                          Verdict::kSuspect);
  });
}

// 50 cases of 4 rewrites: 200 unrelated models.
TEST(RewriteProperty, UnrelatedModelsThroughEveryRewriteAccuseNoOne) {
  const Version v(LlamaFile(), 5);
  size_t models = 0;
  mvtesting::CheckProperty(50, [&] {
    const auto seed = *rc::gen::inRange<uint64_t>(1000, 1u << 30);
    const std::string other =
        mvtesting::Build(mvtesting::LlamaModel("F32", seed));
    for (const std::string& leak :
         {mvtesting::ToLlamaCppGguf(other, kLlamaHeadDim, "Q4_K"),
          mvtesting::ToLlamaCppGguf(other, kLlamaHeadDim, "Q8_0"),
          mvtesting::ToGpt2Conv1d(other),
          mvtesting::FromLlamaCppGguf(
              mvtesting::ToLlamaCppGguf(other, kLlamaHeadDim, "F32"),
              kLlamaHeadDim)}) {
      const TraceResult r = Score(v, leak);
      RC_ASSERT(r.votes_present == 0u);  // nothing of it maps to v
      for (const CandidateScore& s : r.candidates)
        RC_ASSERT(s.verdict == Verdict::kNone);
      ++models;
    }
  });
  EXPECT_GE(models, 200u);
}

}  // namespace
}  // namespace mv
