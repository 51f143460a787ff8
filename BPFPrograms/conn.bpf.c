// SPDX-License-Identifier: GPL-2.0-only
//
// netmon conn: one event per TCP connection that reached ESTABLISHED, attributed to the process
// that called connect() or accept().
//
// connect: sock:inet_sock_set_state. The move to SYN_SENT happens inside connect(), in the
// caller's context: the caller is remembered per socket (conn_owners, LRU). The move from
// SYN_SENT to ESTABLISHED usually happens in softirq, where "current" is whatever ran: the event
// takes the remembered owner. Any other move out of SYN_SENT (refused, timed out, closed) only
// forgets the socket, so a failed connect prints nothing.
//
// accept: the handshake completes in softirq for a listener, long before (and regardless of)
// which process takes the socket, so the accept is reported where the process gets it: at the
// exit of accept()/accept4(), whose return value is the new socket's fd in current's fd table.
// The loader uses the syscalls' own tracepoints when tracefs offers them (the program runs only
// on accepts), and otherwise the BTF-typed raw_syscalls:sys_exit, which runs on every syscall exit
// and returns after one compare for all but accept/accept4. Either way, while one is attached the
// kernel sends every syscall of the host through its slow path (KernelRequirement
// .acceptExitTracepoints has the cost); -r connect attaches neither.
//
// Every filter runs here, before a ring-buffer reservation; -r disables the unused programs.
// Sockets, files and tasks are BTF pointers read with plain loads (a helper call per field would
// double the cost per connection); that needs bpf_rdonly_cast (Linux 6.2+) on the accept path, so
// each accept program has a twin (*_core) with CO-RE helper reads for older kernels. Everything
// here works from Linux 5.10 with BTF.
#include "vmlinux.h"
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

#include "netmon.bpf.h"
#include "sockets.bpf.h"
#include "netmon/conn.h"

char LICENSE[] SEC("license") = "GPL";

const volatile struct conn_config conn_config = {};

// 1 MiB: 80-byte records (72 + 8 header) leave room for ~13,000 connections' events while the
// reader is descheduled, several seconds of a busy server's accept rate; the kernel pins it once.
struct {
    __uint(type, BPF_MAP_TYPE_RINGBUF);
    __uint(max_entries, 1 << 20);
} conn_events SEC(".maps");

NETMON_LOST_EVENTS_MAP();

// netmon serve's counts (netmon/conn.h). Two name maps used in turn, as bytes' flow maps are
// (bytes_flows.bpf.h): the programs add to the one `conn_counts_generation` selects; at each read
// userspace flips the generation, waits until no program still works on the old map
// (`conn_counts_in_flight`), then reads and empties it, so no increment races the read and delete
// and keys never pile up: a process cycling names fills a map for one read at most. Not
// preallocated: memory follows the names seen.
struct {
    __uint(type, BPF_MAP_TYPE_PERCPU_HASH);
    __uint(map_flags, BPF_F_NO_PREALLOC);
    __uint(max_entries, CONN_COUNT_MAX_KEYS);
    __type(key, struct conn_count_key);
    __type(value, __u64);
} conn_counts_0 SEC(".maps"), conn_counts_1 SEC(".maps");

// Bit 0 selects the name map the programs add to; written only by userspace.
struct {
    __uint(type, BPF_MAP_TYPE_ARRAY);
    __uint(max_entries, 1);
    __type(key, __u32);
    __type(value, __u32);
} conn_counts_generation SEC(".maps");

// Per generation: how many programs are between choosing that generation's map and finishing
// their add. Per-CPU; the sum over the CPUs is what matters.
struct {
    __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
    __uint(max_entries, 2);
    __type(key, __u32);
    __type(value, __s64);
} conn_counts_in_flight SEC(".maps");

// Running totals (never emptied) of the connections that found their name map full.
struct {
    __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
    __uint(max_entries, CONN_COUNT_OVERFLOW_SLOTS);
    __type(key, __u32);
    __type(value, __u64);
} conn_counts_overflow SEC(".maps");

