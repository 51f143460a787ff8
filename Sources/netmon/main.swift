// netmon: the executable is only the router and the list of subcommands.
import BytesCommand
import ConnCommand
import Glibc
import InerrsCommand
import NetmonCLI
import NicCommand
import ServeCommand

let router = Router(commands: [
    NicCommand.self,
    ConnCommand.self,
    BytesCommand.self,
    InerrsCommand.self,
    ServeCommand.self,
])
exit(router.run(Array(CommandLine.arguments.dropFirst())).rawValue)
