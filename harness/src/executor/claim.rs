//! Claims: which process runs a unit, so that any number of `mixbench` processes on any number
//! of machines sharing a run folder work through one grid without running a unit twice.
//!
//! A claim is a file beside the unit's markers (`claim` for training, `<kind>.claim` for an
//! evaluation), created with `O_EXCL` (`create_new`) and holding the claimant's host, pid, the
//! pid's start time (so a recycled pid is not mistaken for it), its start and, under Slurm, its
//! job. It is removed when the unit ends. A claim is **stale** when its process is gone: a pid on
//! this host that no longer runs (or runs another program), or a Slurm task that is this very
//! task in an earlier run (a requeued task). Stale claims are taken over under a short-lived
//! takeover lock, so two processes never both take one over.
//!
//! Every claimed start is appended to the run's `attempts.log` (one JSON line per attempt),
//! the trail `mixbench status` and the tests read.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};

/// File name of the attempts log in a run folder.
pub const ATTEMPTS_LOG: &str = "attempts.log";

/// A takeover lock older than this is left over by a process that died while taking over.
const TAKEOVER_TIMEOUT: Duration = Duration::from_secs(60);
/// A claim file still empty after this long was left by a process that died while writing it.
const EMPTY_CLAIM_TIMEOUT: Duration = Duration::from_secs(30);

/// Who holds a claim.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claimant {
    /// Host name.
    pub host: String,
    /// Process id on that host.
    pub pid: u32,
    /// The process's start time in clock ticks after boot (`/proc/<pid>/stat`), 0 if unknown.
    pub pid_start: u64,
    /// When the claim was made, seconds since the Unix epoch.
    pub started: u64,
    /// The Slurm task (`<job>_<array task>` or `<job>`), when run by Slurm.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub slurm_job: Option<String>,
}

impl Claimant {
    /// This process.
    pub fn current() -> Self {
        let pid = std::process::id();
        Claimant {
            host: hostname(),
            pid,
            pid_start: process_start(pid).unwrap_or(0),
            started: SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map_or(0, |d| d.as_secs()),
            slurm_job: slurm_task(),
        }
    }

    /// Whether the claimant is known to be gone: its pid on this host no longer runs the
    /// process that claimed, or it is this Slurm task in an earlier run (requeued). A claimant
    /// on another host outside Slurm is never judged stale from here.
    pub fn is_stale(&self) -> bool {
        if let (Some(theirs), Some(ours)) = (&self.slurm_job, slurm_task()) {
            if *theirs == ours && self.pid != std::process::id() {
                return true;
            }
        }
        self.host == hostname() && !self.is_alive_here()
    }

    /// Whether the claimant runs on this host as the process that claimed.
    fn is_alive_here(&self) -> bool {
        match process_start(self.pid) {
            None => false,
            Some(start) => self.pid_start == 0 || start == self.pid_start,
        }
    }

    /// `host pid N` plus the Slurm task when there is one.
    pub fn describe(&self) -> String {
        match &self.slurm_job {
            Some(job) => format!("Slurm task {job} on {} (pid {})", self.host, self.pid),
            None => format!("{} pid {}", self.host, self.pid),
        }
    }
}

/// A claim held by this process; released (its file removed) when dropped.
#[derive(Debug)]
pub struct Claim {
    path: PathBuf,
}

