// SPDX-License-Identifier: MIT
// The embedded BPF objects. The arrays come from generated/objects.inc, which Scripts/embed-bpf
// rewrites whenever a BPF source or shared header changes; Scripts/build and Scripts/test run it
// before SwiftPM.
#include <string.h>

#include "cnetmonbpf.h"

#if __has_include("generated/objects.inc")
#include "generated/objects.inc"
#else
#error "The BPF objects are not compiled yet: build with Scripts/build (or run Scripts/embed-bpf first)."
#endif

const struct netmon_bpf_object *netmon_bpf_object_named(const char *name) {
    for (unsigned int i = 0; i < netmon_bpf_object_count; i++) {
        if (strcmp(netmon_bpf_objects[i].name, name) == 0) {
            return &netmon_bpf_objects[i];
        }
    }
    return NULL;
}

const struct netmon_bpf_object *netmon_bpf_object_at(unsigned int index) {
    return index < netmon_bpf_object_count ? &netmon_bpf_objects[index] : NULL;
}

unsigned int netmon_bpf_object_total(void) { return netmon_bpf_object_count; }

const char *netmon_bpf_digest(void) { return netmon_bpf_inputs_digest; }