// Who called connect() on a socket still in SYN_SENT. Entries are deleted when the socket leaves
// SYN_SENT; LRU bounds the map even if a leave is ever missed (e.g. sockets that were already in
// SYN_SENT when tracing began).
struct conn_owner {
    __u32 pid;
    __u32 tid;
    char comm[16];
};

struct {
    __uint(type, BPF_MAP_TYPE_LRU_HASH);
    // Holds connects in flight (SYN_SENT) only: 8192 at once is far beyond what a host keeps
    // waiting, and keeps the maps within 2 MiB (an LRU entry costs about 96 bytes).
    __uint(max_entries, 8192);
    __type(key, __u64);
    __type(value, struct conn_owner);
} conn_owners SEC(".maps");

// The version netmon reports: 4 for AF_INET and for IPv4-mapped AF_INET6 peers, else 6.
static __always_inline __u8 ip_version_of(const struct sock *sk, __u16 family)
{
    if (family == AF_INET)
        return CONN_IP_V4;
    const __u32 *daddr = sk->__sk_common.skc_v6_daddr.in6_u.u6_addr32;
    return daddr[0] == 0 && daddr[1] == 0 && daddr[2] == bpf_htonl(0x0000ffff) ? CONN_IP_V4 : CONN_IP_V6;
}

static __always_inline bool version_wanted(__u8 version)
{
    return conn_config.ip_version == CONN_IP_ANY || conn_config.ip_version == version;
}

static __always_inline bool local_port_wanted(__u16 port)
{
    if (conn_config.port_count == 0)
        return true;
    for (int i = 0; i < CONN_MAX_PORTS; i++) {
        if (i >= conn_config.port_count)
            break;
        if (conn_config.local_ports[i] == port)
            return true;
    }
    return false;
}

// The calling process, read with CO-RE helper reads: bpf_get_current_task_btf is Linux 5.11+.
// For connect(), which runs once per connection.
static __always_inline void current_owner(struct conn_owner *owner)
{
    __u64 id = bpf_get_current_pid_tgid();
    owner->pid = id >> 32;
    owner->tid = (__u32)id;
    // The process's name (its main thread's), so that all threads of a process print alike.
    struct task_struct *task = (struct task_struct *)bpf_get_current_task();
    BPF_CORE_READ_INTO(&owner->comm, task, group_leader, comm);
}

// current_owner for a BTF pointer to the current task (the accept path on Linux 6.2+): plain loads,
// no helper call, as accept's cost is paid per accepted connection.
static __always_inline void current_owner_btf(const struct task_struct *task, struct conn_owner *owner)
{
    owner->pid = task->tgid;
    owner->tid = task->pid;
    const __u64 *comm = (const __u64 *)task->group_leader->comm;
    __u64 *copy = (__u64 *)owner->comm;
    copy[0] = comm[0];
    copy[1] = comm[1];
}

// What an event says about the socket, read before any ring-buffer reservation so that the
// filters run first. Addresses in network order, IPv4 in the first word.
struct endpoints {
    __u32 saddr[4];
    __u32 daddr[4];
    __u16 sport;
    __u16 dport;
    __u8 version;
};

// The local port is read from inet_sport (struct inet_sock, past struct sock), not skc_num: a
// reset zeroes skc_num (tcp_done -> tcp_set_state(TCP_CLOSE) -> inet_put_port) while the socket
// waits in the accept queue, and accept() still returns it (health checkers and scanners reset
// before the server accepts). The reset leaves inet_sport, the addresses and skc_dport alone.

