//! Shared helpers of the end-to-end tests: a fresh migrated database and a way to run the
//! real `mitx` binary against it.

use std::path::{Path, PathBuf};
use std::process::Command;

use mitx_services::testing::TestDb;

/// A fresh, migrated SQLite database (a new temp file).
pub async fn sqlite_db() -> TestDb {
    TestDb::sqlite().await.expect("sqlite test database")
}

/// Every backend to test on: SQLite, and PostgreSQL when `MITX_TEST_POSTGRES_URL` is set.
pub async fn all_dbs() -> Vec<TestDb> {
    let mut dbs = vec![sqlite_db().await];
    if let Some(pg) = TestDb::postgres().await.expect("postgres test database") {
        dbs.push(pg);
    }
    dbs
}

/// Runs `mitx --database-url URL ARGS...` from the repository root; returns (exit code,
/// stdout, stderr).
pub fn mitx(url: &str, args: &[&str]) -> (i32, String, String) {
    mitx_in(&repo_root(), url, args)
}

/// Like [`mitx`], in the working directory `dir` (for commands that write files).
pub fn mitx_in(dir: &Path, url: &str, args: &[&str]) -> (i32, String, String) {
    mitx_env(dir, url, args, &[])
}

/// Like [`mitx_in`], with extra environment variables.
pub fn mitx_env(
    dir: &Path,
    url: &str,
    args: &[&str],
    envs: &[(&str, String)],
) -> (i32, String, String) {
    let out = command(dir, url, args, envs).output().expect("run mitx");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// The `mitx --database-url URL ARGS...` command, not started.
pub fn command(dir: &Path, url: &str, args: &[&str], envs: &[(&str, String)]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_mitx"));
    command
        .arg("--database-url")
        .arg(url)
        .args(args)
        .current_dir(dir)
        .env("USER", "tester");
    for (name, value) in envs {
        command.env(name, value);
    }
    command
}

/// Runs a command that must succeed and returns its stdout parsed as JSON (`--json` is
/// added).
pub fn mitx_json(url: &str, args: &[&str]) -> serde_json::Value {
    let mut all = vec!["--json"];
    all.extend_from_slice(args);
    let (code, out, err) = mitx(url, &all);
    assert_eq!(code, 0, "mitx {args:?} failed: {err}");
    serde_json::from_str(&out).unwrap_or_else(|e| panic!("mitx {args:?}: not JSON ({e}): {out}"))
}

/// The workspace root.
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// A fresh empty directory under the temp dir.
pub fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "mitx-cli-{name}-{}-{}",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0)
    ));
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir
}
