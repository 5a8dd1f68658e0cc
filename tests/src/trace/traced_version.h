// A model version with its position table and 24 logged downloads, for
// the detection tests (detect_test.cc, detect_null_test.cc). Trace() prints
// each case's mode, top scores and decoy statistics. Header-only; not
// thread-safe.
#ifndef MODELVAULT_TESTS_SRC_TRACE_TRACED_VERSION_H_
#define MODELVAULT_TESTS_SRC_TRACE_TRACED_VERSION_H_

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <array>
#include <iostream>
#include <set>
#include <string>
#include <vector>

#include "src/trace/trace_test_models.h"
#include "testing/status_matchers.h"
#include "trace/detect.h"
#include "trace/embed.h"
#include "trace/leak_reader.h"
#include "trace/votes.h"

namespace mv::trace_testing {

inline TraceKeys Keys(uint64_t serial) {
  std::array<uint8_t, 32> k;
  k.fill(0x5a);
  return *TraceKeys::Derive(*SecretKey::FromBytes(k), serial);
}

// One model version with its logged downloads.
class Version {
 public:
  Version(const char* dtype, uint64_t serial)
      : Version(mvtesting::Build(mvtesting::SyntheticModel(dtype, 31)),
                serial) {}
  Version(std::string file, uint64_t serial)
      : keys_(Keys(serial)),
        file_(std::move(file)),
        table_(*mvtesting::PlanInPieces(keys_, file_, 1 << 20)) {
    for (uint64_t i = 0; i < 24; ++i)
      ids_.push_back(0x9E3779B97F4A7C15u * (i + 1));
  }

  const std::string& file() const { return file_; }
  const TraceKeys& keys() const { return keys_; }
  const MarkTable& table() const { return table_; }
  const std::vector<uint64_t>& ids() const { return ids_; }
  uint64_t id(size_t i) const { return ids_[i]; }
  // What download `i` received.
  std::string Download(size_t i) const {
    return mvtesting::MarkInPieces(
        table_, MakeDownloadCode(keys_, table_, ids_[i]), file_, 1 << 20);
  }

  TraceResult Trace(const std::string& leak, const std::string& label,
                    const DetectOptions& options = {}) const {
    absl::StatusOr<LeakValues> values = ReadLeakFile(table_, leak);
    EXPECT_THAT(values, mvtesting::IsOk());
    if (!values.ok()) return {};
    const TraceResult r = ScoreDownloads(
        keys_, table_, ComputeVotes(table_, *values), ids_, options);
    std::cout << "[trace] " << label << ": mode " << TraceModeName(r.mode)
              << ", " << values->tensors_mapped << " tensors, votes "
              << r.votes_nonzero << "/" << r.votes_present;
    for (size_t k = 0; k < 3 && k < r.candidates.size(); ++k) {
      const CandidateScore& c = r.candidates[k];
      std::cout << "; #" << Index(c.download_id) << " Z=" << c.z
                << " log10P=" << c.log10_p_family << " "
                << VerdictName(c.verdict);
    }
    std::cout << "; decoys " << r.decoys.count << " max Z " << r.decoys.max_z
              << " mean " << r.decoys.mean_z << " sd " << r.decoys.stddev_z
              << (r.abstained ? " ABSTAINED" : "") << "\n";
    return r;
  }

  size_t Index(uint64_t id) const {
    for (size_t i = 0; i < ids_.size(); ++i) {
      if (ids_[i] == id) return i;
    }
    return ids_.size();
  }

 private:
  TraceKeys keys_;
  std::string file_;
  MarkTable table_;
  std::vector<uint64_t> ids_;
};

inline const Version& F32Version() {
  static const Version* v = new Version("F32", 1);
  return *v;
}

// The top candidate is one of `guilty` and attributed; no one else is.
inline void ExpectAttributed(const Version& v, const TraceResult& r,
                             std::set<size_t> guilty) {
  ASSERT_FALSE(r.abstained);
  ASSERT_FALSE(r.candidates.empty());
  EXPECT_TRUE(guilty.contains(v.Index(r.candidates[0].download_id)));
  EXPECT_EQ(r.candidates[0].verdict, Verdict::kAttributed);
  EXPECT_LE(r.candidates[0].log10_p_family, -9);
  for (const CandidateScore& c : r.candidates) {
    if (!guilty.contains(v.Index(c.download_id))) {
      EXPECT_EQ(c.verdict, Verdict::kNone)
          << "innocent #" << v.Index(c.download_id);
    }
  }
  EXPECT_LE(r.decoys.max_z, 5.5);
  EXPECT_EQ(r.decoys.count, 10'000u);
}

// No one is accused, as a finding of the scoring rather than for want of
// it: every download of `v` and the decoys were scored, and none cleared a
// threshold. (An empty candidate list fails here.)
inline void ExpectNoVerdict(const Version& v, const TraceResult& r) {
  EXPECT_EQ(r.candidates.size(), v.ids().size())
      << "not every download was scored";
  EXPECT_GT(r.decoys.count, 0u) << "no decoy was scored";
  for (const CandidateScore& c : r.candidates)
    EXPECT_EQ(c.verdict, Verdict::kNone);
}

}  // namespace mv::trace_testing

#endif  // MODELVAULT_TESTS_SRC_TRACE_TRACED_VERSION_H_
