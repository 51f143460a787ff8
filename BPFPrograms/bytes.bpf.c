// SPDX-License-Identifier: GPL-2.0-only
//
// netmon bytes: TCP bytes per (process, connection), aggregated in the kernel; BytesCommand takes
// the counts once per interval. Nothing is sent to userspace per transfer.
//
// What is counted: the bytes a process's send or receive call actually moved on a TCP socket (the
// value the protocol returned, not the size asked for: bcc#2440), charged to that process. Every
// way a process moves TCP payload through the socket layer returns through tcp_sendmsg() /
// tcp_recvmsg(): write/send/sendto/sendmsg/sendmmsg, read/recv/recvfrom/recvmsg/recvmmsg, io_uring
// send/recv, and (Linux 6.5+, splice_to_socket -> sock_sendmsg(MSG_SPLICE_PAGES)) sendfile() and
// splice() *to* a socket; before 6.5 those go through tcp_sendpage() instead. Not counted, on any
// kernel: splice() *from* a TCP socket (tcp_splice_read -> tcp_read_sock) and
// getsockopt(TCP_ZEROCOPY_RECEIVE), which bypass the receive call (measured: 1,000,000 bytes read
// with os.splice are missing from RX while the sender's TX has them); no hook reports their lengths
// in the same terms on every kernel, so leaving them out keeps the meaning identical everywhere.
//
// Hooks, best first (BytesProgram.swift chooses by probing):
//   tp_btf   sock:sock_send_length / sock:sock_recv_length (Linux 6.0+), at the end of
//            sock_sendmsg()/sock_recvmsg() with the protocol's return value; plus fexit or kprobe on
//            tcp_sendpage where the kernel still has it (6.0-6.4: sendfile does not pass sendmsg)
//   tp_flows the same tracepoints counting into the flow maps, where the storage iterator is
//            refused (Linux 6.18 here: iter/bpf_sk_storage_map, EPERM)
//   fexit    tcp_sendmsg / tcp_recvmsg (and tcp_sendpage) return values, where BPF trampolines work
//   kprobe   kprobe + kretprobe on the same functions, the socket remembered per thread in between
//
// The per-call cost is what matters (a run per send/recv call of every TCP socket on the host), so
// the tracepoint path keeps the counts with the socket: socket storage holds its connection and
// owner (read once, when the socket first moves bytes) and the owner's byte counts; a call does one
// storage lookup, two compares and one atomic add. Calls by another process than the owner (a
// socket shared by fork or passed over a unix socket), and every call of the fexit/kprobe paths, go
// to the flow maps of bytes_flows.bpf.h by (process, connection), so bytes stay charged to the
// process that moved them. Userspace takes the sockets' counts with an iterator over the storage
// (atomic exchange with 0); a socket destroyed in between hands its counts to the flow maps in
// tcp:tcp_destroy_sock, after which no call can reach it.
#include "vmlinux.h"
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

#include "netmon.bpf.h"
#include "bytes_flows.bpf.h"

char LICENSE[] SEC("license") = "GPL";

#define MSG_PEEK 2

// Freed with its socket: no bound, no eviction, nothing to clean up.
struct {
    __uint(type, BPF_MAP_TYPE_SK_STORAGE);
    __uint(map_flags, BPF_F_NO_PREALLOC);
    __type(key, int);
    __type(value, struct bytes_socket);
} bytes_sockets SEC(".maps");

// The socket's entry, made on its first counted call (owner: the calling process).
static __always_inline struct bytes_socket *socket_entry(struct sock *sk, __u32 tgid)
{
    struct bytes_socket fresh = {};
    fresh.ignored = sk->sk_protocol != IPPROTO_TCP || !flow_key(sk, &fresh.flow.key);
    fresh.flow.key.tgid = tgid;
    fresh.portpair = sk->__sk_common.skc_portpair;
    fresh.addrpair = sk->__sk_common.skc_addrpair;
    current_process_name(fresh.flow.counters.comm);
    return bpf_sk_storage_get(&bytes_sockets, sk, &fresh, BPF_SK_STORAGE_GET_F_CREATE);
}

