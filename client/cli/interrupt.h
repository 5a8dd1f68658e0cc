// Ctrl-C and SIGTERM handling for mvault.
//
// InstallInterruptHandler() must run first in main(), before gRPC starts any
// thread: it blocks SIGINT and SIGTERM in the calling thread, so every later
// thread inherits the mask, and starts one thread that waits for them with
// sigwait(). That thread may then do what a signal handler cannot: call
// Client::Cancel(), which fails the call in flight so a pull removes its
// .partial file and exits through the normal error path (exit 130).
// A second signal, or 3 s without the process exiting, forces _exit(130);
// with no client registered the first signal does so at once.
//
// Thread-safe.
#ifndef MODELVAULT_CLIENT_CLI_INTERRUPT_H_
#define MODELVAULT_CLIENT_CLI_INTERRUPT_H_

#include <memory>

#include "client/lib/client.h"

namespace mvcli {

void InstallInterruptHandler();

// Runs `cleanup` (if not null) on the signal thread just before the process
// exits because of a signal, e.g. to turn terminal echo back on. One at a
// time; pass nullptr to clear.
using InterruptCleanup = void (*)();
void SetInterruptCleanup(InterruptCleanup cleanup);

// The client to cancel on a signal. Held weakly: a destroyed client is
// simply not cancelled.
void SetInterruptTarget(const std::shared_ptr<mvclient::Client>& client);

}  // namespace mvcli

#endif  // MODELVAULT_CLIENT_CLI_INTERRUPT_H_
