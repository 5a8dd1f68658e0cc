#include "bench/bench_server.h"

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace mvbench {

std::string FindServerBinary(const char* argv0) {
  auto here = std::filesystem::path(argv0).parent_path();
  return (here / ".." / "server" / "modelvaultd").lexically_normal().string();
}

BenchServer StartServer(const std::string& binary, const std::string& dir) {
  std::string data = dir + "/data", key = dir + "/master.key",
              token = dir + "/root.token";
  std::string init = binary + " init --data-dir " + data +
                     " --master-key-file " + key + " --root-token-file " +
                     token + " 2>/dev/null";
  if (std::system(init.c_str()) != 0) std::exit(1);
  int out[2];
  if (pipe(out) != 0) std::exit(1);
  BenchServer s;
  s.pid = fork();
  if (s.pid == 0) {
    dup2(out[1], 1);
    close(out[0]);
    execl(binary.c_str(), binary.c_str(), "serve", "--data-dir", data.c_str(),
          "--master-key-file", key.c_str(), "--listen", "127.0.0.1:0", nullptr);
    _exit(127);
  }
  close(out[1]);
  char line[256] = {};
  FILE* f = fdopen(out[0], "r");
  if (!fgets(line, sizeof line, f) ||
      std::strncmp(line, "listening on ", 13) != 0)
    std::exit(1);
  s.address = std::string(line + 13);
  s.address.erase(s.address.find_last_not_of("\n") + 1);
  std::ifstream(token) >> s.token;
  return s;
}

void StopServer(const BenchServer& server) {
  kill(server.pid, SIGTERM);
  waitpid(server.pid, nullptr, 0);
}

long PeakRssMiB(pid_t pid) {
  std::ifstream status("/proc/" + std::to_string(pid) + "/status");
  for (std::string line; std::getline(status, line);) {
    if (line.rfind("VmHWM:", 0) == 0) return std::stol(line.substr(6)) / 1024;
  }
  return -1;
}

double CpuSeconds(pid_t pid) {
  std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
  std::string text((std::istreambuf_iterator<char>(stat)), {});
  // Fields after the command name, which is in parentheses and may hold
  // spaces: state is field 3, utime and stime are fields 14 and 15.
  std::istringstream rest(text.substr(text.rfind(')') + 2));
  std::string field;
  double utime = 0, stime = 0;
  for (int i = 3; i <= 15 && rest >> field; ++i) {
    if (i == 14) utime = std::stod(field);
    if (i == 15) stime = std::stod(field);
  }
  return (utime + stime) / sysconf(_SC_CLK_TCK);
}

}  // namespace mvbench
