import Testing

/// Runs each test of the suites that carry it one at a time, across those suites: for tests that
/// load conn's programs and check which conn programs are loaded (or that none stayed loaded),
/// which another suite's `netmon conn` running at the same moment would fail. `.serialized` orders
/// only the tests of one suite; Swift Testing runs suites in parallel.
struct ConnExclusive: SuiteTrait, TestTrait, TestScoping {
    var isRecursive: Bool { true }

    func provideScope(for test: Test, testCase: Test.Case?,
                      performing function: @Sendable () async throws -> Void) async throws {
        // A suite's own scope (no test case) is not held: its tests each take the turn themselves.
        guard testCase != nil else { return try await function() }
        await ConnExclusive.turn.acquire()
        do {
            try await function()
        } catch {
            await ConnExclusive.turn.release()
            throw error
        }
        await ConnExclusive.turn.release()
    }

    private static let turn = Turn()

    /// One holder at a time; waiters resume in arrival order. Async, so that a waiting test does not
    /// occupy one of the few threads of Swift's cooperative pool.
    private actor Turn {
        private var held = false
        private var waiting: [CheckedContinuation<Void, Never>] = []

        func acquire() async {
            if !held {
                held = true
                return
            }
            await withCheckedContinuation { waiting.append($0) }
        }

        func release() {
            if waiting.isEmpty {
                held = false
            } else {
                waiting.removeFirst().resume()
            }
        }
    }
}

extension Trait where Self == ConnExclusive {
    /// See `ConnExclusive`.
    static var connExclusive: Self { ConnExclusive() }
}
