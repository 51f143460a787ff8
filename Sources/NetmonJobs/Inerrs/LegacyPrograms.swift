import BPFKit

/// What the legacy variants of inerrs.drop need besides being chosen (BPFPrograms/inerrs_legacy.bpf.h).
enum LegacyPrograms {
    /// Programs of the fexit variant that load only where the kernel has their function: static
    /// functions a compiler may inline, which newer kernels also renamed (MD5: tcp_inbound_md5_hash
    /// since 5.19). Without them the variant still runs, without those reasons.
    static let optional: [(program: String, hook: Hook)] = [
        ("inerrs_note_reset_v4", .fentry(function: "tcp_v4_send_reset")),
        ("inerrs_note_reset_v6", .fentry(function: "tcp_v6_send_reset")),
        ("inerrs_check_md5_v4", .fexit(function: "tcp_v4_inbound_md5_hash")),
        ("inerrs_check_md5_v6", .fexit(function: "tcp_v6_inbound_md5_hash")),
    ]

    /// Sets the function ranges and turns off the optional programs this kernel cannot attach.
    static func prepare(_ spec: borrowing BPFObjectSpec, variant: InerrsProgram.DropVariant, probe: KernelProbe) throws {
        try spec.setConstant("inerrs_legacy_config", to: KernelCodeRanges.config())
        for (program, hook) in optional where variant == .fexit {
            try spec.setAutoload(probe.has(.hook(hook)), program: program)
        }
    }
}
