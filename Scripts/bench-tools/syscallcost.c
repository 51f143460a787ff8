// SPDX-License-Identifier: MIT
// syscallcost: the time of one cheap system call (getppid), averaged over COUNT calls, in ns.
// Used by Scripts/bench: a program on a syscall tracepoint (syscalls:sys_exit_accept4,
// raw_syscalls:sys_exit) sends every system call of every process on the host through the
// kernel's slow syscall path while it is attached, not only the syscalls it watches; this shows
// that tax where the per-program numbers cannot.
//
// usage: syscallcost COUNT
#include <stdio.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

int main(int argc, char **argv)
{
    long count = argc > 1 ? atol(argv[1]) : 5000000;
    struct timespec start, end;
    clock_gettime(CLOCK_MONOTONIC, &start);
    for (long i = 0; i < count; i++)
        syscall(SYS_getppid);  // not getpid(): no libc may answer it from a cache
    clock_gettime(CLOCK_MONOTONIC, &end);
    double ns = (end.tv_sec - start.tv_sec) * 1e9 + (end.tv_nsec - start.tv_nsec);
    printf("%.1f\n", ns / count);
    return 0;
}
