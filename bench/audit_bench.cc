// Audited unary request rate of a real modelvaultd on 127.0.0.1 (issue
// [audit]): 16 clients, each on its own connection, call
// ArtifactService.GetVersion in a loop; the server commits each call's audit
// record durably (group commit) before it answers. Printed next to the
// machine's own limit measured in the same run: durable LMDB commits per
// second from one writer (one small record each), so
// records per durable commit = requests/s ÷ raw commits/s shows the group
// commit at work.
//
//   audit_bench [--seconds N] [--clients N] [--modelvaultd PATH]
//
// Target (2 cores shared by clients and server): ≥ 2,000 requests/s.
#include <grpcpp/grpcpp.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "bench/bench_server.h"
#include "client/lib/client.h"
#include "modelvault/v1/artifact.grpc.pb.h"
#include "storage/lmdb_env.h"

namespace {

using Clock = std::chrono::steady_clock;

double Seconds(Clock::time_point since) {
  return std::chrono::duration<double>(Clock::now() - since).count();
}

// Durable LMDB write transactions per second, one small put each: what an
// audit log without group commit could do at best.
double RawDurableCommitsPerSecond(const std::string& dir, double seconds) {
  std::filesystem::create_directories(dir);
  auto env = mv::LmdbEnv::Open({dir, size_t{64} << 20}, {"scratch"});
  if (!env.ok()) std::exit(1);
  const MDB_dbi db = (*env)->Db("scratch");
  const std::string value(300, 'r');  // about one audit record
  uint64_t n = 0;
  auto start = Clock::now();
  while (Seconds(start) < seconds) {
    absl::Status s = (*env)->Write([&](mv::WriteTxn& txn) {
      return txn.Put(db, "k" + std::to_string(n), value);
    });
    if (!s.ok()) std::exit(1);
    ++n;
  }
  return static_cast<double>(n) / Seconds(start);
}

struct ClientResult {
  std::atomic<uint64_t> ok{0}, failed{0};  // read by main while running
  std::vector<double> latencies_ms;
};

// One client on a connection of its own: GetVersion until `stop`.
void RunClient(const mvbench::BenchServer& server, int index,
               const std::atomic<bool>& stop, ClientResult* out) {
  grpc::ChannelArguments args;
  args.SetInt("modelvault.bench.client", index);  // no shared subchannel
  auto channel = grpc::CreateCustomChannel(
      server.address, grpc::InsecureChannelCredentials(), args);
  auto stub = modelvault::v1::ArtifactService::NewStub(channel);
  modelvault::v1::GetVersionRequest request;
  request.set_ref("bench/model@latest");
  while (!stop) {
    grpc::ClientContext context;
    context.AddMetadata("authorization", "Bearer " + server.token);
    modelvault::v1::Version version;
    auto t0 = Clock::now();
    grpc::Status status = stub->GetVersion(&context, request, &version);
    out->latencies_ms.push_back(Seconds(t0) * 1e3);
    status.ok() ? ++out->ok : ++out->failed;
  }
}

double Percentile(std::vector<double>& v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  return v[static_cast<size_t>(p * static_cast<double>(v.size() - 1))];
}

}  // namespace

int main(int argc, char** argv) {
  double seconds = 10;
  int clients = 16;
  std::string binary = mvbench::FindServerBinary(argv[0]);
  for (int i = 1; i + 1 < argc; i += 2) {
    if (std::strcmp(argv[i], "--seconds") == 0)
      seconds = std::stod(argv[i + 1]);
    if (std::strcmp(argv[i], "--clients") == 0)
      clients = std::stoi(argv[i + 1]);
    if (std::strcmp(argv[i], "--modelvaultd") == 0) binary = argv[i + 1];
  }
  const std::string dir = std::filesystem::temp_directory_path() /
                          ("mvaudit-" + std::to_string(getpid()));
  std::filesystem::create_directories(dir);
  const double raw_commits = RawDurableCommitsPerSecond(dir + "/scratch", 3);

  mvbench::BenchServer server = mvbench::StartServer(binary, dir);
  {
    const std::string model = dir + "/model.bin";
    std::ofstream(model) << "weights";
    auto client = mvclient::Client::Connect({server.address, server.token});
    if (!client.ok() || !(*client)->Push(model, "bench/model", {}).ok()) {
      mvbench::StopServer(server);
      return 1;
    }
  }
  std::atomic<bool> stop{false};
  std::vector<ClientResult> results(clients);
  std::vector<std::thread> threads;
  for (int i = 0; i < clients; ++i) {
    threads.emplace_back(RunClient, std::cref(server), i, std::cref(stop),
                         &results[i]);
  }
  std::this_thread::sleep_for(std::chrono::duration<double>(1.0));  // warm up
  uint64_t before = 0;
  for (const ClientResult& r : results) before += r.ok;
  auto start = Clock::now();
  std::this_thread::sleep_for(std::chrono::duration<double>(seconds));
  const double elapsed = Seconds(start);
  stop = true;
  for (std::thread& t : threads) t.join();
  long server_rss = mvbench::PeakRssMiB(server.pid);
  mvbench::StopServer(server);
  std::filesystem::remove_all(dir);

  uint64_t ok = 0, failed = 0;
  std::vector<double> latencies;
  for (ClientResult& r : results) {
    ok += r.ok;
    failed += r.failed;
    latencies.insert(latencies.end(), r.latencies_ms.begin(),
                     r.latencies_ms.end());
  }
  // Requests finished after the warm-up and before the stop.
  const double rate = static_cast<double>(ok - before) / elapsed;
  std::printf(
      "clients                         %d (one connection each), GetVersion, "
      "%.0f s\n",
      clients, seconds);
  std::printf(
      "raw durable commits (1 writer)  %.0f /s  LMDB write txn + fsync of one "
      "~300 B record\n",
      raw_commits);
  std::printf(
      "audited unary requests          %.0f /s  each record durable before its "
      "response "
      "(target >= 2000)\n",
      rate);
  std::printf(
      "records per durable commit      %.1f  (= requests/s / raw commits/s: "
      "group commit)\n",
      rate / raw_commits);
  std::printf("latency p50 / p99               %.2f ms / %.2f ms\n",
              Percentile(latencies, 0.5), Percentile(latencies, 0.99));
  std::printf("failed requests                 %llu\n",
              static_cast<unsigned long long>(failed));
  std::printf("peak RSS server                 %ld MiB\n", server_rss);
  return failed == 0 ? 0 : 1;
}
