// The mvault command line: builds the CLI11 app from the subcommands and runs
// it. Parse errors print one "mvault: error: ..." line and give exit code 2.
// Not thread-safe; call from main's thread.
#ifndef MODELVAULT_CLIENT_CLI_APP_H_
#define MODELVAULT_CLIENT_CLI_APP_H_

namespace mvcli {

// Parses argv, runs the selected command, returns the process exit code.
int RunMvault(int argc, char** argv);

}  // namespace mvcli

#endif  // MODELVAULT_CLIENT_CLI_APP_H_
