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
 *   - sockets that exist when netmon starts: an iter/task_file iterator walks every process's
 *     open files once, after the programs above are attached, and records each holder.
 * When several processes hold a socket (a pre-fork server's listener, an fd passed or inherited)
 * the first one found is reported (the iterator walks processes in PID order, so the lowest PID;
 * a later connect/listen/accept replaces them all) and up to INERRS_HOLDERS are remembered for -p.
 * Processes that inherit or receive a socket while netmon runs are not learned.
 *
 * Three places hold owners:
 *   inerrs_owners       socket-local storage (Linux 5.11+ for tracing programs): lives and dies
 *                       with the socket, no bound, no eviction. Set for listen() and by the
 *                       iterator for every socket open at start-up, whatever its state. Needs a
 *                       BTF pointer to the socket, which the accept exit does not have.
 *   inerrs_sockets      addresses -> socket and holders, for established and listening sockets
 *                       only (deleted when the socket closes): how a segment dropped before the
 *                       kernel's socket lookup finds its socket, and where accept() records the
 *                       holder. A hash without preallocation, at most 16384 sockets; past that,
 *                       newer sockets are not indexed (no eviction of live ones).
 *   inerrs_connecting   socket (kernel address) -> owner, from connect() until the socket leaves
 *                       SYN_SENT: at connect() the local port is not chosen yet, so the owner waits
 *                       here for ESTABLISHED. A hash without preallocation, at most 4096 sockets
 *                       connecting at once.
 * Index keys carry the network namespace: namespaces reuse the same addresses.
 */
#ifndef NETMON_INERRS_OWNERS_BPF_H
#define NETMON_INERRS_OWNERS_BPF_H

struct {
    __uint(type, BPF_MAP_TYPE_SK_STORAGE);
    __uint(map_flags, BPF_F_NO_PREALLOC);
    __type(key, int);
    __type(value, struct inerrs_owner);
} inerrs_owners SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_ARRAY);
    __uint(max_entries, INERRS_INDEX_BUCKETS);
    __type(key, __u32);
    __type(value, struct inerrs_index_bucket);
} inerrs_sockets SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_ARRAY);
    __uint(max_entries, INERRS_CONNECTING_SLOTS);
    __type(key, __u32);
    __type(value, struct inerrs_connecting_slot);
} inerrs_connecting SEC(".maps");

static __always_inline void mapped_v4(__u8 out[16], __be32 address)
{
    __builtin_memset(out, 0, 10);
    out[10] = 0xff;
    out[11] = 0xff;
    __builtin_memcpy(out + 12, &address, 4);
}

/* :: or ::ffff:0.0.0.0, the two ways a socket says "every address". */
static __always_inline bool is_unspecified(const __u8 address[16])
{
    __u64 high, low;
    __builtin_memcpy(&high, address, 8);
    __builtin_memcpy(&low, address + 8, 8);
    if (high != 0)
        return false;
    __u8 mapped_any[8] = { 0, 0, 0xff, 0xff, 0, 0, 0, 0 };
    __u64 mapped;
    __builtin_memcpy(&mapped, mapped_any, 8);
    return low == 0 || low == mapped;
}

/* Reads a field of `sk`: a plain load where `sk` is a BTF pointer (no helper call: the state
 * change is the hot path), a CO-RE read where it is a plain kernel address (the accept exit). */
#define INERRS_SK_FIELD(btf, sk, field) ((btf) ? (sk)->field : BPF_CORE_READ(sk, field))

/* The socket's addresses in the form a segment to it would carry. A listener's remote side is
 * zero, and so is its local address when it listens on every address. `btf`: a compile-time
 * constant, see INERRS_SK_FIELD. */
static __always_inline void socket_tuple(const struct sock *sk, bool btf, bool listener, struct inerrs_tuple *tuple)
{
    __builtin_memset(tuple, 0, sizeof(*tuple));
    if (INERRS_SK_FIELD(btf, sk, __sk_common.skc_family) == AF_INET) {
        mapped_v4(tuple->local, INERRS_SK_FIELD(btf, sk, __sk_common.skc_rcv_saddr));
        if (!listener)
            mapped_v4(tuple->remote, INERRS_SK_FIELD(btf, sk, __sk_common.skc_daddr));
    } else if (btf) {
        __builtin_memcpy(tuple->local, &sk->__sk_common.skc_v6_rcv_saddr, 16);
        if (!listener)
            __builtin_memcpy(tuple->remote, &sk->__sk_common.skc_v6_daddr, 16);
    } else {
        BPF_CORE_READ_INTO(&tuple->local, sk, __sk_common.skc_v6_rcv_saddr);
        if (!listener)
            BPF_CORE_READ_INTO(&tuple->remote, sk, __sk_common.skc_v6_daddr);
    }
    tuple->netns = btf ? sk->__sk_common.skc_net.net->ns.inum : BPF_CORE_READ(sk, __sk_common.skc_net.net, ns.inum);
    tuple->local_port = INERRS_SK_FIELD(btf, sk, __sk_common.skc_num);
    if (listener) {
        if (is_unspecified(tuple->local))
            __builtin_memset(tuple->local, 0, 16);
    } else {
        tuple->remote_port = bpf_ntohs(INERRS_SK_FIELD(btf, sk, __sk_common.skc_dport));
    }
}

