import BPFKit
import Glibc
import NetmonCLI
import NetmonJobs

/// `netmon_build_info` and the process_* families every Prometheus client library exposes, from
/// /proc/self.
enum ProcessMetrics {
    static func collect() -> [MetricFamily] {
        var families = [
            MetricFamily("netmon_build", .info, help: "netmon's version", samples: [Sample([Label("version", Router.version)], UInt64(1))]),
        ]
        guard let stat = KernelFile.read("/proc/self/stat"), let close = stat.lastIndex(of: ")") else { return families }
        // Fields after the command name, which may contain spaces: field 3 (state) is index 0.
        let fields = stat[stat.index(after: close)...].split(separator: " ")
        func field(_ number: Int) -> Double {
            guard fields.count > number - 3 else { return 0 }
            return Double(fields[number - 3]) ?? 0
        }
        let ticks = Double(sysconf(Int32(_SC_CLK_TCK)))
        let pageSize = Double(sysconf(Int32(_SC_PAGESIZE)))
        let bootTime = KernelFile.read("/proc/stat")?.split(separator: "\n").first { $0.hasPrefix("btime ") }
            .flatMap { Double($0.dropFirst(6)) } ?? 0
        var limit = rlimit()
        getrlimit(__rlimit_resource_t(RLIMIT_NOFILE.rawValue), &limit)
        let cpu: Double = (field(14) + field(15)) / ticks
        let resident: Double = field(24) * pageSize
        let start: Double = bootTime + field(22) / ticks
        let openFDs = Double(KernelFile.list("/proc/self/fd").count)
        families.append(MetricFamily("process_cpu_seconds", .counter, help: "Total user and system CPU time spent in seconds.",
                                     samples: [Sample([], cpu)]))
        families.append(MetricFamily("process_resident_memory_bytes", .gauge, help: "Resident memory size in bytes.",
                                     samples: [Sample([], resident)]))
        families.append(MetricFamily("process_virtual_memory_bytes", .gauge, help: "Virtual memory size in bytes.",
                                     samples: [Sample([], field(23))]))
        families.append(MetricFamily("process_start_time_seconds", .gauge,
                                     help: "Start time of the process since unix epoch in seconds.", samples: [Sample([], start)]))
        families.append(MetricFamily("process_open_fds", .gauge, help: "Number of open file descriptors.",
                                     samples: [Sample([], openFDs)]))
        families.append(MetricFamily("process_max_fds", .gauge, help: "Maximum number of open file descriptors.",
                                     samples: [Sample([], Double(limit.rlim_cur))]))
        return families
    }
}
