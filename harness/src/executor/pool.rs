//! Working through a list of units with one or more local workers, cooperating through claims
//! ([`super::claim`]) with any other `mixbench` process working on the same run folder.
//!
//! Each worker takes the next unit; a finished one is skipped, one claimed by a live process
//! elsewhere is deferred, and the worker claims, prepares and runs the others. Once the list is
//! through, deferred units are watched until they finish elsewhere, fail there, or their claim
//! turns stale (then they are taken over and run here). A unit that measures time
//! ([`Unit::runs_alone`]) waits until no other unit of the pool runs, and nothing starts beside
//! it. A stop request ends the pool after the running units have saved their checkpoints.

use std::collections::VecDeque;
use std::path::PathBuf;
use std::sync::Mutex;
use std::time::{Duration, SystemTime};

use anyhow::{Context, Result};

use super::claim::{self, Attempt, Claimant};
use super::unit::{execute_with, prepare, Task, Unit};
use crate::cell::Isolation;
use crate::interrupt;

/// How often deferred units (claimed elsewhere) are looked at again.
const POLL: Duration = Duration::from_secs(2);

/// What happened to the units of a run.
#[derive(Debug, Default)]
pub struct RunOutcome {
    /// The run folder.
    pub run_dir: PathBuf,
    /// Cells trained in this invocation.
    pub trained: Vec<String>,
    /// Cells skipped because they had finished before.
    pub skipped: Vec<String>,
    /// Units that failed, by label (`<cell>` or `<cell> (<kind>)`), with their error.
    pub failed: Vec<(String, String)>,
    /// Evaluations run in this invocation, as `<cell> (<kind>)`.
    pub evaluated: Vec<String>,
    /// Units finished meanwhile by another process working on the same run folder.
    pub elsewhere: Vec<String>,
}

/// The local workers of a run.
#[derive(Clone, Debug)]
pub struct Workers {
    /// Each unit in a child process, or all in this one (then only one worker).
    pub isolation: Isolation,
    /// Units run at once (each in its own child process).
    pub jobs: usize,
    /// GPU indices handed out to workers in turn (`CUDA_VISIBLE_DEVICES` of their children);
    /// empty: no pinning.
    pub devices: Vec<String>,
}

impl Default for Workers {
    fn default() -> Self {
        Workers {
            isolation: Isolation::Process,
            jobs: 1,
            devices: Vec::new(),
        }
    }
}

impl Workers {
    /// The environment of worker `index`'s child processes: its GPU when devices are given,
    /// else (several workers on the CPU) its share of the cores as `MIXBENCH_THREADS`, which
    /// applies to cells whose recipe does not set `training.threads`.
    fn env_of(&self, index: usize) -> Vec<(String, String)> {
        if !self.devices.is_empty() {
            let device = &self.devices[index % self.devices.len()];
            return vec![("CUDA_VISIBLE_DEVICES".into(), device.clone())];
        }
        if self.jobs > 1 {
            let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
            let share = (cores / self.jobs).max(1);
            return vec![(crate::cell::THREADS_ENV.into(), share.to_string())];
        }
        Vec::new()
    }
}

/// The shared state of a pool.
struct Pool<'a> {
    units: &'a [(Unit, String)],
    queue: VecDeque<usize>,
    deferred: VecDeque<usize>,
    /// Workers now looking at a deferred unit (the pool is through when none is and both
    /// queues are empty).
    watching: usize,
    /// Units being looked at or run by workers now.
    running: usize,
    /// Whether one of them must have the machine to itself ([`Unit::runs_alone`]).
    alone: bool,
    outcome: RunOutcome,
    stop: Option<anyhow::Error>,
}

/// What a worker does next.
enum Next {
    Fresh(usize),
    Deferred(usize),
    Wait,
    Done,
}

impl<'a> Pool<'a> {
    /// A pool with every unit of `units` queued, in order.
    fn new(units: &'a [(Unit, String)], outcome: RunOutcome) -> Self {
        Pool {
            units,
            queue: (0..units.len()).collect(),
            deferred: VecDeque::new(),
            watching: 0,
            running: 0,
            alone: false,
            outcome,
            stop: None,
        }
    }

    /// The unit a worker takes next, in queue order, except that a unit that runs alone waits
    /// until no other unit runs, and nothing starts beside it.
    fn next(&mut self) -> Next {
        if self.stop.is_some()
            || (self.queue.is_empty() && self.deferred.is_empty() && self.watching == 0)
        {
            return Next::Done;
        }
        if self.alone {
            return Next::Wait;
        }
        let units = self.units;
        let idle = self.running == 0;
        // A finished unit is only skipped: it need not wait for the machine.
        let may_start = |i: &usize| {
            let (unit, settings) = &units[*i];
            idle || !unit.runs_alone() || unit.is_finished(settings)
        };
        let (index, next) = if let Some(i) = take_first(&mut self.queue, may_start) {
            (i, Next::Fresh(i))
        } else if let Some(i) = take_first(&mut self.deferred, may_start) {
            self.watching += 1;
            (i, Next::Deferred(i))
        } else {
            return Next::Wait;
        };
        self.running += 1;
        self.alone = idle && units[index].0.runs_alone();
        next
    }

