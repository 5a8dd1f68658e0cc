#include "client/cli/progress_bar.h"

#include <gtest/gtest.h>

namespace mvcli {
namespace {

TEST(ProgressLineTest, KnownTotalShowsPercentRateAndEta) {
  std::string line = RenderProgressLine("pull", uint64_t{1} << 30,
                                        uint64_t{2} << 30, absl::Seconds(4));
  EXPECT_NE(line.find("pull 50%"), std::string::npos) << line;
  EXPECT_NE(line.find("1.0 GiB/2.0 GiB"), std::string::npos) << line;
  EXPECT_NE(line.find("256.0 MiB/s"), std::string::npos) << line;
  EXPECT_NE(line.find("ETA 4s"), std::string::npos) << line;
}

TEST(ProgressLineTest, UnknownTotalShowsBytesAndRate) {
  std::string line = RenderProgressLine("push", 2048, 0, absl::Seconds(2));
  EXPECT_EQ(line, "push 2.0 KiB 1.0 KiB/s");
}

TEST(ProgressLineTest, NoTimeYetHasNoEta) {
  std::string line = RenderProgressLine("pull", 0, 100, absl::ZeroDuration());
  EXPECT_NE(line.find("ETA --"), std::string::npos) << line;
}

TEST(ProgressBarTest, DisabledBarHasNoCallback) {
  ProgressBar bar("pull", /*enabled=*/false);
  EXPECT_FALSE(static_cast<bool>(bar.Callback()));
}

}  // namespace
}  // namespace mvcli