static __always_inline void count_on_socket(struct sock *sk, int ret, bool tx)
{
    if (ret <= 0)
        return;
    __u32 tgid = bpf_get_current_pid_tgid() >> 32;
    if (bytes_config.tgid && tgid != bytes_config.tgid)
        return;
    struct bytes_socket *socket = bpf_sk_storage_get(&bytes_sockets, sk, NULL, 0);
    if (!socket) {
        // Only TCP sockets get an entry: a UDP or unix socket costs this lookup and one load.
        if (sk->sk_protocol != IPPROTO_TCP)
            return;
        socket = socket_entry(sk, tgid);
    }
    if (socket) {
        if (socket->ignored)
            return;
        if (socket->flow.key.tgid == tgid && socket->portpair == sk->__sk_common.skc_portpair &&
            socket->addrpair == sk->__sk_common.skc_addrpair) {
            // Atomic: the owner's threads may use the socket on several CPUs at once.
            if (tx)
                __sync_fetch_and_add(&socket->flow.counters.tx_bytes, ret);
            else
                __sync_fetch_and_add(&socket->flow.counters.rx_bytes, ret);
            return;
        }
    }
    // Another process than the owner, a socket reconnected elsewhere, or no storage to be had.
    count_in_flows(sk, ret, tx);
}

SEC("tp_btf/sock_send_length")
int BPF_PROG(bytes_send, struct sock *sk, int ret, int flags)
{
    count_on_socket(sk, ret, true);
    return 0;
}

SEC("tp_btf/sock_recv_length")
int BPF_PROG(bytes_recv, struct sock *sk, int ret, int flags)
{
    // A peek leaves the bytes in the socket: they are counted when they are read.
    if (flags & MSG_PEEK)
        return 0;
    count_on_socket(sk, ret, false);
    return 0;
}

// The counts of `socket` not yet taken, now taken: an exchange, so that the iterator and a
// concurrent destruction never both take the same bytes.
static __always_inline bool take(struct bytes_socket *socket, struct bytes_flow_record *record)
{
    record->key = socket->flow.key;
    __builtin_memcpy(record->counters.comm, socket->flow.counters.comm, BYTES_COMM_LEN);
    record->counters.rx_bytes = socket->flow.counters.rx_bytes ? __sync_lock_test_and_set(&socket->flow.counters.rx_bytes, 0) : 0;
    record->counters.tx_bytes = socket->flow.counters.tx_bytes ? __sync_lock_test_and_set(&socket->flow.counters.tx_bytes, 0) : 0;
    return record->counters.rx_bytes || record->counters.tx_bytes;
}

// After this, no call can reach the socket (the last file reference is gone, or it never had
// one): what it still holds goes to the flow maps.
SEC("tp_btf/tcp_destroy_sock")
int BPF_PROG(bytes_socket_closed, struct sock *sk)
{
    struct bytes_socket *socket = bpf_sk_storage_get(&bytes_sockets, sk, NULL, 0);
    struct bytes_flow_record record;
    if (!socket || socket->ignored || !take(socket, &record))
        return 0;
    add_to_flows(&record.key, record.counters.rx_bytes, record.counters.tx_bytes, record.counters.comm);
    return 0;
}

// Run by userspace once per interval: every socket's counts since the last run, as
// struct bytes_flow_record, one after another.
SEC("iter/bpf_sk_storage_map")
int bytes_sockets_read(struct bpf_iter__bpf_sk_storage_map *ctx)
{
    struct sock *sk = ctx->sk;
    if (!sk)
        return 0;
    struct bytes_socket *socket = bpf_sk_storage_get(&bytes_sockets, sk, NULL, 0);
    struct bytes_flow_record record;
    if (!socket || socket->ignored || !take(socket, &record))
        return 0;
    bpf_seq_write(ctx->meta->seq, &record, sizeof(record));
    return 0;
}

// ------------------------------------------- kernels with the tracepoints but no storage iterator

SEC("tp_btf/sock_send_length")
int BPF_PROG(bytes_send_flows, struct sock *sk, int ret, int flags)
{
    count_in_flows(sk, ret, true);
    return 0;
}

SEC("tp_btf/sock_recv_length")
int BPF_PROG(bytes_recv_flows, struct sock *sk, int ret, int flags)
{
    if (!(flags & MSG_PEEK))
        count_in_flows(sk, ret, false);
    return 0;
}

// ---------------------------------------------------------------- kernels without the tracepoints

