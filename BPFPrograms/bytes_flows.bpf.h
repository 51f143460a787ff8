// SPDX-License-Identifier: GPL-2.0-only
//
// netmon bytes: the flow maps, where bytes are counted by (process, connection) when they cannot
// stay with their socket (bytes.bpf.c): a process other than the socket's owner moved them, the
// socket was destroyed with bytes not yet taken, or the kernel is one whose hooks (fexit, kprobe)
// do not use socket storage.
//
// Two flow maps, used in turn. The programs add to the one `bytes_generation` selects; each
// interval userspace flips the generation, waits until no program still works on the old map
// (`bytes_in_flight`), and then drains the old map at leisure: no update can race the read and
// delete, so none is lost. (Deleting entries from a map that programs still update would lose
// the additions made between a program's lookup and the delete; lookup-and-delete has the same
// window.) Plain hash maps, not LRU: an LRU map would evict counts silently. When a map is full,
// new flows are counted in `bytes_dropped` instead.
#ifndef NETMON_BYTES_FLOWS_BPF_H
#define NETMON_BYTES_FLOWS_BPF_H

#include "netmon/bytes.h"

#define IPPROTO_TCP 6
#define EEXIST 17

const volatile struct bytes_config bytes_config = {};

struct {
    __uint(type, BPF_MAP_TYPE_HASH);
    // Not preallocated: memory follows the flows actually seen (an entry is ~144 bytes; two
    // preallocated maps of 16384 would hold 4.7 MB whatever the traffic).
    __uint(map_flags, BPF_F_NO_PREALLOC);
    __uint(max_entries, BYTES_DEFAULT_MAX_FLOWS);
    __type(key, struct bytes_flow_key);
    __type(value, struct bytes_flow_counters);
} bytes_flows_0 SEC(".maps"), bytes_flows_1 SEC(".maps");

// Bit 0 selects the flow map the programs add to; written only by userspace.
struct {
    __uint(type, BPF_MAP_TYPE_ARRAY);
    __uint(max_entries, 1);
    __type(key, __u32);
    __type(value, __u32);
} bytes_generation SEC(".maps");

// Per generation: how many programs are between choosing that generation's map and finishing
// their update. Per-CPU (no cache line bouncing); the sum over the CPUs is what matters.
struct {
    __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
    __uint(max_entries, 2);
    __type(key, __u32);
    __type(value, __s64);
} bytes_in_flight SEC(".maps");

// Updates that found their flow map full.
struct {
    __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
    __uint(max_entries, 1);
    __type(key, __u32);
    __type(value, __u64);
} bytes_dropped SEC(".maps");

static __always_inline void count_dropped(void)
{
    __u32 zero = 0;
    __u64 *dropped = bpf_map_lookup_elem(&bytes_dropped, &zero);
    if (dropped)
        __sync_fetch_and_add(dropped, 1);
}

// The connection of `sk` as netmon reports it; false for sockets it does not count (another
// family than the one asked for, not IP). Fields are read with CO-RE, which every hook allows.
static __always_inline bool flow_key(const struct sock *sk, struct bytes_flow_key *key)
{
    __u16 family = BPF_CORE_READ(sk, __sk_common.skc_family);
    __u32 remote6[4];
    BPF_CORE_READ_INTO(&remote6, sk, __sk_common.skc_v6_daddr.in6_u.u6_addr32);

    // An AF_INET6 socket talking to an IPv4 peer (::ffff:a.b.c.d) is an IPv4 connection; the
    // stack keeps its IPv4 addresses in skc_rcv_saddr/skc_daddr as for AF_INET sockets.
    if (family == AF_INET6 && remote6[0] == 0 && remote6[1] == 0 && remote6[2] == bpf_htonl(0xffff))
        family = AF_INET;
    if (family == AF_INET) {
        if (bytes_config.family == 6)
            return false;
        BPF_CORE_READ_INTO((__u32 *)key->saddr, sk, __sk_common.skc_rcv_saddr);
        BPF_CORE_READ_INTO((__u32 *)key->daddr, sk, __sk_common.skc_daddr);
    } else if (family == AF_INET6) {
        if (bytes_config.family == 4)
            return false;
        BPF_CORE_READ_INTO(&key->saddr, sk, __sk_common.skc_v6_rcv_saddr.in6_u.u6_addr8);
        __builtin_memcpy(key->daddr, remote6, 16);
    } else {
        return false;
    }
    key->family = family;
    key->sport = BPF_CORE_READ(sk, __sk_common.skc_num);
    key->dport = bpf_ntohs(BPF_CORE_READ(sk, __sk_common.skc_dport));
    return true;
}

