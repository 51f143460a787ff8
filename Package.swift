// swift-tools-version: 6.0
// netmon: one Swift binary that watches the Linux network subsystem through eBPF.
import PackageDescription

/// Every subcommand module stands on the same libraries: the jobs and the CLI's.
let commandDependencies: [Target.Dependency] = ["BPFKit", "CNetmonBPF", "NetmonJobs", "NetmonCLI"]

let package = Package(
    name: "netmon",
    platforms: [.macOS(.v14)],  // Linux-only in practice; this only quiets manifest checks elsewhere.
    products: [
        .executable(name: "netmon", targets: ["netmon"]),
    ],
    targets: [
        // The executable: @main and the argument router, nothing else.
        .executableTarget(
            name: "netmon",
            dependencies: ["NetmonCLI", "NicCommand", "ConnCommand", "BytesCommand", "InerrsCommand", "ServeCommand"]
        ),

        // One module per subcommand.
        .target(name: "NicCommand", dependencies: commandDependencies),
        .target(name: "ConnCommand", dependencies: commandDependencies),
        .target(name: "BytesCommand", dependencies: commandDependencies),
        .target(name: "InerrsCommand", dependencies: commandDependencies),
        // serve runs the others' programs as Prometheus counters.
        .target(name: "ServeCommand", dependencies: commandDependencies + ["HTTPResponder", "WebConfig"]),

        // A minimal, strict HTTP/1.1 GET responder (no swift-nio here), over TCP or TLS (OpenSSL).
        .target(name: "HTTPResponder", dependencies: ["CTLS"]),

        // The exporter-toolkit web config file (--web.config.file): TLS settings, bcrypt basic-auth
        // users, extra response headers.
        .target(name: "WebConfig", dependencies: ["HTTPResponder", "CYAML", "CCrypt"]),

        // C shims over Debian's shared libraries (each a runtime Depends of the .deb): OpenSSL's
        // libssl for TLS, libyaml for the web config file, libxcrypt's crypt_r for bcrypt.
        .target(name: "CTLS", linkerSettings: [.linkedLibrary("ssl"), .linkedLibrary("crypto")]),
        .target(name: "CYAML", linkerSettings: [.linkedLibrary("yaml")]),
        .target(name: "CCrypt", linkerSettings: [.linkedLibrary("crypt")]),

        // What every subcommand shares: option parsing, output writers, the run loop, exit codes.
        .target(name: "NetmonCLI", dependencies: ["BPFKit", "CNetmonBPF", "CLinux", "NetmonJobs"]),

        // The jobs (nic, conn, bytes, inerrs), one shape each, which the commands and serve both
        // use: load through a variant chooser, typed readers, one decoder. Knows nothing of the CLI.
        .target(name: "NetmonJobs", dependencies: ["BPFKit", "CNetmonBPF"]),

        // Linux headers Swift's Glibc module leaves out (signalfd).
        .target(name: "CLinux"),

        // A generic libbpf wrapper that knows nothing of netmon.
        .target(name: "BPFKit", dependencies: ["CBPFKit"]),

        // The C shim over libbpf: what Swift cannot import (macros, va_list callbacks, opts structs).
        // libbpf is linked statically so that the binary needs only libelf and zlib at run time.
        .target(
            name: "CBPFKit",
            linkerSettings: [.linkedLibrary(":libbpf.a"), .linkedLibrary("elf"), .linkedLibrary("z")]
        ),

        // The headers shared by the BPF programs and Swift, and the embedded BPF objects.
        // `generated/` is written by Scripts/embed-bpf, which Scripts/build and Scripts/test run first.
        .target(name: "CNetmonBPF", exclude: ["generated"]),

        .testTarget(name: "NetmonCLITests", dependencies: ["NetmonCLI", "NetmonJobs"]),
        .testTarget(name: "BPFKitTests", dependencies: ["BPFKit", "CNetmonBPF"]),
        .testTarget(name: "NicCommandTests", dependencies: ["NicCommand", "NetmonJobs", "NetmonCLI"]),
        .testTarget(name: "ConnCommandTests", dependencies: ["ConnCommand", "NetmonJobs", "NetmonCLI"]),
        .testTarget(name: "BytesCommandTests", dependencies: ["BytesCommand", "NetmonJobs", "NetmonCLI"]),
        .testTarget(name: "InerrsCommandTests", dependencies: ["InerrsCommand", "NetmonJobs", "NetmonCLI"]),
        .testTarget(name: "ServeCommandTests", dependencies: ["ServeCommand", "NetmonJobs", "NetmonCLI"]),
        .testTarget(name: "HTTPResponderTests", dependencies: ["HTTPResponder"]),
        .testTarget(name: "WebConfigTests", dependencies: ["WebConfig", "HTTPResponder"]),
        // InerrsPeer.py is run from its place in the tree, not bundled as a resource.
        .testTarget(name: "IntegrationTests", dependencies: ["netmon"], exclude: ["InerrsPeer.py"]),
    ]
)
