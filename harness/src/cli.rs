//! Command-line interface. Every subcommand returns an exit code: 0 on success, 1 on an error
//! (printed with its context chain), 2 when a run finished but some cells failed, 75 when a
//! run or cell was stopped by SIGTERM/SIGINT after saving a checkpoint (rerun to resume).
//! `verify` and `compare` answer a question and use 0 (no), 1 (yes: a claim fails, something
//! regressed) and 2 (an error).

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{bail, Context, Result};
use clap::{Parser, Subcommand, ValueEnum};

use crate::cell::Isolation;
use crate::data::fetch::{self, FetchTarget};
use crate::executor::slurm::SlurmOptions;
use crate::executor::{self, Unit};
use crate::methods::registry;
use crate::suite::config::LoadedSuite;
use crate::{claims, compare, evaluations, history, interrupt, report, suite, system};

/// Benchmark and reproduction harness for mixed-sample data augmentation.
#[derive(Debug, Parser)]
#[command(name = "mixbench", version = version_string(), about)]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the built-in quickstart suite (all methods, synthetic data, small network; a few
    /// minutes on 2 CPU cores) and write its report.
    Quickstart(RunArgs),
    /// Run a suite file: a grid of dataset x model x method x seed. Finished cells are skipped.
    Run {
        /// Suite file (YAML).
        suite: PathBuf,
        #[command(flatten)]
        args: RunArgs,
    },
    /// Rebuild summary CSVs, plots and report.md of a run folder from its cells' files. Cells
    /// whose files are unreadable or inconsistent are warned about, counted as failed, and make
    /// the exit status 1.
    Report {
        /// Run folder (the one holding `cells/`).
        run_dir: PathBuf,
        /// Exit 0 even when some cell files are unreadable (they are still reported as failed).
        #[arg(long)]
        accept_corrupt: bool,
    },
    /// Check claims (a paper's, or your own) on a run: match each claim to the run's cells,
    /// test it and say whether it holds, fails or is inconclusive (and why). Writes
    /// claims.csv, charts and the report's Claims section. Exit 0: no claim fails; 1: some
    /// claim fails (or, with --strict, is inconclusive); 2: an error.
    Verify {
        /// Run folder (the one holding summary.csv).
        run_dir: PathBuf,
        /// Claims file (YAML); repeat for several. Default: the claims files the run's suite
        /// names (recorded in RUN_DIR/claims/).
        #[arg(long = "claims", value_name = "FILE")]
        claims: Vec<PathBuf>,
        /// Test claims whose protocol (epochs, seeds, method parameters) differs from the
        /// run's instead of calling them inconclusive; the difference is still reported.
        #[arg(long)]
        accept_protocol: bool,
        /// Count inconclusive claims as failures in the exit status.
        #[arg(long)]
        strict: bool,
    },
    /// Compare a run with a baseline, metric by metric (accuracies, evaluation results, times,
    /// bit-exact CPU metrics): each gets regressed, improved or unchanged (changed, missing or
    /// new) with its evidence. Writes compare.csv and compare.md. Exit 0: nothing regressed; 1:
    /// something regressed, changed bit-exactly or is missing from the run; 2: an error.
    Compare {
        /// Baseline: a run folder, or a baseline saved with `mixbench baseline`.
        baseline: PathBuf,
        /// Run folder to judge (the one holding summary.csv).
        run: PathBuf,
        /// Thresholds file (YAML; see docs/regression-and-history.md for the keys and defaults).
        #[arg(long, value_name = "FILE")]
        thresholds: Option<PathBuf>,
        /// Folder for compare.csv and compare.md (default: RUN/compare).
        #[arg(long, value_name = "DIR")]
        out: Option<PathBuf>,
    },
    /// Save what `mixbench compare` reads of a run (run-level CSV files, suite.yaml, each
    /// cell's cell.json, metrics.csv and runtime.csv) into a new folder, to compare later runs
    /// against.
    Baseline {
        /// Run folder.
        run_dir: PathBuf,
        /// Folder to create (it must not exist, or be empty).
        dest: PathBuf,
    },
    /// Show where each cell and evaluation of a run folder stands: done, running (with its
    /// host and pid, or Slurm task), stale (claimed by a process that is gone), failed or
    /// pending, with training progress.
    Status {
        /// Run folder (the one holding `cells/`).
        run_dir: PathBuf,
    },
    /// Keep runs in an SQLite history database and find where a metric moved: store a run
    /// folder, list the runs, export a metric's series, detect its steps.
    History {
        #[command(subcommand)]
        command: history::HistoryCommand,
    },
    /// Print libtorch, CUDA and cuDNN availability, devices and threads.
    Doctor {
        /// Exit non-zero when CUDA is not available.
        #[arg(long)]
        require_cuda: bool,
    },
    /// Get or check datasets.
    Data {
        #[command(subcommand)]
        command: DataCommand,
    },
    /// List the registered mixing methods and their parameters.
    Methods,
    /// List the metric catalogue: every metric the training summary and the evaluations
    /// declare, with its unit, direction, kind and conditions (a Markdown table).
    Metrics,
    /// Apply one method to a batch stored in a safetensors file (or to images from a folder)
    /// and write the mixed images, targets, mask and extras (and/or a PNG grid).
    Mix(crate::mix_command::MixArgs),
    /// Write the saliency map a method uses for each image of a batch (and/or a PNG grid).
    Saliency(crate::mix_command::SaliencyArgs),
    /// Train one prepared cell folder (used by `run` to run each cell in its own process).
    #[command(hide = true)]
    Cell {
        /// Cell folder holding config.yaml.
        dir: PathBuf,
        /// The caller holds the cell's claim (a `run` worker); without it the command claims
        /// the cell itself (a Slurm task).
        #[arg(long)]
        claimed: bool,
    },
    /// Run one evaluation of a trained cell folder with the settings in its `<kind>.yaml` (used
    /// by `run` to run each evaluation in its own process).
    #[command(hide = true)]
    Evaluate {
        /// Cell folder.
        dir: PathBuf,
        /// Which evaluation (a registered name: robustness, fewshot, background).
        kind: String,
        /// The caller holds the evaluation's claim (a `run` worker).
        #[arg(long)]
        claimed: bool,
    },
}

