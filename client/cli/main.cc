// mvault: command-line client of modelvault. See client/cli/app.h.
#include <grpc/support/log.h>

#include <cstdlib>

#include "client/cli/app.h"
#include "client/cli/interrupt.h"
#include "client/lib/client.h"

int main(int argc, char** argv) {
  // Before anything starts a thread, so every thread inherits the mask.
  mvcli::InstallInterruptHandler();
  mvclient::TuneAllocatorForTransfers();
  // gRPC's own lines ("Handshake failed ...") would break mvault's one-line
  // errors, which already say what failed; GRPC_VERBOSITY brings them back.
  if (std::getenv("GRPC_VERBOSITY") == nullptr) {
    gpr_set_log_function([](gpr_log_func_args*) {});
  }
  return mvcli::RunMvault(argc, argv);
}
