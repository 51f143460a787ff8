import Testing
@testable import ServeCommand
