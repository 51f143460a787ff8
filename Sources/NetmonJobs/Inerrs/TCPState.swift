/// TCP states by the kernel's numbers (include/net/tcp_states.h), as `ss` names them.
enum TCPState {
    static let names = [
        1: "ESTABLISHED", 2: "SYN_SENT", 3: "SYN_RECV", 4: "FIN_WAIT1", 5: "FIN_WAIT2",
        6: "TIME_WAIT", 7: "CLOSE", 8: "CLOSE_WAIT", 9: "LAST_ACK", 10: "LISTEN", 11: "CLOSING",
        // A request socket (the kernel's mini-socket for a connection in its handshake) is in
        // TCP_NEW_SYN_RECV: to the user that is SYN_RECV.
        12: "SYN_RECV", 13: "BOUND_INACTIVE",
    ]

    /// The state's name; "-" for 0 (no socket found); the number for one netmon does not know.
    static func name(_ state: UInt8) -> String {
        state == 0 ? "-" : names[Int(state)] ?? String(state)
    }
}