impl Drop for Claim {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

/// What trying to claim a unit gave.
#[derive(Debug)]
pub enum Attempt {
    /// The unit is ours until the claim is dropped.
    Claimed(Claim),
    /// Another live process holds it (or is taking it over).
    Held(Option<Claimant>),
}

/// Tries to claim the unit whose claim file is `path`: creates it, or takes over a stale
/// claim.
pub fn try_claim(path: &Path) -> Result<Attempt> {
    if let Some(claim) = create(path)? {
        return Ok(Attempt::Claimed(claim));
    }
    let seen = read(path);
    let stale = match &seen {
        Some(Some(claimant)) => claimant.is_stale(),
        // Empty or unreadable: being written now, or left by a process that died writing it.
        Some(None) => age(path).is_some_and(|a| a > EMPTY_CLAIM_TIMEOUT),
        // Released in the meantime: try again.
        None => return Ok(create(path)?.map_or(Attempt::Held(None), Attempt::Claimed)),
    };
    if !stale {
        return Ok(Attempt::Held(seen.flatten()));
    }
    take_over(path, seen.flatten())
}

/// Replaces the stale claim at `path` (as `seen`) with ours, under the takeover lock
/// `<claim>.takeover`.
fn take_over(path: &Path, seen: Option<Claimant>) -> Result<Attempt> {
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(".takeover");
    let lock_path = path.with_file_name(name);
    if age(&lock_path).is_some_and(|a| a > TAKEOVER_TIMEOUT) {
        let _ = std::fs::remove_file(&lock_path);
    }
    let Some(lock) = create(&lock_path)? else {
        return Ok(Attempt::Held(seen));
    };
    // Under the lock: the claim is still the stale one we saw (not released and re-claimed
    // by a live process in the meantime)?
    let now = read(path);
    if now.is_some() && now.flatten() == seen {
        std::fs::remove_file(path).with_context(|| format!("removing {}", path.display()))?;
    }
    let attempt = create(path)?.map_or(Attempt::Held(None), Attempt::Claimed);
    drop(lock);
    Ok(attempt)
}

/// Creates the claim file at `path` holding this process, or `None` when it exists.
fn create(path: &Path) -> Result<Option<Claim>> {
    let mut file = match std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(path)
    {
        Ok(file) => file,
        Err(err) if err.kind() == std::io::ErrorKind::AlreadyExists => return Ok(None),
        Err(err) => return Err(err).with_context(|| format!("creating {}", path.display())),
    };
    let claim = Claim {
        path: path.to_path_buf(),
    };
    let json = serde_json::to_vec(&Claimant::current())?;
    file.write_all(&json)
        .and_then(|()| file.sync_all())
        .with_context(|| format!("writing {}", path.display()))?;
    Ok(Some(claim))
}

/// The claimant in the claim file at `path`: `None` when there is no file, `Some(None)` when
/// it cannot be read as a claim (empty: being written).
pub fn read(path: &Path) -> Option<Option<Claimant>> {
    let bytes = std::fs::read(path).ok()?;
    Some(serde_json::from_slice(&bytes).ok())
}

/// Time since `path` was last modified.
fn age(path: &Path) -> Option<Duration> {
    let modified = std::fs::metadata(path).ok()?.modified().ok()?;
    SystemTime::now().duration_since(modified).ok()
}

/// One line of the attempts log: a unit started by a claimant.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AttemptRecord {
    /// The unit, as `<cell>` or `<cell> (<kind>)`.
    pub unit: String,
    /// Who ran it.
    #[serde(flatten)]
    pub claimant: Claimant,
}

/// Appends `record` to `RUN_DIR/attempts.log` (one short line, appended with `O_APPEND`, so
/// concurrent writers never interleave within a line).
pub fn log_attempt(run_dir: &Path, record: &AttemptRecord) -> Result<()> {
    let path = run_dir.join(ATTEMPTS_LOG);
    let mut line = serde_json::to_vec(record)?;
    line.push(b'\n');
    std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&path)
        .and_then(|mut f| f.write_all(&line))
        .with_context(|| format!("appending to {}", path.display()))
}

/// Every record of `RUN_DIR/attempts.log` (none when there is no log).
pub fn read_attempts(run_dir: &Path) -> Result<Vec<AttemptRecord>> {
    let path = run_dir.join(ATTEMPTS_LOG);
    let Ok(text) = std::fs::read_to_string(&path) else {
        return Ok(Vec::new());
    };
    text.lines()
        .enumerate()
        .map(|(i, line)| {
            serde_json::from_str(line)
                .with_context(|| format!("{}: line {}", path.display(), i + 1))
        })
        .collect()
}

