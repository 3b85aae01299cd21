//! The `mixbench` command; see `mixbench --help` and the README.

fn main() -> std::process::ExitCode {
    mixbench::cli::main()
}
