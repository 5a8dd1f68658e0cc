// A real `modelvaultd serve` for the benchmarks: a fresh vault in a scratch
// directory, served on 127.0.0.1:0, stopped with SIGTERM (a graceful drain).
#ifndef MODELVAULT_BENCH_BENCH_SERVER_H_
#define MODELVAULT_BENCH_BENCH_SERVER_H_

#include <sys/types.h>

#include <string>

namespace mvbench {

struct BenchServer {
  pid_t pid = -1;
  std::string address, token;
};

// modelvaultd next to the benchmark binary (build/server/modelvaultd).
std::string FindServerBinary(const char* argv0);
// Initialises a vault in `dir` and serves it; exits the process on failure.
BenchServer StartServer(const std::string& binary, const std::string& dir);
// SIGTERM, then waits for the server to exit.
void StopServer(const BenchServer& server);
// Peak resident memory (VmHWM) of `pid` in MiB, -1 if unknown.
long PeakRssMiB(pid_t pid);

// CPU seconds (user + system) used so far by process `pid`.
double CpuSeconds(pid_t pid);

}  // namespace mvbench

#endif  // MODELVAULT_BENCH_BENCH_SERVER_H_
