//! Stopping a run on request: SIGTERM (how Slurm preempts or requeues a task, and how `kill`
//! stops a process) and SIGINT (Ctrl-C) ask the running cell to save a checkpoint at its next
//! step boundary and exit with [`RESUMABLE_EXIT`]; a second signal, half a second or more after
//! the first, exits at once (killing the child processes this process registered with
//! [`track_child`]). Signals within half a second of the first count as one: a job's shell and Slurm
//! often deliver the same stop twice, which must not throw the checkpoint away.
//!
//! [`install`] registers the handlers once per process; training polls [`requested`] between
//! steps, and a cell stopped that way fails with [`Interrupted`], which the command line maps to
//! the resumable exit status. A parent process forwards the first signal to its children, which
//! run in their own process groups so that a terminal's Ctrl-C reaches each process once.

use std::sync::atomic::{AtomicI32, AtomicU64, AtomicUsize, Ordering};
use std::sync::OnceLock;

use anyhow::{Context, Result};

/// Exit status of a process stopped by a signal after saving what it needs to carry on
/// (`EX_TEMPFAIL`: "try again"): rerunning the same command resumes.
pub const RESUMABLE_EXIT: u8 = 75;

/// A cell or run stopped on request after saving a checkpoint; rerunning resumes it.
#[derive(Debug, thiserror::Error)]
#[error("{what} stopped on request ({at}); rerun the same command to resume")]
pub struct Interrupted {
    /// What stopped (a cell, a run).
    pub what: String,
    /// Where it stopped (epoch and step), and what was saved.
    pub at: String,
}

/// Signals received so far.
static SIGNALS: AtomicUsize = AtomicUsize::new(0);

/// When the first signal arrived (monotonic milliseconds; 0: none yet).
static FIRST_SIGNAL_MS: AtomicU64 = AtomicU64::new(0);

/// Signals within this many milliseconds of the first are the same request.
const SAME_REQUEST_MS: u64 = 500;

/// Child processes to kill on a second signal (0: a free slot).
static CHILDREN: [AtomicI32; 64] = [const { AtomicI32::new(0) }; 64];

/// Registers the SIGTERM and SIGINT handlers (once per process; later calls do nothing): the
/// first signal sets what [`requested`] reads; a later one (half a second or more after it) kills
/// the tracked children and exits at once with the conventional status 128 + signal number.
pub fn install() -> Result<()> {
    static INSTALLED: OnceLock<()> = OnceLock::new();
    if INSTALLED.get().is_some() {
        return Ok(());
    }
    use signal_hook::consts::{SIGINT, SIGTERM};
    for signal in [SIGTERM, SIGINT] {
        let action = move || {
            let now = monotonic_ms();
            let first = FIRST_SIGNAL_MS.load(Ordering::SeqCst);
            if first == 0 {
                FIRST_SIGNAL_MS.store(now.max(1), Ordering::SeqCst);
            }
            // The same stop delivered twice at once (by a job's shell and by Slurm, say) is
            // one request.
            let repeated = first != 0 && now.saturating_sub(first) >= SAME_REQUEST_MS;
            SIGNALS.fetch_add(1, Ordering::SeqCst);
            if repeated {
                for child in &CHILDREN {
                    let pid = child.load(Ordering::SeqCst);
                    if pid > 0 {
                        // SAFETY: kill(2) is async-signal-safe.
                        unsafe { libc::kill(pid, libc::SIGKILL) };
                    }
                }
                signal_hook::low_level::exit(128 + signal);
            }
        };
        // SAFETY: the action only touches atomics and calls clock_gettime(2), kill(2) and
        // _exit(2), all async-signal-safe.
        unsafe { signal_hook::low_level::register(signal, action) }
            .with_context(|| format!("installing the handler of signal {signal}"))?;
    }
    let _ = INSTALLED.set(());
    Ok(())
}

/// Milliseconds on the monotonic clock (`clock_gettime`, async-signal-safe).
fn monotonic_ms() -> u64 {
    let mut now = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: clock_gettime(2) writes the timespec it is given and is async-signal-safe.
    unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut now) };
    now.tv_sec as u64 * 1000 + now.tv_nsec as u64 / 1_000_000
}

/// Whether a stop was requested (a signal arrived).
pub fn requested() -> bool {
    SIGNALS.load(Ordering::SeqCst) > 0
}

/// A child process killed with this process on a second signal, for as long as the guard
/// lives. Returns `None` when all slots are taken (the child then only gets the forwarded
/// first signal).
pub fn track_child(pid: u32) -> Option<TrackedChild> {
    let pid = i32::try_from(pid).ok()?;
    CHILDREN.iter().enumerate().find_map(|(slot, child)| {
        child
            .compare_exchange(0, pid, Ordering::SeqCst, Ordering::SeqCst)
            .ok()
            .map(|_| TrackedChild { slot })
    })
}

/// A slot of a tracked child process, freed when dropped.
pub struct TrackedChild {
    slot: usize,
}

impl Drop for TrackedChild {
    fn drop(&mut self) {
        CHILDREN[self.slot].store(0, Ordering::SeqCst);
    }
}

/// Whether `err` is (or wraps) an [`Interrupted`] stop.
pub fn is_interrupted(err: &anyhow::Error) -> bool {
    err.chain().any(|cause| cause.is::<Interrupted>())
}
