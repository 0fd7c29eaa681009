//! The `desksync` binary: parses the command line and runs it (see `cli.rs`), which prints any
//! error with its whole cause chain in the chosen log format.

mod cli;

fn main() -> std::process::ExitCode {
    cli::main()
}
