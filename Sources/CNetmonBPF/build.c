// SPDX-License-Identifier: MIT
// What netmon was built from. generated/build.inc is written by Scripts/embed-bpf (the git commit).
#include "cnetmonbpf.h"

#if __has_include("generated/build.inc")
#include "generated/build.inc"
#else
#error "The build stamp is not written yet: build with Scripts/build (or run Scripts/embed-bpf first)."
#endif

const char *netmon_build_commit(void) { return netmon_commit; }
