// How much of a file this process has mapped in its page tables (the "Rss"
// of its mappings in /proc/self/smaps): what a file mapping adds to RSS.
#ifndef MODELVAULT_TESTS_TESTING_MAPPED_BYTES_H_
#define MODELVAULT_TESTS_TESTING_MAPPED_BYTES_H_

#include <cctype>
#include <cstddef>
#include <fstream>
#include <string>

namespace mvtesting {

// Bytes resident in this process's mappings of files whose path ends with
// `suffix` (e.g. "/data.mdb").
inline size_t MappedBytes(const std::string& suffix) {
  std::ifstream smaps("/proc/self/smaps");
  std::string line;
  bool in_file = false;
  size_t kib = 0;
  while (std::getline(smaps, line)) {
    if (!line.empty() && std::isxdigit(static_cast<unsigned char>(line[0])) &&
        line.find('-') < line.find(' ')) {
      in_file = line.size() >= suffix.size() &&
                line.compare(line.size() - suffix.size(), suffix.size(),
                             suffix) == 0;
    } else if (in_file && line.rfind("Rss:", 0) == 0) {
      kib += std::stoul(line.substr(4));
    }
  }
  return kib * 1024;
}

}  // namespace mvtesting

#endif  // MODELVAULT_TESTS_TESTING_MAPPED_BYTES_H_
