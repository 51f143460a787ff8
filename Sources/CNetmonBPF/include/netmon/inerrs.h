/* SPDX-License-Identifier: (GPL-2.0-only OR MIT) */
/*
 * Shared between BPFPrograms/inerrs.bpf.c and the InerrsCommand module: the configuration, the
 * socket-owner records and the event of one rejected incoming TCP segment.
 * Fixed-width fields only, explicit padding.
 */
#ifndef NETMON_INERRS_H
#define NETMON_INERRS_H

#include "netmon/types.h"

/* Drop reasons (enum skb_drop_reason) below this number can be selected; the kernel's TCP reasons
 * are all far below it (6.18 has 128 reasons in all; subsystem reasons start at 0x10000). */
#define INERRS_REASON_LIMIT 256

/* How many processes holding one socket are remembered (for -p); more are not. */
#define INERRS_HOLDERS 4

/* Read-only configuration, set by userspace before load (.rodata: `inerrs_config`). */
struct inerrs_config {
    /* Bit N set: report drops with reason N. Computed at start-up from the running kernel's
     * enum skb_drop_reason names, since the numbers differ between kernels. */
    __u64 reasons[INERRS_REASON_LIMIT / 64];
    __u32 owner_pid;   /* report only segments for sockets this process holds; 0 = any */
    __u8 ip_version;   /* 4 or 6: only that IP version; 0 = both */
    /* 1: listeners' and start-up sockets' owners also go to socket-local storage
     * (`inerrs_owners`; tracing programs may use it from Linux 5.11); 0: not used. */
    __u8 sk_storage;
    /* 1: the drop program may look the socket up in socket-local storage (a BTF-typed program
     * on a kernel with sk_storage); 0 for drop programs that cannot call the helper. */
    __u8 drop_reads_storage;
    __u8 reserved;
};

/* The processes that hold a socket: seen in process context when one called connect(),
 * listen() or accept(), or found at start-up with a file descriptor on it. */
struct inerrs_owner {
    __u32 pid;         /* the holder reported (tgid); 0 = none known yet */
    __u8 comm[16];     /* its name */
    __u32 holders[INERRS_HOLDERS]; /* every holder seen, pid first; 0 = free slot */
};

/* A TCP socket's addresses as a received segment carries them, so that a segment dropped before
 * the kernel looked up its socket (checksum, header length) can be matched to one. Addresses are
 * 16 bytes, IPv4 ones IPv4-mapped (::ffff:a.b.c.d), so that an AF_INET6 socket talking IPv4
 * matches IPv4 segments. A listener has remote = :: and remote_port = 0, and local = :: when it
 * listens on every address. */
struct inerrs_tuple {
    __u8 local[16];
    __u8 remote[16];
    __u16 local_port;  /* host byte order */
    __u16 remote_port; /* host byte order */
    __u32 netns;       /* the network namespace's inode number: namespaces reuse addresses */
};

/* The index of established and listening sockets by their addresses (`inerrs_sockets`, an array
 * of buckets): a bucket is chosen by a hash of the tuple and holds up to INERRS_INDEX_WAYS
 * sockets. Fixed size (INERRS_INDEX_BUCKETS * INERRS_INDEX_WAYS sockets), no allocation. */
#define INERRS_INDEX_BUCKETS 1024
#define INERRS_INDEX_WAYS 8

struct inerrs_index_slot {
    __u64 socket;      /* kernel address, compared only; 0 = free slot */
    struct inerrs_tuple key;
    struct inerrs_owner owner; /* pid 0: an accepted socket not yet returned by accept() */
    __u32 reserved;
};

struct inerrs_index_bucket {
    struct inerrs_index_slot slots[INERRS_INDEX_WAYS];
};

/* Sockets between connect() and ESTABLISHED (`inerrs_connecting`, an array indexed by a hash of
 * the socket's address): the owner waits here until the local port is chosen. */
#define INERRS_CONNECTING_SLOTS 1024

struct inerrs_connecting_slot {
    __u64 socket;      /* 0 = free */
    struct inerrs_owner owner;
    __u32 reserved;
};

/* One rejected incoming TCP segment (ring buffer `inerrs_events`). */
struct inerrs_event {
    __u64 time_ns;     /* bpf_ktime_get_ns() at the drop */
    __u32 pid;         /* the socket's holder (owner_known = 1), else the dropping context's tgid */
    __u32 reason;      /* enum skb_drop_reason */
    __u8 comm[16];
    __u8 saddr[16];    /* the segment's sender; IPv4: first 4 bytes */
    __u8 daddr[16];    /* the segment's destination (this host) */
    __u16 sport;       /* host byte order */
    __u16 dport;
    __u8 ip_version;   /* 4 or 6 */
    __u8 state;        /* TCP state of the socket (TCP_ESTABLISHED = 1 …); 0 = no socket found */
    __u8 owner_known;
    __u8 reserved;
};

#endif
