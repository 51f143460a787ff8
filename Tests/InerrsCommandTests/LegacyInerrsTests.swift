import BPFKit
import CNetmonBPF
import Foundation
import Testing
@testable import InerrsCommand
import NetmonCLI
@testable import NetmonJobs

@Suite("inerrs: kernels without drop reasons")
struct LegacyInerrsTests {
    @Test("function ranges come from /proc/kallsyms: to the next symbol, split-off parts included, unsorted input")
    func ranges() throws {
        let kallsyms = """
            ffffffff81a00200 T tcp_v4_do_rcv
            ffffffff81a00000 T tcp_v4_rcv
            ffffffff81a00900 t tcp_v4_fill_cb
            ffffffff81a00100 t tcp_v4_rcv_helper
            ffffffff81200000 t tcp_v4_rcv.cold
            ffffffff81200040 t something_else
            ffffffffc0100000 t tcp_v6_rcv\t[ipv6]
            ffffffffc0100800 t tcp_v6_early_demux\t[ipv6]
            ffffffff81a00100 d tcp_v4_do_rcv_table
            """
        let ranges = try KernelCodeRanges.ranges(kallsyms: kallsyms)
            .map { [$0.start, $0.end, UInt64($0.place)] }.sorted { $0[0] < $1[0] }
        let receive = UInt64(INERRS_LEGACY_RECEIVE.rawValue), doRcv = UInt64(INERRS_LEGACY_DO_RCV.rawValue)
        #expect(ranges == [
            [0xffffffff81200000, 0xffffffff81200040, receive],
            [0xffffffff81a00000, 0xffffffff81a00100, receive],
            [0xffffffff81a00200, 0xffffffff81a00900, doRcv],
            [0xffffffffc0100000, 0xffffffffc0100800, receive],
        ])
    }

    @Test("hidden addresses (kptr_restrict, not root) are one clear error")
    func hiddenAddresses() {
        let kallsyms = """
            0000000000000000 T tcp_v4_rcv
            0000000000000000 T tcp_v4_do_rcv
            """
        #expect(throws: JobFailure.self) { try KernelCodeRanges.ranges(kallsyms: kallsyms) }
    }

    @Test("the running kernel's functions are found (root only: others see zero addresses)",
          .enabled(if: geteuid() == 0, "requires root"))
    func runningKernel() throws {
        let config = try KernelCodeRanges.config()
        let ranges = withUnsafeBytes(of: config.ranges) { Array($0.bindMemory(to: inerrs_code_range.self)) }
        #expect(ranges.contains { $0.place == INERRS_LEGACY_RECEIVE.rawValue && $0.start < $0.end })
        #expect(ranges.contains { $0.place == INERRS_LEGACY_DO_RCV.rawValue && $0.start < $0.end })
    }

    @Test("legacy reasons: the default list holds the bad segments, --all adds NO_SOCKET and TCP_RESET; never NOT_SPECIFIED")
    func lists() {
        let reasons = DropReasons.legacy
        let all = reasons.selected(all: true).map(reasons.name(of:))
        let standard = reasons.selected(all: false).map(reasons.name(of:))
        #expect(Set(standard) == ["TCP_CSUM", "PKT_TOO_SMALL", "TCP_RFC7323_PAWS", "TCP_OLD_SEQUENCE",
                                  "TCP_INVALID_SEQUENCE", "TCP_INVALID_SYN", "TCP_TOO_OLD_ACK", "TCP_ACK_UNSENT_DATA",
                                  "TCP_MD5NOTFOUND", "TCP_MD5UNEXPECTED", "TCP_MD5FAILURE"])
        #expect(Set(all).subtracting(standard) == ["NO_SOCKET", "TCP_RESET"])
    }

    @Test("every legacy reason is named as this kernel names it",
          .enabled(if: access("/sys/kernel/btf/vmlinux", R_OK) == 0, "requires kernel BTF"))
    func namesMatchTheKernel() throws {
        let kernel = try DropReasons(enumerators: KernelBTF().enumerators(of: "skb_drop_reason"))
        // A kernel before 5.17 has nothing to compare with; CI's kernel (6.18) has every name.
        if kernel.names.isEmpty { return }
        let known = Set(kernel.names.values)
        for name in DropReasons.legacy.names.values {
            #expect(known.contains(name), "\(name) is not a reason of this kernel")
        }
    }
}
