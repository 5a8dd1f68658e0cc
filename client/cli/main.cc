// mvault: command-line client of modelvault. See client/cli/app.h.
#include "client/cli/app.h"
#include "client/cli/interrupt.h"

int main(int argc, char** argv) {
  // Before anything starts a thread, so every thread inherits the mask.
  mvcli::InstallInterruptHandler();
  return mvcli::RunMvault(argc, argv);
}