// The endpoints of `sk` (a BTF pointer: plain loads, no helper call per field), whose struct
// inet_sock is `inet` (the same socket, typed so that the verifier allows the read past struct
// sock), or false when the family, port or version filters drop it.
static __always_inline bool endpoints_of(const struct sock *sk, const struct inet_sock *inet, struct endpoints *out)
{
    const struct sock_common *common = &sk->__sk_common;
    __u16 family = common->skc_family;
    if (family != AF_INET && family != AF_INET6)
        return false;
    out->sport = bpf_ntohs(inet->inet_sport);
    if (!local_port_wanted(out->sport))
        return false;
    out->version = ip_version_of(sk, family);
    if (!version_wanted(out->version))
        return false;
    out->dport = bpf_ntohs(common->skc_dport);
    if (out->version == CONN_IP_V4) {
        // Also right for IPv4-mapped AF_INET6 sockets: the kernel keeps their IPv4 fields too.
        out->saddr[0] = common->skc_rcv_saddr;
        out->daddr[0] = common->skc_daddr;
        out->saddr[1] = out->saddr[2] = out->saddr[3] = 0;
        out->daddr[1] = out->daddr[2] = out->daddr[3] = 0;
    } else {
        const __u32 *local = common->skc_v6_rcv_saddr.in6_u.u6_addr32;
        const __u32 *remote = common->skc_v6_daddr.in6_u.u6_addr32;
        for (int i = 0; i < 4; i++) {
            out->saddr[i] = local[i];
            out->daddr[i] = remote[i];
        }
    }
    return true;
}

// endpoints_of for a plain pointer (kernels without bpf_rdonly_cast): the same fields through
// CO-RE helper reads.
static __always_inline bool endpoints_of_core(const struct sock *sk, struct endpoints *out)
{
    __u16 family = BPF_CORE_READ(sk, __sk_common.skc_family);
    if (family != AF_INET && family != AF_INET6)
        return false;
    out->sport = bpf_ntohs(BPF_CORE_READ((const struct inet_sock *)sk, inet_sport));
    if (!local_port_wanted(out->sport))
        return false;
    __u32 remote[4] = {};
    out->version = CONN_IP_V4;
    if (family == AF_INET6) {
        BPF_CORE_READ_INTO(&remote, sk, __sk_common.skc_v6_daddr.in6_u.u6_addr32);
        if (remote[0] != 0 || remote[1] != 0 || remote[2] != bpf_htonl(0x0000ffff))
            out->version = CONN_IP_V6;
    }
    if (!version_wanted(out->version))
        return false;
    out->dport = bpf_ntohs(BPF_CORE_READ(sk, __sk_common.skc_dport));
    __builtin_memset(out->saddr, 0, sizeof(out->saddr));
    __builtin_memset(out->daddr, 0, sizeof(out->daddr));
    if (out->version == CONN_IP_V4) {
        out->saddr[0] = BPF_CORE_READ(sk, __sk_common.skc_rcv_saddr);
        out->daddr[0] = BPF_CORE_READ(sk, __sk_common.skc_daddr);
    } else {
        BPF_CORE_READ_INTO(&out->saddr, sk, __sk_common.skc_v6_rcv_saddr.in6_u.u6_addr32);
        __builtin_memcpy(out->daddr, remote, sizeof(remote));
    }
    return true;
}

#define EEXIST 17

// Adds 1 to a per-CPU counter. Atomic although per-CPU: the connect program (often in softirq)
// can interrupt an accept program on the same CPU in the middle of its add.
static __always_inline void count_one(__u64 *counter)
{
    __sync_fetch_and_add(counter, 1);
}

// Adds 1 to `key`'s counter in `counts`, making it if new; false when the map is full.
static __always_inline bool count_named(void *counts, const struct conn_count_key *key)
{
    __u64 *counter = bpf_map_lookup_elem(counts, key);
    if (!counter) {
        // A new key starts at 1 on this CPU (0 on the others); -EEXIST: another CPU made it first.
        __u64 one = 1;
        long err = bpf_map_update_elem(counts, key, &one, BPF_NOEXIST);
        if (err == 0)
            return true;
        if (err != -EEXIST)
            return false;
        counter = bpf_map_lookup_elem(counts, key);
        if (!counter)
            return false;
    }
    count_one(counter);
    return true;
}

