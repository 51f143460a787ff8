/* SPDX-License-Identifier: MIT */
/* The CNetmonBPF module: the shared event/config headers and the embedded BPF objects. */
#ifndef CNETMONBPF_H
#define CNETMONBPF_H

#include <stddef.h>

#include "netmon/bytes.h"
#include "netmon/conn.h"
#include "netmon/inerrs.h"
#include "netmon/nic.h"
#include "netmon/ringbuf.h"

/* One compiled, DWARF-stripped BPF object, embedded by Scripts/embed-bpf. */
struct netmon_bpf_object {
    const char *name;            /* the source's base name: "nic" for BPFPrograms/nic.bpf.c */
    const unsigned char *bytes;  /* the ELF object */
    size_t size;
};

/* The embedded object called `name`, or NULL. */
const struct netmon_bpf_object *netmon_bpf_object_named(const char *name);

/* All embedded objects, for tests that check every object opens. */
const struct netmon_bpf_object *netmon_bpf_object_at(unsigned int index);
unsigned int netmon_bpf_object_total(void);

/* The digest of the inputs the objects were built from (`Scripts/embed-bpf --digest` prints the
 * current one): tests compare the two so that a stale embedding cannot pass unnoticed. */
const char *netmon_bpf_digest(void);

/* The git commit netmon was built from ("3a6b408c1d2e", "-dirty" when the tree had changes). */
const char *netmon_build_commit(void);

#endif