// The name of the calling process (its main thread's).
static __always_inline void current_process_name(char comm[BYTES_COMM_LEN])
{
    struct task_struct *task = (struct task_struct *)bpf_get_current_task();
    struct task_struct *leader = BPF_CORE_READ(task, group_leader);
    bpf_probe_read_kernel_str(comm, BYTES_COMM_LEN, &leader->comm);
}

// Adds to the key's entry of `flows`, making it (named `comm`, or the calling process) if new.
static __always_inline void add_to_map(void *flows, const struct bytes_flow_key *key, __u64 rx, __u64 tx,
                                       const char *comm)
{
    struct bytes_flow_counters *counters = bpf_map_lookup_elem(flows, key);
    if (!counters) {
        struct bytes_flow_counters fresh = {};
        if (comm)
            __builtin_memcpy(fresh.comm, comm, BYTES_COMM_LEN);
        else
            current_process_name(fresh.comm);
        long err = bpf_map_update_elem(flows, key, &fresh, BPF_NOEXIST);
        // -EEXIST: another CPU created the entry first; add to theirs.
        if (err && err != -EEXIST) {
            count_dropped();
            return;
        }
        counters = bpf_map_lookup_elem(flows, key);
        if (!counters)
            return;
    }
    // Atomic: threads of one process may move bytes on one connection on several CPUs at once.
    if (rx)
        __sync_fetch_and_add(&counters->rx_bytes, rx);
    if (tx)
        __sync_fetch_and_add(&counters->tx_bytes, tx);
}

// Adds to the flow map of the current generation.
static __always_inline void add_to_flows(const struct bytes_flow_key *key, __u64 rx, __u64 tx, const char *comm)
{
    __u32 zero = 0;
    __u32 *generation = bpf_map_lookup_elem(&bytes_generation, &zero);
    if (!generation)
        return;
    // Announce the work on the chosen generation, then check that the choice still holds. The
    // atomic add (with fetch: a full barrier on every architecture) orders the announcement
    // before the re-read; userspace flips the generation before it reads the in-flight count. So
    // either this program sees the flip and retries on the new map, or userspace sees it in
    // flight and waits. Userspace flips once per interval, so a retry practically always holds;
    // a program that loses every try (preempted across several flips) counts as dropped.
    for (int try = 0; try < 4; try++) {
        __u32 chosen = *(volatile __u32 *)generation & 1;
        __s64 *in_flight = bpf_map_lookup_elem(&bytes_in_flight, &chosen);
        if (!in_flight)
            return;
        __sync_fetch_and_add(in_flight, 1);
        if ((*(volatile __u32 *)generation & 1) == chosen) {
            add_to_map(chosen ? (void *)&bytes_flows_1 : (void *)&bytes_flows_0, key, rx, tx, comm);
            __sync_fetch_and_add(in_flight, -1);
            return;
        }
        __sync_fetch_and_add(in_flight, -1);
    }
    count_dropped();
}

// What the calling process moved on `sk`, counted by (process, connection): the path of the
// hooks that cannot keep counts with the socket, and of the calls that do not belong there.
static __always_inline void count_in_flows(const struct sock *sk, int ret, bool tx)
{
    if (ret <= 0 || !sk)
        return;
    __u32 tgid = bpf_get_current_pid_tgid() >> 32;
    if (bytes_config.tgid && tgid != bytes_config.tgid)
        return;
    if (BPF_CORE_READ_BITFIELD_PROBED(sk, sk_protocol) != IPPROTO_TCP)
        return;
    struct bytes_flow_key key = {};
    if (!flow_key(sk, &key))
        return;
    key.tgid = tgid;
    add_to_flows(&key, tx ? 0 : (__u64)ret, tx ? (__u64)ret : 0, NULL);
}

#endif