/* States whose sockets are in inerrs_sockets (those a segment can reach after ESTABLISHED). */
static __always_inline bool indexed_state(int state)
{
    return state == TCP_ESTABLISHED || state == TCP_FIN_WAIT1 || state == TCP_FIN_WAIT2 ||
           state == TCP_CLOSE_WAIT || state == TCP_LAST_ACK || state == TCP_CLOSING || state == TCP_LISTEN;
}

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
static __always_inline void add_holder(struct inerrs_owner *owner, const struct inerrs_owner *holder)
{
    if (owner->pid == 0) {
        *owner = *holder;
        return;
    }
    for (int i = 0; i < INERRS_HOLDERS; i++) {
        if (owner->holders[i] == holder->pid)
            return;
        if (owner->holders[i] == 0) {
            owner->holders[i] = holder->pid;
            return;
        }
    }
}

/* ---- the index ---- */

static __always_inline __u32 mix(__u32 hash, __u32 word)
{
    hash ^= word;
    hash *= 0x9e3779b1;
    return hash ^ (hash >> 15);
}

/* The bucket of `tuple`'s sockets (never NULL for the verifier's sake only: the index is in range). */
static __always_inline struct inerrs_index_bucket *index_bucket(const struct inerrs_tuple *tuple)
{
    const __u32 *words = (const __u32 *)tuple;
    __u32 hash = 0;
#pragma unroll
    for (int i = 0; i < sizeof(*tuple) / 4; i++)
        hash = mix(hash, words[i]);
    __u32 index = hash & (INERRS_INDEX_BUCKETS - 1);
    return bpf_map_lookup_elem(&inerrs_sockets, &index);
}

static __always_inline bool same_tuple(const struct inerrs_tuple *a, const struct inerrs_tuple *b)
{
    const __u32 *x = (const __u32 *)a, *y = (const __u32 *)b;
    __u32 differ = 0;
#pragma unroll
    for (int i = 0; i < sizeof(*a) / 4; i++)
        differ |= x[i] ^ y[i];
    return differ == 0;
}

/* The slot of the socket with these addresses, or NULL. */
static __always_inline struct inerrs_index_slot *index_find(const struct inerrs_tuple *tuple)
{
    struct inerrs_index_bucket *bucket = index_bucket(tuple);
    if (!bucket)
        return NULL;
#pragma unroll
    for (int way = 0; way < INERRS_INDEX_WAYS; way++) {
        struct inerrs_index_slot *slot = &bucket->slots[way];
        if (slot->socket && same_tuple(&slot->key, tuple))
            return slot;
    }
    return NULL;
}

/* The slot of socket `sk` in the bucket of `tuple`, or NULL. */
static __always_inline struct inerrs_index_slot *index_slot_of(const struct sock *sk, const struct inerrs_tuple *tuple)
{
    struct inerrs_index_bucket *bucket = index_bucket(tuple);
    if (!bucket)
        return NULL;
#pragma unroll
    for (int way = 0; way < INERRS_INDEX_WAYS; way++) {
        if (bucket->slots[way].socket == (__u64)sk)
            return &bucket->slots[way];
    }
    return NULL;
}

/* Indexes socket `sk` under `tuple` with `owner` (NULL: an accepted socket before accept()
 * returns it), or updates its holders if it is there already. A full bucket leaves it out.
 * Lock-free: the socket is written last and cleared first, so a reader sees a slot whole
 * except when two CPUs fill the same bucket in the same few nanoseconds. */
