// SPDX-License-Identifier: MIT
// Nothing to compile: the module only exposes headers. SwiftPM needs a source file per C target.
#include "clinux.h"