#[derive(Debug, Subcommand)]
enum DataCommand {
    /// Download an official CIFAR archive, verify its checksum and unpack it.
    Fetch {
        /// Which dataset.
        dataset: FetchArg,
        /// Folder to download into.
        #[arg(long, default_value = "data")]
        dir: PathBuf,
    },
    /// Load every dataset of a suite file and print its sizes, classes and normalisation.
    Check {
        /// Suite file (YAML).
        suite: PathBuf,
    },
    /// Write the common corruptions of a suite data set's test split in the CIFAR-10-C layout
    /// (`<corruption>.npy`: uint8 [5 x n, H, W, C], severity s in rows (s-1)n..sn, and
    /// `labels.npy`), generated as the corruptions evaluation generates them; prints the time
    /// each corruption took. The robustness evaluation's `cifar_c` reads the folder.
    Corrupt {
        /// Suite file (YAML).
        suite: PathBuf,
        /// Folder to write into.
        #[arg(long)]
        out: PathBuf,
        /// Data set label (default: the suite's first data set).
        #[arg(long)]
        dataset: Option<String>,
        /// Corruptions, comma-separated (default: all 19, frost only with --frost-pictures).
        #[arg(long, value_delimiter = ',')]
        corruptions: Vec<String>,
        /// Constants: auto (by image size), cifar or imagenet.
        #[arg(long, value_enum, default_value = "auto")]
        constants: ConstantsArg,
        /// Folder holding the reference's frost pictures (frost1.png .. frost6.jpg).
        #[arg(long)]
        frost_pictures: Option<PathBuf>,
        /// Seed of the corruptions' draws (the corruptions evaluation's `seed`).
        #[arg(long, default_value_t = 0)]
        seed: u64,
    },
}

#[derive(Clone, Copy, Debug, ValueEnum)]
enum ConstantsArg {
    Auto,
    Cifar,
    Imagenet,
}