// Counts one connection for netmon serve (conn_config.count_only): in the current generation's
// name map under its direction, version and process name, else (that map full) in its overflow
// slot, so every connection is counted once.
static __always_inline void count(const struct endpoints *ends, const struct conn_owner *owner, __u8 direction)
{
    struct conn_count_key key = { .direction = direction, .ip_version = ends->version };
    __builtin_memcpy(key.comm, owner->comm, sizeof(key.comm));
    __u32 zero = 0;
    __u32 *generation = bpf_map_lookup_elem(&conn_counts_generation, &zero);
    if (generation) {
        // Announce the work on the chosen generation, then check that the choice still holds (the
        // atomic add is a full barrier; userspace flips before it reads the in-flight count): either
        // this program sees the flip and retries on the new map, or userspace waits for it. One
        // that loses every try (preempted across several flips) counts under the overflow.
        for (int try = 0; try < 4; try++) {
            __u32 chosen = *(volatile __u32 *)generation & 1;
            __s64 *in_flight = bpf_map_lookup_elem(&conn_counts_in_flight, &chosen);
            if (!in_flight)
                break;
            __sync_fetch_and_add(in_flight, 1);
            if ((*(volatile __u32 *)generation & 1) == chosen) {
                bool counted = count_named(chosen ? (void *)&conn_counts_1 : (void *)&conn_counts_0, &key);
                __sync_fetch_and_add(in_flight, -1);
                if (counted)
                    return;
                break;
            }
            __sync_fetch_and_add(in_flight, -1);
        }
    }
    __u32 slot = conn_count_overflow_slot(direction, ends->version);
    __u64 *counter = bpf_map_lookup_elem(&conn_counts_overflow, &slot);
    if (counter)
        count_one(counter);
}

// Sends one event (or, for netmon serve, counts it); the filters have passed.
static __always_inline void emit(const struct endpoints *ends, const struct conn_owner *owner, __u8 direction)
{
    if (conn_config.count_only) {
        count(ends, owner, direction);
        return;
    }
    struct conn_event *event = bpf_ringbuf_reserve(&conn_events, sizeof(*event), 0);
    if (!event) {
        netmon_count_lost();
        return;
    }
    __u64 now = bpf_ktime_get_ns();
    event->timestamp_ns = now;
    event->pid = owner->pid;
    event->tid = owner->tid;
    __builtin_memcpy(event->comm, owner->comm, sizeof(event->comm));
    __builtin_memcpy(event->saddr, ends->saddr, sizeof(event->saddr));
    __builtin_memcpy(event->daddr, ends->daddr, sizeof(event->daddr));
    event->sport = ends->sport;
    event->dport = ends->dport;
    event->ip_version = ends->version;
    event->direction = direction;
    event->reserved[0] = 0;
    event->reserved[1] = 0;
    bpf_ringbuf_submit(event, netmon_ringbuf_flags(now));
}

// ---- connect ----

// Enters SYN_SENT: inside connect(), current is the caller. Filter here so filtered-out sockets
// never take a map slot.
static __always_inline void syn_sent(const struct sock *sk)
{
    if (conn_config.tgid && (bpf_get_current_pid_tgid() >> 32) != conn_config.tgid)
        return;
    if (conn_config.ip_version != CONN_IP_ANY &&
        ip_version_of(sk, sk->__sk_common.skc_family) != conn_config.ip_version)
        return;
    __u64 key = (__u64)sk;
    struct conn_owner owner;
    current_owner(&owner);
    bpf_map_update_elem(&conn_owners, &key, &owner, BPF_ANY);
}

// Leaves SYN_SENT: to ESTABLISHED (usually in softirq) the connection is reported with the
// remembered owner; to anything else (refused, timed out, closed) it is only forgotten.
//
// Leaves ESTABLISHED with the owner still remembered: the kernel skipped this program for the
// establishment. It skips a tp_btf program entered again on a CPU where it is already running
// (recursion_misses), which happens when a softirq completes one handshake while the program
// runs for another socket in process context. The connection is reported now, late but not
// lost. (The move to SYN_SENT itself is never skipped: process context interrupts nothing.)
// The cost is one hash lookup per connection that leaves ESTABLISHED.
static __always_inline void left(const struct sock *sk, int oldstate, int newstate)
{
    __u64 key = (__u64)sk;
    struct conn_owner *owner = bpf_map_lookup_elem(&conn_owners, &key);
    if (!owner)
        return;
    struct endpoints ends;
    if (newstate == TCP_ESTABLISHED || oldstate == TCP_ESTABLISHED) {
        // Leaving ESTABLISHED for CLOSE, the port is already released (skc_num = 0).
        const struct tcp_sock *tcp = bpf_skc_to_tcp_sock((void *)sk);
        if (tcp && endpoints_of(sk, &tcp->inet_conn.icsk_inet, &ends))
            emit(&ends, owner, CONN_DIRECTION_CONNECT);
    }
    bpf_map_delete_elem(&conn_owners, &key);
}

