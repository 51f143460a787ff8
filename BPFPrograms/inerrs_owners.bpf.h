/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * netmon inerrs: which processes hold each TCP socket. Included by inerrs.bpf.c after
 * `inerrs_config`; also needs sockets.bpf.h.
 *
 * The kernel records no owning process in a socket; the holder of a socket is a process with a
 * file descriptor on it. It is learned where a process is running with the socket in hand:
 *   - connect() and listen(): sock:inet_sock_set_state to SYN_SENT / LISTEN runs in the caller;
 *   - accept(): at the syscall's exit, from the returned fd (accepted sockets reach ESTABLISHED
 *     in softirq, before and regardless of which process takes them);
 *   - every socket with a descriptor: an iter/task_file iterator (a scan) walks every process's
 *     open files, at start-up after the programs above are attached, then every few seconds
 *     (InerrsCommand), and records each holder. So sockets that exist when netmon starts, and
 *     sockets inherited by fork() or passed over a unix socket later, are learned.
 * When several processes hold a socket (a pre-fork server's listener, an fd passed or inherited)
 * the first one found is reported (the iterator walks processes in PID order, so the lowest PID;
 * a later connect/listen/accept replaces them all until the next scan) and up to INERRS_HOLDERS
 * are remembered for -p. A scan's first find of a socket replaces the holders recorded before
 * (merge_holder), so one that closed its descriptor or exited stops being reported. A socket the
 * scan does not find (no process holds it any more, but it is still closing) keeps its holders.
 *
 * Where holders are kept:
 *   inerrs_sockets      the index of established and listening sockets (inerrs_index.bpf.h): every
 *                       holder learned, and how drops before the kernel's socket lookup, and
 *                       accepted sockets, find theirs.
 *   inerrs_connecting   connect()'s caller until the socket reaches ESTABLISHED (inerrs_index.bpf.h).
 *   inerrs_owners       socket-local storage (tracing programs may use it from Linux 5.11): lives
 *                       and dies with the socket. Set for listen(), and by every scan for every
 *                       socket with a descriptor that the index does not hold (not connected
 *                       yet, connecting, or its bucket full); read by drops for sockets the index
 *                       does not hold. Not used on connect(): creating a socket's storage
 *                       costs ~650 ns here, on every connect of the host. The accept exit cannot
 *                       use it (it has no BTF pointer to the socket).
 */
#ifndef NETMON_INERRS_OWNERS_BPF_H
#define NETMON_INERRS_OWNERS_BPF_H

#include "inerrs_index.bpf.h"

struct {
    __uint(type, BPF_MAP_TYPE_SK_STORAGE);
    __uint(map_flags, BPF_F_NO_PREALLOC);
    __type(key, int);
    __type(value, struct inerrs_owner);
} inerrs_owners SEC(".maps");

static __always_inline void holder_of(struct task_struct *task, struct inerrs_owner *owner)
{
    __builtin_memset(owner, 0, sizeof(*owner));
    owner->pid = BPF_CORE_READ(task, tgid);
    owner->holders[0] = owner->pid;
    BPF_CORE_READ_STR_INTO(&owner->comm, task, group_leader, comm);
}

static __always_inline void current_holder(struct inerrs_owner *owner)
{
    holder_of((struct task_struct *)bpf_get_current_task(), owner);
}

/* current_holder for BTF-typed programs (the state change): plain loads where the kernel has
 * bpf_get_current_task_btf (Linux 5.11+; the check is a CO-RE relocation, so an older kernel's
 * verifier never sees the call). */
static __always_inline void current_holder_btf(struct inerrs_owner *owner)
{
    if (!bpf_core_enum_value_exists(enum bpf_func_id, BPF_FUNC_get_current_task_btf)) {
        current_holder(owner);
        return;
    }
    struct task_struct *task = bpf_get_current_task_btf();
    __builtin_memset(owner, 0, sizeof(*owner));
    owner->pid = bpf_get_current_pid_tgid() >> 32;
    owner->holders[0] = owner->pid;
    __builtin_memcpy(owner->comm, task->group_leader->comm, sizeof(owner->comm));
}

/* Adds `pid` to the holders, unless known or no slot is free; the first holder stays reported. */
static __always_inline void listening(const struct sock *sk)
{
    struct inerrs_owner owner;
    current_holder_btf(&owner);
    if (inerrs_config.sk_storage) {
        struct inerrs_owner *stored = bpf_sk_storage_get(&inerrs_owners, (void *)sk, 0, BPF_SK_STORAGE_GET_F_CREATE);
        if (stored)
            *stored = owner;
    }
    index_socket(sk, true, true, &owner);
}

/* connect() in the current process. Its owner is carried to ESTABLISHED (when the port is known,
 * in softirq) by a short-lived entry keyed by the socket's address, not socket-local storage:
 * creating a socket's storage costs ~650 ns on Linux 6.18, for every connect on the host. */
static __always_inline void connecting(const struct sock *sk)
{
    struct inerrs_connecting_slot *slot = connecting_slot((__u64)sk);
    if (!slot)
        return;
    /* Another socket connecting at the same time in the same slot loses its owner. */
    slot->socket = 0;
    current_holder_btf(&slot->owner);
    slot->socket = (__u64)sk;
}

/* A socket reached ESTABLISHED: an active one carries its connect()ing owner along; a passive
 * one has none until accept() returns it. */
static __always_inline void established(const struct sock *sk, int oldstate)
{
    struct inerrs_connecting_slot *slot = NULL;
    if (oldstate == TCP_SYN_SENT) {
        slot = connecting_slot((__u64)sk);
        if (slot && slot->socket != (__u64)sk)
            slot = NULL;
    }
    index_socket(sk, true, false, slot ? &slot->owner : NULL);
    if (slot)
        slot->socket = 0;
}

SEC("tp_btf/inet_sock_set_state")
int BPF_PROG(inerrs_state, const struct sock *sk, const int oldstate, const int newstate)
{
    if (sk->sk_protocol != IPPROTO_TCP)
        return 0;
    if (newstate == TCP_SYN_SENT) {
        connecting(sk);
    } else if (newstate == TCP_ESTABLISHED) {
        established(sk, oldstate);
    } else if (newstate == TCP_LISTEN) {
        listening(sk);
    } else if (newstate == TCP_CLOSE) {
        if (indexed_state(oldstate))
            forget_socket(sk, oldstate == TCP_LISTEN);
        else if (oldstate == TCP_SYN_SENT) {  /* refused, timed out, closed while connecting */
            struct inerrs_connecting_slot *slot = connecting_slot((__u64)sk);
            if (slot && slot->socket == (__u64)sk)
                slot->socket = 0;
        }
    }
    return 0;
}

/* ---- accept ---- */

/* accept()/accept4() returned `fd` in the current process: it now holds that socket. `btf`
 * (a compile-time constant): the fd is followed with plain loads through bpf_rdonly_cast
 * (Linux 6.2+), else with CO-RE reads (a helper call per field). */
static __always_inline void accepted(long fd, bool btf)
{
    const struct sock *sk = btf ? netmon_fd_tcp_socket(bpf_get_current_task_btf(), fd) : netmon_fd_tcp_socket_core(fd);
    if (!sk)
        return;
    struct inerrs_tuple tuple;
    socket_tuple(sk, btf, false, &tuple);
    struct inerrs_index_slot *slot = index_slot_of(sk, &tuple);
    if (!slot)
        return;
    /* Built aside, then copied in one go: a drop on another CPU reading the slot meanwhile never
     * sees a zeroed holder (the old or the new pid, each whole). */
    struct inerrs_owner owner;
    if (btf)
        current_holder_btf(&owner);
    else
        current_holder(&owner);
    slot->owner = owner;
}

/* The format of syscalls:sys_exit_* (/sys/kernel/tracing/events/syscalls/sys_exit_accept4/format). */
struct inerrs_syscall_exit_args {
    __u64 common;
    int syscall_nr;
    int padding;
    long ret;
};

#if defined(__TARGET_ARCH_x86)
#define INERRS_SYSCALL_NR(regs) ((regs)->orig_ax)
#define INERRS_NR_ACCEPT 43
#define INERRS_NR_ACCEPT4 288
#elif defined(__TARGET_ARCH_arm64)
#define INERRS_SYSCALL_NR(regs) ((regs)->syscallno)
#define INERRS_NR_ACCEPT 202
#define INERRS_NR_ACCEPT4 242
#else
#error "inerrs_owners.bpf.h: add this architecture's accept/accept4 syscall numbers"
#endif

/* The accept programs, in the BTF form (no suffix) and the CO-RE form (`_core`): the syscalls'
 * own tracepoints when tracefs offers them (the program runs only on accepts), else
 * raw_syscalls:sys_exit, which runs on every syscall exit and returns after one compare for all
 * but accept/accept4. Either way every syscall of the host takes the kernel's slow path while
 * attached (KernelRequirement.acceptExitTracepoints has the cost). */
#define INERRS_ACCEPT_PROGRAMS(suffix, btf)                                           \
    SEC("tracepoint/syscalls/sys_exit_accept4")                                       \
    int inerrs_accept4_exit##suffix(struct inerrs_syscall_exit_args *args)            \
    {                                                                                 \
        accepted(args->ret, btf);                                                     \
        return 0;                                                                     \
    }                                                                                 \
    SEC("tracepoint/syscalls/sys_exit_accept")                                        \
    int inerrs_accept_exit##suffix(struct inerrs_syscall_exit_args *args)             \
    {                                                                                 \
        accepted(args->ret, btf);                                                     \
        return 0;                                                                     \
    }                                                                                 \
    SEC("tp_btf/sys_exit")                                                            \
    int BPF_PROG(inerrs_sys_exit##suffix, struct pt_regs *regs, long ret)             \
    {                                                                                 \
        long nr = INERRS_SYSCALL_NR(regs);                                            \
        if (nr == INERRS_NR_ACCEPT4 || nr == INERRS_NR_ACCEPT)                        \
            accepted(ret, btf);                                                       \
        return 0;                                                                     \
    }

INERRS_ACCEPT_PROGRAMS(, true)
INERRS_ACCEPT_PROGRAMS(_core, false)

/* ---- the scan of every process's open files ---- */

/* Run by userspace at start-up and every few seconds: one call per open file of every process
 * (threads sharing a file table are visited once). Each run is a new iterator session, whose id
 * tells this run's first find of a socket from a later one (merge_holder). */
SEC("iter/task_file")
int inerrs_holders(struct bpf_iter__task_file *ctx)
{
    struct task_struct *task = ctx->task;
    struct file *file = ctx->file;
    if (!task || !file)
        return 0;
    __u32 scan = (__u32)ctx->meta->session_id;
    const struct sock *sk;
    if (inerrs_config.sk_storage) {
        /* A BTF pointer, as bpf_sk_storage_get needs (bpf_sock_from_file: Linux 5.11+, as is
         * socket-local storage from tracing programs). Linux 6.18's verifier types socket->sk
         * untrusted and refuses it; there the index variant runs (InerrsProgram.storageOfFileSocket). */
        struct socket *socket = bpf_sock_from_file(file);
        if (!socket)
            return 0;
        sk = socket->sk;
    } else {
        if ((BPF_CORE_READ(file, f_inode, i_mode) & NETMON_S_IFMT) != NETMON_S_IFSOCK)
            return 0;
        struct socket *socket = BPF_CORE_READ(file, private_data);
        sk = BPF_CORE_READ(socket, sk);
    }
    if (!sk || BPF_CORE_READ(sk, sk_protocol) != IPPROTO_TCP)
        return 0;

    struct inerrs_owner holder;
    holder_of(task, &holder);
    holder.scan = scan ? scan : 1;  /* 0 means "not from a scan" */
    int state = BPF_CORE_READ(sk, __sk_common.skc_state);
    bool indexed = indexed_state(state) && index_socket(sk, false, state == TCP_LISTEN, &holder);
    if (inerrs_config.sk_storage) {
        /* Drops read the storage only for sockets the index does not hold: an indexed socket's
         * storage is kept current where it exists (listen()), not created (~650 ns, and memory
         * for every socket of the host). */
        struct inerrs_owner *stored = bpf_sk_storage_get(&inerrs_owners, (void *)sk, 0,
                                                          indexed ? 0 : BPF_SK_STORAGE_GET_F_CREATE);
        if (stored)
            merge_holder(stored, &holder);
    }
    return 0;
}

#endif
