import Glibc

/// serve holds a descriptor per client connection besides its BPF maps and programs: with the
/// usual soft limit of 1024 a flood of connections could make accept() fail (the server then
/// closes its oldest idle connection to make room). The hard limit is what the administrator
/// allows; taking it costs nothing until descriptors are used.
enum OpenFileLimit {
    static func raiseToHardLimit() {
        var limit = rlimit()
        guard getrlimit(__rlimit_resource_t(RLIMIT_NOFILE.rawValue), &limit) == 0, limit.rlim_cur < limit.rlim_max else { return }
        limit.rlim_cur = limit.rlim_max
        _ = setrlimit(__rlimit_resource_t(RLIMIT_NOFILE.rawValue), &limit)
    }
}