#[derive(Clone, Copy, Debug, ValueEnum)]
enum FetchArg {
    Cifar10,
    Cifar100,
}

#[derive(Debug, clap::Args)]
struct RunArgs {
    /// Output folder (default: the suite's `output`, else runs/<suite name>).
    #[arg(long)]
    out: Option<PathBuf>,
    /// Run every cell in this process instead of one process per cell.
    #[arg(long)]
    inline: bool,
    /// Retrain finished cells of the output folder whose configuration differs from the
    /// suite's (without it, such cells stop the run before anything is written).
    #[arg(long)]
    rerun_changed: bool,
    /// Run N cells (then evaluations) at once, each in its own process, each pinned to a GPU
    /// of --devices or, on the CPU, to a share of the cores. Other `mixbench run` processes
    /// on the same folder (here or on other machines) cooperate through claim files.
    #[arg(long, default_value_t = 1, value_name = "N", value_parser = clap::value_parser!(u16).range(1..))]
    jobs: u16,
    /// GPU indices handed out to the --jobs workers in turn (e.g. `0,1,2,3`).
    #[arg(long, value_delimiter = ',', value_name = "LIST")]
    devices: Vec<String>,
    /// Submit the unfinished cells to Slurm instead of running them here: a job array of
    /// training tasks, a dependent array of evaluations and a final report job (scripts and
    /// logs in RUN_DIR/slurm/). Follow it with `mixbench status RUN_DIR`.
    #[arg(long)]
    slurm: bool,
    /// Extra sbatch arguments for every job, e.g. "--partition=gpu --gres=gpu:1
    /// --time=24:00:00 --cpus-per-task=8" (split on whitespace).
    #[arg(
        long,
        value_name = "ARGS",
        allow_hyphen_values = true,
        requires = "slurm"
    )]
    slurm_args: Option<String>,
    /// At most this many training tasks at once (`--array=...%N`).
    #[arg(long, value_name = "N", requires = "slurm")]
    slurm_throttle: Option<usize>,
}

fn version_string() -> String {
    format!(
        "{} (libtorch {})",
        system::code_version(),
        system::libtorch_version()
    )
}

/// Parses the command line, runs the command and maps the result to an exit code.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    match dispatch(cli.command) {
        Ok(code) => code,
        Err(err) if interrupt::is_interrupted(&err) => {
            eprintln!("stopped: {err:#}");
            ExitCode::from(interrupt::RESUMABLE_EXIT)
        }
        Err(err) => {
            eprintln!("error: {err:#}");
            ExitCode::FAILURE
        }
    }
}