    /// Records that a worker let go of the unit [`Pool::next`] gave it.
    fn release(&mut self, deferred: bool) {
        self.running -= 1;
        if deferred {
            self.watching -= 1;
        }
        // A unit that runs alone is the only one running: its release leaves none.
        self.alone &= self.running > 0;
    }
}

/// Removes and returns the first index in `queue` that `ok` accepts.
fn take_first(queue: &mut VecDeque<usize>, ok: impl Fn(&usize) -> bool) -> Option<usize> {
    let position = queue.iter().position(ok)?;
    queue.remove(position)
}

/// What became of one look at a unit.
enum Look {
    /// Done here, skipped as finished, failed: recorded.
    Settled,
    /// Claimed by a live process elsewhere.
    HeldElsewhere(Option<Claimant>),
}

/// Runs every unfinished unit of `units` (each with its settings text) with `workers`, and
/// records what happened in `outcome`. A failing unit never stops the others; a stop request
/// does: running units save their checkpoints, and an [`interrupt::Interrupted`] error comes
/// back.
pub fn run_units(
    units: &[(Unit, String)],
    workers: &Workers,
    outcome: &mut RunOutcome,
) -> Result<()> {
    let jobs = match workers.isolation {
        Isolation::Inline => 1,
        Isolation::Process => workers.jobs.max(1),
    };
    let pool = Mutex::new(Pool::new(units, std::mem::take(outcome)));
    let started = SystemTime::now();
    std::thread::scope(|scope| {
        for worker in 0..jobs {
            let pool = &pool;
            let env = workers.env_of(worker);
            scope.spawn(move || work(pool, workers.isolation, &env, started));
        }
    });
    let pool = pool.into_inner().unwrap_or_else(|p| p.into_inner());
    *outcome = pool.outcome;
    match pool.stop {
        Some(err) => Err(err),
        None => Ok(()),
    }
}

/// One worker's loop.
fn work(pool: &Mutex<Pool>, isolation: Isolation, env: &[(String, String)], started: SystemTime) {
    let lock = || pool.lock().unwrap_or_else(|p| p.into_inner());
    loop {
        if interrupt::requested() {
            let mut p = lock();
            if p.stop.is_none() {
                p.stop = Some(
                    interrupt::Interrupted {
                        what: "the run".into(),
                        at: "between units".into(),
                    }
                    .into(),
                );
            }
            return;
        }
        let (next, units, total) = {
            let mut p = lock();
            (p.next(), p.units, p.units.len())
        };
        let (index, deferred) = match next {
            Next::Done => return,
            Next::Wait => {
                std::thread::sleep(POLL);
                continue;
            }
            Next::Fresh(i) => (i, false),
            Next::Deferred(i) => (i, true),
        };
        let (unit, settings) = &units[index];
        let counter = format!("[{}/{total}]", index + 1);
        let look = look_at(unit, settings, &counter, isolation, env, pool, started);
        let mut p = lock();
        p.release(deferred);
        match look {
            Ok(Look::Settled) => {}
            Ok(Look::HeldElsewhere(claimant)) => {
                if !deferred {
                    let by = claimant.map_or("another process".into(), |c| c.describe());
                    eprintln!(
                        "{counter} {}: running in {by}; waiting for it",
                        unit.label()
                    );
                } else {
                    drop(p);
                    std::thread::sleep(POLL);
                    p = lock();
                }
                p.deferred.push_back(index);
            }
            Err(err) if interrupt::is_interrupted(&err) => {
                if p.stop.is_none() {
                    p.stop = Some(err);
                }
            }
            Err(err) => {
                let message = format!("{err:#}");
                eprintln!("[{}] FAILED: {message}", unit.label());
                p.outcome.failed.push((unit.label(), message));
            }
        }
    }
}

