#include "client/cli/interrupt.h"

#include <pthread.h>
#include <signal.h>
#include <unistd.h>

#include <thread>

#include "absl/synchronization/mutex.h"
#include "client/cli/exit_codes.h"

namespace mvcli {
namespace {

constexpr int kGraceSeconds = 3;

absl::Mutex target_mu(absl::kConstInit);
std::weak_ptr<mvclient::Client>* target ABSL_GUARDED_BY(target_mu) = nullptr;
InterruptCleanup cleanup_fn ABSL_GUARDED_BY(target_mu) = nullptr;

[[noreturn]] void ExitInterrupted() {
  InterruptCleanup cleanup;
  {
    absl::MutexLock lock(&target_mu);
    cleanup = cleanup_fn;
  }
  if (cleanup != nullptr) cleanup();
  _exit(kExitInterrupted);
}

sigset_t InterruptSignals() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  return set;
}

[[noreturn]] void WaitForSignals() {
  sigset_t set = InterruptSignals();
  int sig = 0;
  sigwait(&set, &sig);
  std::shared_ptr<mvclient::Client> client;
  {
    absl::MutexLock lock(&target_mu);
    if (target != nullptr) client = target->lock();
  }
  if (client == nullptr) ExitInterrupted();
  client->Cancel();
  client.reset();
  // Normally main() returns long before this; if cleanup hangs (e.g. a read
  // of a terminal on stdin), stop waiting for it.
  timespec grace = {kGraceSeconds, 0};
  sigtimedwait(&set, nullptr, &grace);
  ExitInterrupted();
}

}  // namespace

void InstallInterruptHandler() {
  sigset_t set = InterruptSignals();
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  std::thread(WaitForSignals).detach();
}

void SetInterruptCleanup(InterruptCleanup cleanup) {
  absl::MutexLock lock(&target_mu);
  cleanup_fn = cleanup;
}

void SetInterruptTarget(const std::shared_ptr<mvclient::Client>& client) {
  absl::MutexLock lock(&target_mu);
  if (target == nullptr) target = new std::weak_ptr<mvclient::Client>();
  *target = client;
}

}  // namespace mvcli
