// SPDX-License-Identifier: MIT
// SwiftPM needs one source file in a C target; libyaml's API is used from Swift as it is.
#include "cyaml.h"