SEC("fexit/tcp_sendmsg")
int BPF_PROG(bytes_send_fexit, struct sock *sk, struct msghdr *msg, size_t size, int ret)
{
    count_in_flows(sk, ret, true);
    return 0;
}

// Before Linux 6.5: sendfile() and splice() to a TCP socket.
SEC("fexit/tcp_sendpage")
int BPF_PROG(bytes_sendpage_fexit, struct sock *sk, struct page *page, int offset, size_t size, int flags, int ret)
{
    count_in_flows(sk, ret, true);
    return 0;
}

// Linux 5.19+: tcp_recvmsg(sk, msg, len, flags, addr_len).
SEC("fexit/tcp_recvmsg")
int BPF_PROG(bytes_recv_fexit, struct sock *sk, struct msghdr *msg, size_t len, int flags, int *addr_len, int ret)
{
    if (!(flags & MSG_PEEK))
        count_in_flows(sk, ret, false);
    return 0;
}

// Before Linux 5.19: tcp_recvmsg(sk, msg, len, nonblock, flags, addr_len).
SEC("fexit/tcp_recvmsg")
int BPF_PROG(bytes_recv_fexit_nonblock, struct sock *sk, struct msghdr *msg, size_t len, int nonblock, int flags,
             int *addr_len, int ret)
{
    if (!(flags & MSG_PEEK))
        count_in_flows(sk, ret, false);
    return 0;
}

// kprobes: the entry remembers the socket per thread (a thread is in one such call at a time per
// direction), the return counts what the call returned.
struct {
    __uint(type, BPF_MAP_TYPE_HASH);
    __uint(map_flags, BPF_F_NO_PREALLOC); // empty unless the kprobe variants run
    __uint(max_entries, 16384);
    __type(key, __u64);   // pid_tgid
    __type(value, __u64); // the socket; 0 when the call is not counted (a peek)
} bytes_sending SEC(".maps"), bytes_receiving SEC(".maps");

static __always_inline void remember(void *calls, const struct sock *sk)
{
    __u64 thread = bpf_get_current_pid_tgid();
    __u64 socket = (__u64)sk;
    bpf_map_update_elem(calls, &thread, &socket, BPF_ANY);
}

static __always_inline void count_returned(void *calls, int ret, bool tx)
{
    __u64 thread = bpf_get_current_pid_tgid();
    __u64 *socket = bpf_map_lookup_elem(calls, &thread);
    if (!socket)
        return;
    const struct sock *sk = (const struct sock *)*socket;
    bpf_map_delete_elem(calls, &thread);
    count_in_flows(sk, ret, tx);
}

SEC("kprobe/tcp_sendmsg")
int BPF_KPROBE(bytes_send_kprobe, struct sock *sk)
{
    remember(&bytes_sending, sk);
    return 0;
}

SEC("kretprobe/tcp_sendmsg")
int BPF_KRETPROBE(bytes_send_kretprobe, int ret)
{
    count_returned(&bytes_sending, ret, true);
    return 0;
}

SEC("kprobe/tcp_sendpage")
int BPF_KPROBE(bytes_sendpage_kprobe, struct sock *sk)
{
    remember(&bytes_sending, sk);
    return 0;
}

SEC("kretprobe/tcp_sendpage")
int BPF_KRETPROBE(bytes_sendpage_kretprobe, int ret)
{
    count_returned(&bytes_sending, ret, true);
    return 0;
}

SEC("kprobe/tcp_recvmsg")
int BPF_KPROBE(bytes_recv_kprobe, struct sock *sk, struct msghdr *msg, size_t len, int flags)
{
    remember(&bytes_receiving, flags & MSG_PEEK ? NULL : sk);
    return 0;
}

SEC("kprobe/tcp_recvmsg")
int BPF_KPROBE(bytes_recv_kprobe_nonblock, struct sock *sk, struct msghdr *msg, size_t len, int nonblock, int flags)
{
    remember(&bytes_receiving, flags & MSG_PEEK ? NULL : sk);
    return 0;
}

SEC("kretprobe/tcp_recvmsg")
int BPF_KRETPROBE(bytes_recv_kretprobe, int ret)
{
    count_returned(&bytes_receiving, ret, false);
    return 0;
}
