/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The TCP socket behind a file descriptor of the current task, for programs that see a syscall
 * return an fd (accept) and need its socket. Include after vmlinux.h, the libbpf headers and
 * netmon.bpf.h. Two forms, one per kernel generation; an object carries programs using either and
 * the loader enables those the kernel can verify:
 *   netmon_fd_tcp_socket       plain loads through BTF pointers (bpf_rdonly_cast, Linux 6.2+):
 *                              a few loads, no helper call per field; `task` is
 *                              bpf_get_current_task_btf(), which the caller usually needs too
 *   netmon_fd_tcp_socket_core  bpf_probe_read_kernel / BPF_CORE_READ (any kernel with BTF)
 * Both return NULL unless the fd is open, is a socket, and its socket is TCP.
 */
#ifndef NETMON_SOCKETS_BPF_H
#define NETMON_SOCKETS_BPF_H

#define NETMON_S_IFMT 00170000
#define NETMON_S_IFSOCK 0140000

/* Makes a pointer read from kernel memory a BTF pointer again (Linux 6.2+). Weak: an object that
 * also carries programs for older kernels must still load there, with those programs only. */
extern void *bpf_rdonly_cast(const void *obj, __u32 btf_id) __ksym __weak;

static __always_inline const struct sock *netmon_fd_tcp_socket(const struct task_struct *task, long fd)
{
    if (fd < 0)
        return NULL;
    struct fdtable *fdt = task->files->fdt;
    if (fd >= fdt->max_fds)
        return NULL;
    struct file *entry = NULL;
    bpf_probe_read_kernel(&entry, sizeof(entry), &fdt->fd[fd]);
    if (!entry)
        return NULL;
    struct file *file = bpf_rdonly_cast(entry, bpf_core_type_id_kernel(struct file));
    /* Only a socket's private_data is a struct socket (another thread may have replaced the fd). */
    if ((file->f_inode->i_mode & NETMON_S_IFMT) != NETMON_S_IFSOCK)
        return NULL;
    struct socket *socket = bpf_rdonly_cast(file->private_data, bpf_core_type_id_kernel(struct socket));
    const struct sock *sk = socket->sk;
    if (!sk || sk->sk_protocol != IPPROTO_TCP)
        return NULL;
    return sk;
}

static __always_inline const struct sock *netmon_fd_tcp_socket_core(long fd)
{
    if (fd < 0)
        return NULL;
    struct task_struct *task = (struct task_struct *)bpf_get_current_task();
    struct fdtable *fdt = BPF_CORE_READ(task, files, fdt);
    if (!fdt || fd >= BPF_CORE_READ(fdt, max_fds))
        return NULL;
    struct file **fds = BPF_CORE_READ(fdt, fd);
    struct file *file = NULL;
    bpf_probe_read_kernel(&file, sizeof(file), &fds[fd]);
    if (!file)
        return NULL;
    if ((BPF_CORE_READ(file, f_inode, i_mode) & NETMON_S_IFMT) != NETMON_S_IFSOCK)
        return NULL;
    struct socket *socket = BPF_CORE_READ(file, private_data);
    struct sock *sk = BPF_CORE_READ(socket, sk);
    if (!sk || BPF_CORE_READ(sk, sk_protocol) != IPPROTO_TCP)
        return NULL;
    return sk;
}

#endif
