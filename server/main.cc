// modelvaultd: the modelvault server. `init` creates a vault, `serve` runs it.
#include <malloc.h>

#include "server/commands.h"

int main(int argc, char** argv) {
  // Streams allocate and free ~1 MiB buffers per chunk (gRPC messages, LMDB
  // overflow pages). Above glibc's default mmap threshold each would be a
  // fresh mmap + page faults + munmap; keep them in the heap and reuse them.
  // Few arenas: buffers are allocated on one thread and freed on another,
  // and every arena would otherwise keep its own idle megabytes.
  mallopt(M_MMAP_THRESHOLD, 64 << 20);
  mallopt(M_TRIM_THRESHOLD, 32 << 20);
  mallopt(M_ARENA_MAX, 2);
  CLI::App app{"modelvaultd — encrypted, audited vault for model weights"};
  app.require_subcommand(1);
  int exit_code = 0;
  mvserver::SetupInitCommand(app, &exit_code);
  mvserver::SetupServeCommand(app, &exit_code);
  mvserver::SetupVerifyCommand(app, &exit_code);
  mvserver::SetupRootTokenCommand(app, &exit_code);
  mvserver::SetupMigrateCommand(app, &exit_code);
  mvserver::SetupRegenerateKeyCommand(app, &exit_code);
  mvserver::SetupRekeyCommand(app, &exit_code);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : 2;
  }
  return exit_code;
}