fn dispatch(command: Command) -> Result<ExitCode> {
    if matches!(
        command,
        Command::Quickstart(_)
            | Command::Run { .. }
            | Command::Cell { .. }
            | Command::Evaluate { .. }
    ) {
        // Training saves a checkpoint and exits with the resumable status on SIGTERM/SIGINT.
        interrupt::install()?;
    }
    match command {
        Command::Quickstart(args) => {
            let suite = LoadedSuite::from_text(
                crate::QUICKSTART_SUITE,
                Path::new("quickstart.yaml"),
                Path::new("."),
                &registry(),
            )?
            .with_builtin_claims(crate::QUICKSTART_CLAIMS_NAME, crate::QUICKSTART_CLAIMS);
            let code = run_suite(&suite, &args)?;
            if code != ExitCode::SUCCESS {
                return Ok(code);
            }
            // The quickstart ends by checking its own claims on the run it just made.
            let run_dir = args.out.clone().unwrap_or_else(|| suite.output_dir());
            Ok(verify_command(&run_dir, &[], false, false))
        }
        Command::Verify {
            run_dir,
            claims,
            accept_protocol,
            strict,
        } => Ok(verify_command(&run_dir, &claims, accept_protocol, strict)),
        Command::Compare {
            baseline,
            run,
            thresholds,
            out,
        } => Ok(compare_command(
            &baseline,
            &run,
            thresholds.as_deref(),
            out.as_deref(),
        )),
        Command::Baseline { run_dir, dest } => {
            let written = compare::baseline::save(&run_dir, &dest)?;
            eprintln!("wrote {} files", written.len());
            println!("{}", dest.display());
            Ok(ExitCode::SUCCESS)
        }
        Command::Run { suite, args } => {
            let loaded = LoadedSuite::from_file(&suite, &registry())?;
            run_suite(&loaded, &args)
        }
        Command::Report {
            run_dir,
            accept_corrupt,
        } => {
            let files = report::build_report(&run_dir, &report_sections())?;
            warn_corrupt(&run_dir, &files);
            println!("{}", files.report_md.display());
            if files.corrupt.is_empty() || accept_corrupt {
                Ok(ExitCode::SUCCESS)
            } else {
                eprintln!(
                    "error: {} cell(s) of {} have unreadable or inconsistent files (counted as \
                     failed; --accept-corrupt to exit 0)",
                    files.corrupt.len(),
                    run_dir.display()
                );
                Ok(ExitCode::FAILURE)
            }
        }
        Command::Status { run_dir } => {
            let rows = executor::status::run_status(&run_dir)?;
            print!("{}", executor::status::render(&rows));
            Ok(ExitCode::SUCCESS)
        }
        Command::History { command } => {
            history::command::run(&command)?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Doctor { require_cuda } => doctor(require_cuda),
        Command::Data {
            command: DataCommand::Fetch { dataset, dir },
        } => {
            let target = match dataset {
                FetchArg::Cifar10 => FetchTarget::Cifar10,
                FetchArg::Cifar100 => FetchTarget::Cifar100,
            };
            let folder = fetch::fetch(target, &dir)?;
            println!("{}", folder.display());
            Ok(ExitCode::SUCCESS)
        }
        Command::Data {
            command: DataCommand::Check { suite },
        } => {
            let loaded = LoadedSuite::from_file(&suite, &registry())?;
            for spec in &loaded.suite.datasets {
                let data = spec
                    .load(&loaded.base_dir)
                    .with_context(|| format!("dataset `{}`", spec.label()))?;
                println!(
                    "{}: {} classes, {} train + {} test images of {}x{}x{}, mean {:?}, std {:?}",
                    data.name,
                    data.num_classes(),
                    data.train.len(),
                    data.test.len(),
                    data.train.channels,
                    data.train.height,
                    data.train.width,
                    data.mean,
                    data.std
                );
                for note in &data.notes {
                    println!("  note: {note}");
                }
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Data {
            command:
                DataCommand::Corrupt {
                    suite,
                    out,
                    dataset,
                    corruptions,
                    constants,
                    frost_pictures,
                    seed,
                },
        } => {
            use crate::evaluations::corruptions::{export, Constants, CorruptionsConfig};
            let loaded = LoadedSuite::from_file(&suite, &registry())?;
            let spec = match &dataset {
                None => loaded.suite.datasets.first(),
                Some(label) => loaded.suite.datasets.iter().find(|d| &d.label() == label),
            }
            .with_context(|| {
                let labels: Vec<String> = loaded.suite.datasets.iter().map(|d| d.label()).collect();
                format!(
                    "{}: no data set `{}`; data sets: {}",
                    suite.display(),
                    dataset.as_deref().unwrap_or(""),
                    labels.join(", ")
                )
            })?;
            let data = spec
                .load(&loaded.base_dir)
                .with_context(|| format!("dataset `{}`", spec.label()))?;
            let config = CorruptionsConfig {
                corruptions: (!corruptions.is_empty()).then_some(corruptions),
                constants: match constants {
                    ConstantsArg::Auto => Constants::Auto,
                    ConstantsArg::Cifar => Constants::Cifar,
                    ConstantsArg::Imagenet => Constants::Imagenet,
                },
                frost_pictures,
                seed,
                ..serde_norway::from_str("{}")?
            };
            let cwd = std::env::current_dir()?;
            let times = export::export(&data.test, &config, &cwd, &out)?;
            let total: f64 = times.iter().map(|t| t.seconds).sum();
            for t in &times {
                println!("{}: {:.2} s", t.corruption, t.seconds);
            }
            println!(
                "{} corruptions x 5 severities of {} test images of {} in {total:.1} s, written to {}",
                times.len(),
                data.test.len(),
                spec.label(),
                out.display()
            );
            Ok(ExitCode::SUCCESS)
        }
        Command::Metrics => {
            print!("{}", crate::catalogue::markdown());
            Ok(ExitCode::SUCCESS)
        }
        Command::Methods => {
            print!("{}", crate::methods::describe(&registry()));
            Ok(ExitCode::SUCCESS)
        }
        Command::Mix(args) => {
            crate::mix_command::run_mix(&args, &registry())?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Saliency(args) => {
            crate::mix_command::run_saliency(&args, &registry())?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Cell { dir, claimed } => {
            run_unit(&Unit::train(&dir), claimed)?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Evaluate { dir, kind, claimed } => {
            run_unit(&Unit::evaluate(&dir, evaluations::find(&kind)?), claimed)?;
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// `mixbench cell` / `evaluate`: the unit in this process, claimed here unless the caller
/// holds its claim.
fn run_unit(unit: &Unit, claimed: bool) -> Result<()> {
    if claimed {
        unit.run_recording_failure()
    } else {
        unit.run_claimed()
    }
}

fn run_suite(loaded: &LoadedSuite, args: &RunArgs) -> Result<ExitCode> {
    let mut loaded = loaded.clone();
    if args.inline {
        loaded.suite.training.isolation = Isolation::Inline;
    }
    let run_dir = args.out.clone().unwrap_or_else(|| loaded.output_dir());
    if args.inline && args.jobs > 1 {
        bail!("--jobs runs cells in their own processes; it cannot be combined with --inline");
    }
    if args.slurm && (args.inline || args.jobs > 1) {
        bail!("--slurm runs every cell as a Slurm task; it cannot be combined with --inline or --jobs");
    }
    let options = suite::RunOptions {
        rerun_changed: args.rerun_changed,
        jobs: args.jobs.into(),
        devices: args.devices.clone(),
    };
    if args.slurm {
        let slurm = SlurmOptions {
            args: (args.slurm_args.as_deref().unwrap_or(""))
                .split_whitespace()
                .map(String::from)
                .collect(),
            throttle: args.slurm_throttle,
        };
        let submission = suite::submit_slurm(&loaded, &run_dir, &loaded.text, &options, &slurm)?;
        let describe = |what: &str, job: &Option<executor::slurm::SubmittedJob>| match job {
            Some(j) => eprintln!("submitted {what}: Slurm job {} ({} tasks)", j.job, j.tasks),
            None => eprintln!("{what}: nothing unfinished, nothing submitted"),
        };
        describe("training", &submission.train);
        describe("evaluations", &submission.evaluate);
        eprintln!("submitted the report: Slurm job {}", submission.report.job);
        eprintln!("follow it with `mixbench status {}`", run_dir.display());
        println!("{}", run_dir.display());
        return Ok(ExitCode::SUCCESS);
    }
    let outcome = suite::run_with(&loaded, &run_dir, &loaded.text, options)?;
    let files = report::build_report(&run_dir, &report_sections())?;
    warn_corrupt(&run_dir, &files);
    eprintln!(
        "{} cells trained, {} skipped (finished before), {} evaluations run, {} failed",
        outcome.trained.len(),
        outcome.skipped.len(),
        outcome.evaluated.len(),
        outcome.failed.len()
    );
    println!("{}", files.report_md.display());
    if !loaded.claims.is_empty() {
        eprintln!(
            "the suite names claims: `mixbench verify {}` checks them",
            run_dir.display()
        );
    }
    if outcome.failed.is_empty() {
        Ok(ExitCode::SUCCESS)
    } else {
        for (cell, err) in &outcome.failed {
            eprintln!("failed: {cell}: {err}");
        }
        Ok(ExitCode::from(2))
    }
}

/// The report's sections above the training summary: every evaluation's, then the claims
/// (rebuilt from `claims.csv` when the run was verified).
fn report_sections() -> Vec<&'static dyn report::SectionSource> {
    let mut sections = evaluations::report_sections();
    sections.push(&claims::ClaimsSection);
    sections
}

/// `mixbench verify`: verdicts on the terminal, files in the run folder, and the exit status
/// (0 no failure, 1 a failure or, with `strict`, an inconclusive claim, 2 an error).
fn verify_command(
    run_dir: &Path,
    files: &[PathBuf],
    accept_protocol: bool,
    strict: bool,
) -> ExitCode {
    let result = (|| -> Result<claims::Verification> {
        let paths = if files.is_empty() {
            claims::recorded_claims(run_dir)?
        } else {
            files.to_vec()
        };
        let parsed = paths
            .iter()
            .map(|p| claims::ClaimsFile::from_file(p))
            .collect::<Result<Vec<_>>>()?;
        claims::verify(run_dir, &parsed, claims::Options { accept_protocol })
    })();
    match result {
        Ok(verification) => {
            for line in claims::summary_lines(&verification.outcomes) {
                println!("{line}");
            }
            for path in &verification.written {
                eprintln!("wrote {}", path.display());
            }
            ExitCode::from(verification.exit_code(strict))
        }
        Err(err) => {
            eprintln!("error: {err:#}");
            ExitCode::from(2)
        }
    }
}

/// `mixbench compare`: the table on the terminal, `compare.csv` and `compare.md` in `out`
/// (default `RUN/compare`), and the exit status (0 nothing regressed, 1 something regressed,
/// changed or is missing, 2 an error).
fn compare_command(
    baseline: &Path,
    run: &Path,
    thresholds: Option<&Path>,
    out: Option<&Path>,
) -> ExitCode {
    let result = (|| -> Result<(compare::Comparison, Vec<PathBuf>)> {
        let thresholds = match thresholds {
            Some(path) => compare::Thresholds::from_file(path)?,
            None => compare::Thresholds::default(),
        };
        let comparison = compare::compare(baseline, run, &thresholds)?;
        let out = out.map_or_else(|| run.join(compare::DEFAULT_OUT_DIR), Path::to_path_buf);
        let written = compare::write(&comparison, &out)?;
        Ok((comparison, written))
    })();
    match result {
        Ok((comparison, written)) => {
            for line in compare::output::terminal_lines(&comparison.rows) {
                println!("{line}");
            }
            for path in &written {
                eprintln!("wrote {}", path.display());
            }
            ExitCode::from(comparison.exit_code())
        }
        Err(err) => {
            eprintln!("error: {err:#}");
            ExitCode::from(2)
        }
    }
}

/// One warning line per cell whose files the report could not read, naming its folder.
fn warn_corrupt(run_dir: &Path, files: &report::ReportFiles) {
    for (cell, problem) in &files.corrupt {
        eprintln!(
            "warning: {}: {problem}",
            run_dir.join(crate::records::CELLS_DIR).join(cell).display()
        );
    }
}

fn doctor(require_cuda: bool) -> Result<ExitCode> {
    let cuda = tch::Cuda::is_available();
    println!("mixbench      {}", system::code_version());
    println!(
        "libtorch      {} ({})",
        system::libtorch_version(),
        system::libtorch_dir()
    );
    println!(
        "cpu threads   {} intra-op, {} inter-op",
        tch::get_num_threads(),
        tch::get_num_interop_threads()
    );
    println!(
        "cuda          {}",
        if cuda { "available" } else { "not available" }
    );
    if cuda {
        println!("cuda devices  {}", tch::Cuda::device_count());
        for (i, name) in system::cuda_device_names().iter().enumerate() {
            println!("  cuda:{i}      {name}");
        }
        println!(
            "cudnn         {}",
            if tch::Cuda::cudnn_is_available() {
                format!("available (version {})", tch::utils::version_cudnn())
            } else {
                "not available".into()
            }
        );
    } else {
        println!("cudnn         not available");
        if tch::utils::has_cuda() {
            println!("note          libtorch has CUDA support, but no usable GPU/driver was found");
        }
    }
    if require_cuda && !cuda {
        bail!("--require-cuda: CUDA is not available");
    }
    Ok(ExitCode::SUCCESS)
}
