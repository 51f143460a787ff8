// SPDX-License-Identifier: GPL-2.0-only
//
// netmon bytes: TCP bytes per (process, connection), aggregated in the kernel; BytesCommand drains
// the aggregate once per interval. Nothing is sent to userspace per transfer.
//
// Hooks: sock:sock_send_length and sock:sock_recv_length (Linux 6.0+), BTF-typed. They fire in
// process context at the end of sock_sendmsg()/sock_recvmsg() with the value the protocol
// returned: the bytes actually transferred, not the size asked for (bcc#2440). Every way a process
// moves TCP payload through the socket layer ends there: write/send/sendto/sendmsg/sendmmsg,
// read/recv/recvfrom/recvmsg/recvmmsg, io_uring send/recv, and sendfile()/splice() *to* a TCP
// socket, which since Linux 6.5 is splice_to_socket() -> sock_sendmsg(MSG_SPLICE_PAGES)
// (verified by the integration tests: a 5 MB os.sendfile is counted exactly). What does not pass
// sock_recvmsg(): splice() *from* a TCP socket (tcp_splice_read -> tcp_read_sock) and
// getsockopt(TCP_ZEROCOPY_RECEIVE) (mmap'd receive); they are documented as not counted
// (measured: 1,000,000 bytes read with os.splice from a TCP socket are missing from RX, while the
// sender's TX has them). No tracepoint reports their byte counts: tcp:tcp_rcv_space_adjust fires
// there, but without a length, and diffing tp->copied_seq from it needs a per-socket baseline that
// a socket older than netmon does not have.
//
// Why not a per-interval iter/tcp walk diffing tp->bytes_acked/bytes_received: those counters
// belong to the socket, not to whoever moved the bytes (a socket shared by fork or passed over a
// unix socket would be charged to one process), they count what the peer acknowledged or the
// stack received rather than what the process read or wrote, and a connection that opens and
// closes inside an interval is gone from the walk unless its close is hooked as well. The
// tracepoints cost one run per send/recv call (not per packet) and attribute exactly; measured
// with kernel.bpf_stats_enabled on this 2-core VM under 1.2 M small sends and recvs: 130 ns
// (bytes_send) and 141 ns (bytes_recv) per run, inside the 250 ns budget.
#include "vmlinux.h"
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

#include "netmon.bpf.h"
#include "netmon/bytes.h"

char LICENSE[] SEC("license") = "GPL";

#define IPPROTO_TCP 6
#define MSG_PEEK 2

const volatile struct bytes_config bytes_config = {};

// Two flow maps, used in turn. The programs add to the one `bytes_generation` selects; each
// interval userspace flips the generation, waits until no program still works on the old map
// (`bytes_in_flight`), and then drains the old map at leisure: no update can race the read and
// delete, so none is lost. (Deleting entries from a map that programs still update would lose
// the additions made between a program's lookup and the delete; lookup-and-delete has the same
// window.) Plain hash maps, not LRU: an LRU map would evict counts silently. When a map is full,
// new flows are counted in `bytes_dropped` instead.
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

// The connection of `sk` as netmon reports it; false for sockets it does not count.
static __always_inline bool flow_key(const struct sock *sk, struct bytes_flow_key *key)
{
    __u16 family = sk->__sk_common.skc_family;
    const __u32 *remote6 = sk->__sk_common.skc_v6_daddr.in6_u.u6_addr32;

    // An AF_INET6 socket talking to an IPv4 peer (::ffff:a.b.c.d) is an IPv4 connection; the
    // stack keeps its IPv4 addresses in skc_rcv_saddr/skc_daddr as for AF_INET sockets.
    if (family == AF_INET6 && remote6[0] == 0 && remote6[1] == 0 && remote6[2] == bpf_htonl(0xffff))
        family = AF_INET;
    if (family == AF_INET) {
        if (bytes_config.family == 6)
            return false;
        __builtin_memcpy(key->saddr, &sk->__sk_common.skc_rcv_saddr, 4);
        __builtin_memcpy(key->daddr, &sk->__sk_common.skc_daddr, 4);
    } else if (family == AF_INET6) {
        if (bytes_config.family == 4)
            return false;
        __builtin_memcpy(key->saddr, sk->__sk_common.skc_v6_rcv_saddr.in6_u.u6_addr8, 16);
        __builtin_memcpy(key->daddr, sk->__sk_common.skc_v6_daddr.in6_u.u6_addr8, 16);
    } else {
        return false;
    }
    key->family = family;
    key->sport = sk->__sk_common.skc_num;
    key->dport = bpf_ntohs(sk->__sk_common.skc_dport);
    return true;
}

static __always_inline void add(void *flows, const struct bytes_flow_key *key, __u64 bytes, bool tx)
{
    struct bytes_flow_counters *counters = bpf_map_lookup_elem(flows, key);
    if (!counters) {
        struct bytes_flow_counters fresh = {};
        // The process's name (its main thread's), to go with the PID.
        struct task_struct *task = bpf_get_current_task_btf();
        bpf_probe_read_kernel_str(fresh.comm, sizeof(fresh.comm), task->group_leader->comm);
        long err = bpf_map_update_elem(flows, key, &fresh, BPF_NOEXIST);
        // -EEXIST: another CPU created the entry first; add to theirs.
        if (err && err != -17) {
            count_dropped();
            return;
        }
        counters = bpf_map_lookup_elem(flows, key);
        if (!counters)
            return;
    }
    // Atomic: threads of one process may move bytes on one connection on several CPUs at once.
    if (tx)
        __sync_fetch_and_add(&counters->tx_bytes, bytes);
    else
        __sync_fetch_and_add(&counters->rx_bytes, bytes);
}

static __always_inline void count(const struct sock *sk, int ret, bool tx)
{
    if (ret <= 0 || !sk || sk->sk_protocol != IPPROTO_TCP)
        return;
    __u32 tgid = bpf_get_current_pid_tgid() >> 32;
    if (bytes_config.tgid && tgid != bytes_config.tgid)
        return;
    struct bytes_flow_key key = {};
    if (!flow_key(sk, &key))
        return;
    key.tgid = tgid;

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
            add(chosen ? (void *)&bytes_flows_1 : (void *)&bytes_flows_0, &key, (__u64)ret, tx);
            __sync_fetch_and_add(in_flight, -1);
            return;
        }
        __sync_fetch_and_add(in_flight, -1);
    }
    count_dropped();
}

SEC("tp_btf/sock_send_length")
int BPF_PROG(bytes_send, struct sock *sk, int ret, int flags)
{
    count(sk, ret, true);
    return 0;
}

SEC("tp_btf/sock_recv_length")
int BPF_PROG(bytes_recv, struct sock *sk, int ret, int flags)
{
    // A peek leaves the bytes in the socket: they are counted when they are read.
    if (flags & MSG_PEEK)
        return 0;
    count(sk, ret, false);
    return 0;
}
