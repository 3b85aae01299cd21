//! The `mixbench` command; see `mixbench --help` and `docs/cli.md`.

fn main() -> std::process::ExitCode {
    // Output piped into a reader that stops early (`mixbench compare ... | head`) ends the
    // process quietly, as it does for other Unix tools, instead of panicking on the write.
    // SAFETY: restoring a signal's default disposition at start-up, before any thread exists.
    unsafe { libc::signal(libc::SIGPIPE, libc::SIG_DFL) };
    mixbench::cli::main()
}