/// This machine's host name.
pub fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_string())
        .ok()
        .filter(|h| !h.is_empty())
        .or_else(|| std::env::var("HOSTNAME").ok())
        .unwrap_or_else(|| "localhost".into())
}

/// The start time of process `pid` in clock ticks after boot (field 22 of
/// `/proc/<pid>/stat`), or `None` when no such process runs.
fn process_start(pid: u32) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name (field 2) is in parentheses and may hold spaces: count after it.
    let rest = &stat[stat.rfind(')')? + 1..];
    let zombie = rest.split_whitespace().next() == Some("Z");
    (!zombie).then(|| rest.split_whitespace().nth(19)?.parse().ok())?
}

/// This process's Slurm task, `<array job>_<array task>` for an array task, else `<job>`.
pub fn slurm_task() -> Option<String> {
    let var = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
    match (var("SLURM_ARRAY_JOB_ID"), var("SLURM_ARRAY_TASK_ID")) {
        (Some(job), Some(task)) => Some(format!("{job}_{task}")),
        _ => var("SLURM_JOB_ID"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A claim excludes a second claimant while held, is released when dropped, and a claim
    /// of a dead local process is taken over.
    #[test]
    fn claims_exclude_release_and_stale_ones_are_taken_over() {
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join("claim");
        let Attempt::Claimed(claim) = try_claim(&path).unwrap() else {
            panic!("a free unit is claimed");
        };
        let held = try_claim(&path).unwrap();
        assert!(
            matches!(&held, Attempt::Held(Some(c)) if c.pid == std::process::id()),
            "{held:?}"
        );
        drop(claim);
        assert!(!path.exists());

        // A claim left by a process that has exited: stale, taken over.
        let mut child = std::process::Command::new("true").spawn().unwrap();
        let dead = child.id();
        child.wait().unwrap();
        let stale = Claimant {
            pid: dead,
            pid_start: 1,
            ..Claimant::current()
        };
        assert!(stale.is_stale());
        std::fs::write(&path, serde_json::to_vec(&stale).unwrap()).unwrap();
        let Attempt::Claimed(_taken) = try_claim(&path).unwrap() else {
            panic!("a stale claim is taken over");
        };
        assert_eq!(
            read(&path).flatten().map(|c| c.pid),
            Some(std::process::id())
        );

        // Another host's claim is never judged stale from here.
        let remote = Claimant {
            host: "elsewhere.invalid".into(),
            pid: dead,
            ..Claimant::current()
        };
        assert!(!remote.is_stale());
    }

    /// A freshly written empty claim (being written) is held; an old empty one is taken over.
    #[test]
    fn empty_claims_are_held_until_they_are_old() {
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join("claim");
        std::fs::write(&path, b"").unwrap();
        assert!(matches!(try_claim(&path).unwrap(), Attempt::Held(None)));
        let old = SystemTime::now() - EMPTY_CLAIM_TIMEOUT - Duration::from_secs(5);
        std::fs::File::options()
            .write(true)
            .open(&path)
            .unwrap()
            .set_modified(old)
            .unwrap();
        assert!(matches!(try_claim(&path).unwrap(), Attempt::Claimed(_)));
    }

    /// Records appended to the attempts log read back in order.
    #[test]
    fn attempts_log_round_trips() {
        let tmp = tempfile::tempdir().unwrap();
        assert!(read_attempts(tmp.path()).unwrap().is_empty());
        for unit in ["a", "b (runtime)"] {
            let record = AttemptRecord {
                unit: unit.into(),
                claimant: Claimant::current(),
            };
            log_attempt(tmp.path(), &record).unwrap();
        }
        let units: Vec<String> = read_attempts(tmp.path())
            .unwrap()
            .into_iter()
            .map(|r| r.unit)
            .collect();
        assert_eq!(units, ["a", "b (runtime)"]);
    }
}