static __always_inline void index_add(const struct sock *sk, const struct inerrs_tuple *tuple,
                                      const struct inerrs_owner *owner)
{
    struct inerrs_index_bucket *bucket = index_bucket(tuple);
    if (!bucket)
        return;
    int free = -1;
#pragma unroll
    for (int way = 0; way < INERRS_INDEX_WAYS; way++) {
        struct inerrs_index_slot *slot = &bucket->slots[way];
        if (slot->socket == (__u64)sk) {
            if (owner)
                add_holder(&slot->owner, owner);
            return;
        }
        if (!slot->socket && free < 0)
            free = way;
    }
    if (free < 0)
        return;
    struct inerrs_index_slot *slot = &bucket->slots[free & (INERRS_INDEX_WAYS - 1)];
    slot->key = *tuple;
    if (owner)
        slot->owner = *owner;
    else
        __builtin_memset(&slot->owner, 0, sizeof(slot->owner));
    slot->socket = (__u64)sk;
}

/* Indexes an established or listening socket by its addresses (see index_add). */
static __always_inline void index_socket(const struct sock *sk, bool btf, bool listener,
                                         const struct inerrs_owner *owner)
{
    struct inerrs_tuple tuple;
    socket_tuple(sk, btf, listener, &tuple);
    index_add(sk, &tuple, owner);
}

static __always_inline void forget_socket(const struct sock *sk, bool listener)
{
    struct inerrs_tuple tuple;
    socket_tuple(sk, true, listener, &tuple);
    /* At the move to CLOSE, tcp_set_state has already released the port (skc_num = 0); the
     * source port the socket sends from is still there (in struct inet_sock, past struct sock). */
    if (tuple.local_port == 0) {
        struct tcp_sock *tcp = bpf_skc_to_tcp_sock((void *)sk);
        if (tcp)
            tuple.local_port = bpf_ntohs(tcp->inet_conn.icsk_inet.inet_sport);
    }
    struct inerrs_index_slot *slot = index_slot_of(sk, &tuple);
    if (slot)
        slot->socket = 0;
}

/* ---- connecting sockets ---- */

static __always_inline struct inerrs_connecting_slot *connecting_slot(__u64 socket)
{
    /* The verifier allows no arithmetic but + and - on a pointer: copy its value as a number. */
    __u64 address = 0;
    bpf_probe_read_kernel(&address, sizeof(address), &socket);
    /* Sockets are cache-line aligned slab objects: the low bits say nothing. */
    __u32 index = mix((__u32)(address >> 6), (__u32)(address >> 38)) & (INERRS_CONNECTING_SLOTS - 1);
    return bpf_map_lookup_elem(&inerrs_connecting, &index);
}

/* The owner recorded at connect() for a socket still connecting, or NULL. */
static __always_inline struct inerrs_owner *connecting_owner(__u64 socket)
{
    struct inerrs_connecting_slot *slot = connecting_slot(socket);
    return slot && slot->socket == socket ? &slot->owner : NULL;
}

/* listen() in the current process. */
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
    const struct sock *sk = btf ? netmon_fd_tcp_socket(fd) : netmon_fd_tcp_socket_core(fd);
    if (!sk)
        return;
    struct inerrs_tuple tuple;
    socket_tuple(sk, btf, false, &tuple);
    struct inerrs_index_slot *slot = index_slot_of(sk, &tuple);
    if (!slot)
        return;
    if (btf)
        current_holder_btf(&slot->owner);
    else
        current_holder(&slot->owner);
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
 * own tracepoints when tracefs offers them (cost only on accepts), else raw_syscalls:sys_exit,
 * which runs on every syscall exit and returns after one compare for all but accept/accept4. */
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

/* ---- sockets that exist at start-up ---- */

/* Run once by userspace: one call per open file of every process (threads sharing a file table
 * are visited once). */
SEC("iter/task_file")
int inerrs_holders(struct bpf_iter__task_file *ctx)
{
    struct task_struct *task = ctx->task;
    struct file *file = ctx->file;
    if (!task || !file)
        return 0;
    const struct sock *sk;
    if (inerrs_config.sk_storage) {
        /* A BTF pointer, as bpf_sk_storage_get needs (bpf_sock_from_file: Linux 5.11+, as is
         * socket-local storage from tracing programs). */
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
    if (inerrs_config.sk_storage) {
        struct inerrs_owner *stored = bpf_sk_storage_get(&inerrs_owners, (void *)sk, 0, BPF_SK_STORAGE_GET_F_CREATE);
        if (stored)
            add_holder(stored, &holder);
    }
    int state = BPF_CORE_READ(sk, __sk_common.skc_state);
    if (!indexed_state(state))
        return 0;
    index_socket(sk, false, state == TCP_LISTEN, &holder);
    return 0;
}

#endif