/// Looks at one unit: skips it when finished, defers it when claimed elsewhere, else claims,
/// prepares and runs it, recording the result in the pool's outcome. A unit that failed in
/// another process since `started` (the pool's start) is not run again here.
fn look_at(
    unit: &Unit,
    settings: &str,
    counter: &str,
    isolation: Isolation,
    env: &[(String, String)],
    pool: &Mutex<Pool>,
    started: SystemTime,
) -> Result<Look> {
    let label = unit.label();
    if unit.is_finished(settings) {
        eprintln!("{counter} {label}: finished before, skipped");
        if let Task::Train = unit.task {
            record(pool, |o| o.skipped.push(label.clone()));
        }
        return Ok(Look::Settled);
    }
    std::fs::create_dir_all(&unit.dir)
        .with_context(|| format!("creating {}", unit.dir.display()))?;
    let claim = match claim::try_claim(&unit.claim_file())? {
        Attempt::Claimed(claim) => claim,
        Attempt::Held(claimant) => return Ok(Look::HeldElsewhere(claimant)),
    };
    // Settled by its previous claimant between our look and our claim.
    if unit.is_finished(settings) {
        eprintln!("{counter} {label}: finished elsewhere");
        record(pool, |o| o.elsewhere.push(label.clone()));
        return Ok(Look::Settled);
    }
    let failed_since_start = std::fs::metadata(unit.failed_file())
        .and_then(|m| m.modified())
        .is_ok_and(|at| at >= started);
    if failed_since_start {
        let reason = std::fs::read_to_string(unit.failed_file()).unwrap_or_default();
        anyhow::bail!("failed in another process: {}", reason.trim());
    }
    prepare(unit, settings)?;
    unit.log_attempt()?;
    eprintln!("{counter} {label}");
    let result = execute_with(unit, isolation, env);
    drop(claim);
    result?;
    record(pool, |o| match unit.task {
        Task::Train => o.trained.push(label),
        Task::Evaluate(_) => o.evaluated.push(label),
    });
    Ok(Look::Settled)
}

/// Records something in the pool's outcome.
fn record(pool: &Mutex<Pool>, f: impl FnOnce(&mut RunOutcome)) {
    f(&mut pool.lock().unwrap_or_else(|p| p.into_inner()).outcome);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::evaluations::{registry, EvaluationKind};
    use crate::records;

    /// A registered evaluation by name.
    fn kind(name: &str) -> &'static dyn EvaluationKind {
        registry()
            .iter()
            .copied()
            .find(|k| k.name() == name)
            .unwrap()
    }

    /// With two workers, timed units wait for the others and run one at a time, nothing beside
    /// them; the order of the others is the queue's.
    #[test]
    fn units_that_run_alone_wait_for_the_others_and_block_them() {
        let dir = |c: &str| PathBuf::from("run/cells").join(c);
        let units: Vec<(Unit, String)> = [
            Unit::evaluate(&dir("a"), kind("robustness")),
            Unit::evaluate(&dir("a"), kind("runtime")),
            Unit::evaluate(&dir("b"), kind("runtime")),
            Unit::evaluate(&dir("b"), kind("robustness")),
            Unit::evaluate(&dir("c"), kind("robustness")),
        ]
        .into_iter()
        .map(|u| (u, String::new()))
        .collect();
        let mut pool = Pool::new(&units, RunOutcome::default());
        let fresh = |next: Next| match next {
            Next::Fresh(i) => Some(i),
            _ => None,
        };
        // Two workers start: the first robustness unit, then (runtime skipped) the next.
        assert_eq!(fresh(pool.next()), Some(0));
        assert_eq!(fresh(pool.next()), Some(3));
        pool.release(false);
        assert_eq!(fresh(pool.next()), Some(4));
        pool.release(false);
        // Only timed units are left and unit 4 still runs: wait.
        assert!(matches!(pool.next(), Next::Wait));
        pool.release(false);
        // The machine is free: one timed unit, and nothing beside it.
        assert_eq!(fresh(pool.next()), Some(1));
        assert!(matches!(pool.next(), Next::Wait));
        pool.release(false);
        assert_eq!(fresh(pool.next()), Some(2));
        assert!(matches!(pool.next(), Next::Done));
        pool.release(false);
        assert!(matches!(pool.next(), Next::Done));
        assert_eq!((pool.running, pool.alone), (0, false));
    }

    /// A timed unit that finished before is only skipped, so it does not wait for the others.
    #[test]
    fn a_finished_timed_unit_does_not_wait() {
        let tmp = tempfile::tempdir().unwrap();
        let cell = tmp.path().join("cells").join("a");
        std::fs::create_dir_all(&cell).unwrap();
        let settings = "steps: 3\n".to_string();
        let runtime = Unit::evaluate(&cell, kind("runtime"));
        std::fs::write(runtime.done_file(), records::short_hash(&settings)).unwrap();
        let units = vec![
            (Unit::evaluate(&cell, kind("robustness")), String::new()),
            (runtime, settings),
        ];
        let mut pool = Pool::new(&units, RunOutcome::default());
        assert!(matches!(pool.next(), Next::Fresh(0)));
        assert!(matches!(pool.next(), Next::Fresh(1)));
        assert!(!pool.alone);
    }
}
