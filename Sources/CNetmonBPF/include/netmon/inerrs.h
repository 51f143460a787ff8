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
    /* 1 (netmon serve): count each rejected segment in inerrs_counts and send no event (nor look
     * for its socket's owner); 0: send events. */
    __u8 count_only;
};

/* netmon serve's counts (inerrs_config.count_only = 1): rejected segments counted in the kernel,
 * exact whatever the rate, in `inerrs_counts`, a per-CPU array of INERRS_COUNT_SLOTS counters,
 * one per reason and version at inerrs_count_slot(). */
#define INERRS_COUNT_SLOTS (INERRS_REASON_LIMIT * 2)

static inline __u32 inerrs_count_slot(__u32 reason, __u8 ip_version)
{
    return reason * 2 + (ip_version == 6 ? 1 : 0);
}

/* The processes that hold a socket: seen in process context when one called connect(),
 * listen() or accept(), or found with a file descriptor on it by a scan of every process's open
 * files (at start-up, then every few seconds). */
struct inerrs_owner {
    __u32 pid;         /* the holder reported (tgid); 0 = none known yet */
    __u8 comm[16];     /* its name */
    __u32 holders[INERRS_HOLDERS]; /* every holder seen, pid first; 0 = free slot */
    /* The scan (its iterator session id, low 32 bits) that found these holders; 0 = learned at
     * connect/listen/accept. A scan's first find of a socket replaces older holders. */
    __u32 scan;
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

/* Kernels without enum skb_drop_reason (before 5.17): BPFPrograms/inerrs_legacy.bpf.h finds out
 * itself why TCP rejected a segment and reports it with these numbers, which userspace names like
 * the newer kernels' reasons (InerrsCommand's LegacyDropReasons) so that the output means the same
 * on every kernel. Numbers are netmon's own, below INERRS_REASON_LIMIT. */
enum inerrs_legacy_reason {
    INERRS_LEGACY_NOT_SPECIFIED = 0,
    INERRS_LEGACY_TCP_CSUM = 1,
    INERRS_LEGACY_PKT_TOO_SMALL = 2,
    INERRS_LEGACY_TCP_RFC7323_PAWS = 3,
    INERRS_LEGACY_TCP_OLD_SEQUENCE = 4,
    INERRS_LEGACY_TCP_INVALID_SEQUENCE = 5,
    INERRS_LEGACY_TCP_RESET = 6,
    INERRS_LEGACY_TCP_INVALID_SYN = 7,
    INERRS_LEGACY_TCP_TOO_OLD_ACK = 8,
    INERRS_LEGACY_TCP_ACK_UNSENT_DATA = 9,
    INERRS_LEGACY_NO_SOCKET = 10,
    INERRS_LEGACY_TCP_MD5NOTFOUND = 11,
    INERRS_LEGACY_TCP_MD5UNEXPECTED = 12,
    INERRS_LEGACY_TCP_MD5FAILURE = 13,
};

/* Where in the kernel skb:kfree_skb's `location` (the address the segment was freed from) lies. */
enum inerrs_legacy_place {
    INERRS_LEGACY_ELSEWHERE = 0,
    INERRS_LEGACY_RECEIVE = 1, /* tcp_v4_rcv, tcp_v6_rcv: before or without the socket lookup */
    INERRS_LEGACY_DO_RCV = 2,  /* tcp_v4_do_rcv, tcp_v6_do_rcv: a socket not in ESTABLISHED */
};

#define INERRS_LEGACY_RANGES 8

/* One kernel function's code, [start, end), from /proc/kallsyms. */
struct inerrs_code_range {
    __u64 start;
    __u64 end;
    __u32 place;       /* enum inerrs_legacy_place */
    __u32 reserved;
};

/* Read-only configuration of the legacy programs (.rodata: `inerrs_legacy_config`). Unused
 * entries are zero. */
struct inerrs_legacy_config {
    struct inerrs_code_range ranges[INERRS_LEGACY_RANGES];
};

#endif
