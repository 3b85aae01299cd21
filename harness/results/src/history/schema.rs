//! The history database file: opening it (WAL journal, busy timeout), creating its tables, and
//! the schema version check.
//!
//! Tables (schema version [`SCHEMA_VERSION`]):
//!
//! | table | rows |
//! |---|---|
//! | `meta` | `key`, `value`: `schema_version` |
//! | `runs` | one per stored run: `id`, `name` (unique), `suite`, `code_version`, `commit_hash`, `libtorch`, `device` (each the run's distinct values, `, `-joined), `run_date`, `added` (UTC, `YYYY-MM-DD HH:MM:SS`), `source` (the run folder) |
//! | `cells` | one per cell of a run (its `summary.csv` row): `run_id`, `cell`, `status`, `suite`, `dataset`, `model`, `method`, `method_params`, `seed`, `epochs_done`, `config_hash`, `code_version`, `device`, `libtorch`, `parameters`, `error` |
//! | `metrics` | one per value, long format: `run_id`, `cell` (empty for a per-method value), `dataset`, `model`, `method`, `seed` (NULL for a per-method value), `metric`, `condition` (empty when the metric has one value per cell), `value` |

use std::path::Path;
use std::time::Duration;

use anyhow::{bail, Context, Result};
use rusqlite::{Connection, OpenFlags, OptionalExtension, TransactionBehavior};

/// Version of the tables this mixbench reads and writes. A database with a newer version is
/// refused (a newer mixbench wrote it); an older one is brought up to date when opened
/// ([`MIGRATIONS`]). The version goes up with every change of the tables or of what their
/// rows mean.
pub const SCHEMA_VERSION: i64 = 2;

/// The statements that take a database from version `i + 1` to `i + 2`, run in order, in the
/// transaction that opens it:
/// - 1 to 2: runtime phase times were stored as `runtime_seconds` with the phase as the
///   condition; they are `runtime_<phase>` without a condition, the name `mixbench compare`
///   judges them under.
const MIGRATIONS: [&str; 1] = [
    "UPDATE metrics SET metric = 'runtime_' || condition, condition = '' \
     WHERE metric = 'runtime_seconds'",
];
const _: () = assert!(MIGRATIONS.len() as i64 == SCHEMA_VERSION - 1);

/// How long a writer waits for another process's transaction to end before giving up.
pub const BUSY_TIMEOUT: Duration = Duration::from_secs(60);