SEC("tp_btf/inet_sock_set_state")
int BPF_PROG(conn_state, const struct sock *sk, const int oldstate, const int newstate)
{
    if (sk->sk_protocol != IPPROTO_TCP)
        return 0;
    if (newstate == TCP_SYN_SENT)
        syn_sent(sk);
    else if (oldstate == TCP_SYN_SENT || oldstate == TCP_ESTABLISHED)
        left(sk, oldstate, newstate);
    return 0;
}

// ---- accept ----

// accept()/accept4() returned `fd` in the current process: report the TCP socket it refers to.
// `core` (a constant at each call site) picks the CO-RE reads for kernels without bpf_rdonly_cast.
static __always_inline void accepted(long fd, bool core)
{
    if (fd < 0)
        return;
    if (conn_config.tgid && (bpf_get_current_pid_tgid() >> 32) != conn_config.tgid)
        return;
    struct endpoints ends;
    struct conn_owner owner;
    if (core) {
        const struct sock *sk = netmon_fd_tcp_socket_core(fd);
        if (!sk || !endpoints_of_core(sk, &ends))
            return;
        current_owner(&owner);
    } else {
        const struct task_struct *task = bpf_get_current_task_btf();
        const struct sock *sk = netmon_fd_tcp_socket(task, fd);
        if (!sk)
            return;
        const struct inet_sock *inet = bpf_rdonly_cast(sk, bpf_core_type_id_kernel(struct inet_sock));
        if (!endpoints_of(sk, inet, &ends))
            return;
        current_owner_btf(task, &owner);
    }
    emit(&ends, &owner, CONN_DIRECTION_ACCEPT);
}

// The format of syscalls:sys_exit_* (/sys/kernel/tracing/events/syscalls/sys_exit_accept4/format).
struct syscall_exit_args {
    __u64 common;
    int syscall_nr;
    int padding;
    long ret;
};

SEC("tracepoint/syscalls/sys_exit_accept4")
int conn_accept4_exit_tp(struct syscall_exit_args *args)
{
    accepted(args->ret, false);
    return 0;
}

SEC("tracepoint/syscalls/sys_exit_accept")
int conn_accept_exit_tp(struct syscall_exit_args *args)
{
    accepted(args->ret, false);
    return 0;
}

SEC("tracepoint/syscalls/sys_exit_accept4")
int conn_accept4_core(struct syscall_exit_args *args)
{
    accepted(args->ret, true);
    return 0;
}

SEC("tracepoint/syscalls/sys_exit_accept")
int conn_accept_core(struct syscall_exit_args *args)
{
    accepted(args->ret, true);
    return 0;
}

#if defined(__TARGET_ARCH_x86)
#define SYSCALL_NR(regs) ((regs)->orig_ax)
#define NR_ACCEPT 43
#define NR_ACCEPT4 288
#elif defined(__TARGET_ARCH_arm64)
#define SYSCALL_NR(regs) ((regs)->syscallno)
#define NR_ACCEPT 202
#define NR_ACCEPT4 242
#else
#error "conn.bpf.c: add this architecture's accept/accept4 syscall numbers"
#endif

// Fallback when tracefs (and so the syscalls:* tracepoints) is not available. 32-bit compat
// tasks use other syscall numbers and are not seen.
static __always_inline void syscall_exited(const struct pt_regs *regs, long ret, bool core)
{
    long nr = SYSCALL_NR(regs);
    if (nr == NR_ACCEPT4 || nr == NR_ACCEPT)
        accepted(ret, core);
}

SEC("tp_btf/sys_exit")
int BPF_PROG(conn_sys_exit_btf, struct pt_regs *regs, long ret)
{
    syscall_exited(regs, ret, false);
    return 0;
}

SEC("tp_btf/sys_exit")
int BPF_PROG(conn_sys_exit_core, struct pt_regs *regs, long ret)
{
    syscall_exited(regs, ret, true);
    return 0;
}