const TABLES: &str = "
CREATE TABLE IF NOT EXISTS meta (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS runs (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    suite TEXT NOT NULL,
    code_version TEXT NOT NULL,
    commit_hash TEXT NOT NULL,
    libtorch TEXT NOT NULL,
    device TEXT NOT NULL,
    run_date TEXT NOT NULL,
    added TEXT NOT NULL,
    source TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS cells (
    run_id INTEGER NOT NULL REFERENCES runs(id),
    cell TEXT NOT NULL,
    status TEXT NOT NULL,
    suite TEXT NOT NULL,
    dataset TEXT NOT NULL,
    model TEXT NOT NULL,
    method TEXT NOT NULL,
    method_params TEXT NOT NULL,
    seed INTEGER,
    epochs_done INTEGER NOT NULL,
    config_hash TEXT NOT NULL,
    code_version TEXT NOT NULL,
    device TEXT NOT NULL,
    libtorch TEXT NOT NULL,
    parameters INTEGER,
    error TEXT NOT NULL,
    PRIMARY KEY (run_id, cell)
);
CREATE TABLE IF NOT EXISTS metrics (
    run_id INTEGER NOT NULL REFERENCES runs(id),
    cell TEXT NOT NULL,
    dataset TEXT NOT NULL,
    model TEXT NOT NULL,
    method TEXT NOT NULL,
    seed INTEGER,
    metric TEXT NOT NULL,
    condition TEXT NOT NULL,
    value REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS metrics_by_metric ON metrics (metric, method, dataset, model, condition);
";

/// Opens the history database at `path` for writing, creating the file and its tables when
/// they do not exist yet. Refuses a file another program wrote and a newer schema version.
pub fn open_or_create(path: &Path) -> Result<Connection> {
    let mut conn = connect(path, OpenFlags::SQLITE_OPEN_CREATE)?;
    // Two writers creating the same new file take turns here.
    let tx = conn
        .transaction_with_behavior(TransactionBehavior::Immediate)
        .with_context(|| format!("{}: locking the database", path.display()))?;
    match stored_version(&tx, path)? {
        Some(version) => bring_up_to_date(&tx, version, path)?,
        None => {
            tx.execute_batch(TABLES)
                .with_context(|| format!("{}: creating the tables", path.display()))?;
            tx.execute(
                "INSERT INTO meta (key, value) VALUES ('schema_version', ?1)",
                [SCHEMA_VERSION.to_string()],
            )
            .with_context(|| format!("{}: writing the schema version", path.display()))?;
        }
    }
    tx.commit()
        .with_context(|| format!("{}: creating the tables", path.display()))?;
    Ok(conn)
}

/// Opens an existing history database at `path` (the commands that only read it; an older
/// version is still brought up to date).
pub fn open_existing(path: &Path) -> Result<Connection> {
    if !path.is_file() {
        bail!(
            "{}: no history database there (`mixbench history add RUN_DIR --db {}` creates it)",
            path.display(),
            path.display()
        );
    }
    let mut conn = connect(path, OpenFlags::empty())?;
    let Some(version) = stored_version(&conn, path)? else {
        bail!(
            "{}: an empty database, no runs stored yet (`mixbench history add` stores one)",
            path.display()
        );
    };
    if version >= SCHEMA_VERSION {
        // Up to date (or refused): no write lock, so readers never wait for a writer.
        bring_up_to_date(&conn, version, path)?;
        return Ok(conn);
    }
    // Migrate under the write lock, from the version read under it (another opener may have
    // migrated meanwhile).
    let tx = conn
        .transaction_with_behavior(TransactionBehavior::Immediate)
        .with_context(|| format!("{}: locking the database", path.display()))?;
    let version = stored_version(&tx, path)?.unwrap_or(version);
    bring_up_to_date(&tx, version, path)?;
    tx.commit()
        .with_context(|| format!("{}: updating the schema", path.display()))?;
    Ok(conn)
}

/// A connection in WAL mode (readers never block the writer, and a killed writer's
/// transaction is rolled back by the next opener) that waits [`BUSY_TIMEOUT`] for locks.
fn connect(path: &Path, create: OpenFlags) -> Result<Connection> {
    let flags = OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX | create;
    let conn = Connection::open_with_flags(path, flags)
        .with_context(|| format!("{}: opening the history database", path.display()))?;
    conn.busy_timeout(BUSY_TIMEOUT)
        .with_context(|| format!("{}: setting the busy timeout", path.display()))?;
    let mode: String = conn
        .query_row("PRAGMA journal_mode = WAL", [], |row| row.get(0))
        .with_context(|| {
            format!(
                "{}: switching to the WAL journal (not an SQLite database?)",
                path.display()
            )
        })?;
    if !mode.eq_ignore_ascii_case("wal") {
        bail!(
            "{}: the database stays in `{mode}` journal mode, not WAL (a file system without shared memory?)",
            path.display()
        );
    }
    Ok(conn)
}

/// The schema version the file records; `None` for a file without tables (a new one). A file
/// with tables but no `meta` table was not written by mixbench.
fn stored_version(conn: &Connection, path: &Path) -> Result<Option<i64>> {
    let tables: i64 = conn
        .query_row("SELECT count(*) FROM sqlite_master", [], |row| row.get(0))
        .with_context(|| {
            format!(
                "{}: reading the tables (not an SQLite database?)",
                path.display()
            )
        })?;
    if tables == 0 {
        return Ok(None);
    }
    let has_meta: bool = conn
        .query_row(
            "SELECT count(*) > 0 FROM sqlite_master WHERE type = 'table' AND name = 'meta'",
            [],
            |row| row.get(0),
        )
        .with_context(|| format!("{}: reading the tables", path.display()))?;
    if !has_meta {
        bail!(
            "{}: an SQLite database, but not a mixbench history (no `meta` table)",
            path.display()
        );
    }
    let version: Option<String> = conn
        .query_row(
            "SELECT value FROM meta WHERE key = 'schema_version'",
            [],
            |row| row.get(0),
        )
        .optional()
        .with_context(|| format!("{}: reading the schema version", path.display()))?;
    let version = version
        .with_context(|| format!("{}: the `meta` table has no schema_version", path.display()))?;
    version.parse().map(Some).with_context(|| {
        format!(
            "{}: schema_version `{version}` is not a number",
            path.display()
        )
    })
}

/// Runs the [`MIGRATIONS`] from `version` to [`SCHEMA_VERSION`] on `tx` (a transaction
/// holding the write lock whenever `version` is older) and records the new version; refuses a
/// newer version (a newer mixbench wrote it).
fn bring_up_to_date(tx: &Connection, version: i64, path: &Path) -> Result<()> {
    if version > SCHEMA_VERSION {
        bail!(
            "{}: history schema version {version} is newer than this mixbench's ({SCHEMA_VERSION}); \
             a newer mixbench wrote it, use that one",
            path.display()
        );
    }
    if version < 1 {
        bail!(
            "{}: history schema version {version} was never written by mixbench",
            path.display()
        );
    }
    if version == SCHEMA_VERSION {
        return Ok(());
    }
    for (from, statement) in (version..).zip(&MIGRATIONS[(version - 1) as usize..]) {
        tx.execute_batch(statement).with_context(|| {
            format!(
                "{}: migrating the history from schema version {from} to {}",
                path.display(),
                from + 1
            )
        })?;
    }
    tx.execute(
        "UPDATE meta SET value = ?1 WHERE key = 'schema_version'",
        [SCHEMA_VERSION.to_string()],
    )
    .with_context(|| format!("{}: writing the schema version", path.display()))?;
    Ok(())
}
