//! Operator ergonomics (issue 9) through the real binary: help pages with examples,
//! secrets never printed, one quick line for an unreachable database, tables that suit
//! pipes and terminals, checks that fail on findings, batch output files written safely.

use std::process::Command;
use std::time::{Duration, Instant};

use mitx_services::store::discounts::DiscountFilter;

use crate::support::{mitx, mitx_env, mitx_in, repo_root, sqlite_db, temp_dir};

/// Runs `mitx ARGS` with `envs` and no `--database-url` (so `DATABASE_URL` counts).
fn mitx_plain(args: &[&str], envs: &[(&str, &str)]) -> (i32, String, String) {
    let mut command = Command::new(env!("CARGO_BIN_EXE_mitx"));
    command
        .args(args)
        .current_dir(repo_root())
        .env_remove("DATABASE_URL");
    for (name, value) in envs {
        command.env(name, value);
    }
    let out = command.output().expect("run mitx");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// The subcommand names of a help page's `Commands:` section.
fn subcommands(help: &str) -> Vec<String> {
    help.lines()
        .skip_while(|l| l.trim() != "Commands:")
        .skip(1)
        .take_while(|l| !l.trim().is_empty())
        .filter_map(|l| l.split_whitespace().next())
        .filter(|name| *name != "help")
        .map(str::to_owned)
        .collect()
}

#[test]
fn ops_every_help_page_has_an_example() {
    let mut pending: Vec<Vec<String>> = vec![vec![]];
    let mut seen = 0;
    let mut missing = Vec::new();
    while let Some(path) = pending.pop() {
        let mut args: Vec<&str> = path.iter().map(String::as_str).collect();
        args.push("--help");
        let (code, out, err) = mitx_plain(&args, &[]);
        assert_eq!(code, 0, "mitx {args:?}: {err}");
        seen += 1;
        if !out.contains("Example") {
            missing.push(path.join(" "));
        }
        for sub in subcommands(&out) {
            let mut next = path.clone();
            next.push(sub);
            pending.push(next);
        }
    }
    assert!(seen > 40, "walked only {seen} help pages");
    assert!(
        missing.is_empty(),
        "help pages without an example: {missing:?}"
    );
}

#[test]
fn ops_config_show_and_help_never_print_secrets() {
    let secrets = [
        ("DATABASE_URL", "postgres://u:hunter2@db.example.com/mitx"),
        (
            "MITX_SMTP_URL",
            "smtp://mailer:smtp-pass-1@smtp.example.com:587",
        ),
        (
            "OPENEDX_API_BASE_URL",
            "https://x:edx-pass-2@lms.example.com",
        ),
        ("OPENEDX_SERVICE_WORKER_API_TOKEN", "edx-token-3"),
        ("OPENEDX_API_CLIENT_SECRET", "edx-client-secret-4"),
        (
            "OPENEDX_COURSES_SERVICE_WORKER_CLIENT_SECRET",
            "edx-courses-secret-6",
        ),
        (
            "MITOL_PAYMENT_GATEWAY_CYBERSOURCE_SECURITY_KEY",
            "cybersource-key-5",
        ),
        (
            "MITX_CREDENTIAL_SIGNING_KEY",
            "5eed5eed5eed5eed5eed5eed5eed5eed5eed5eed5eed5eed5eed5eed5eed5eed",
        ),
        ("VERIFIABLE_CREDENTIAL_BEARER_TOKEN", "signer-token-6"),
    ];
    let words = [
        "hunter2",
        "smtp-pass-1",
        "edx-pass-2",
        "edx-token-3",
        "edx-client-secret-4",
        "cybersource-key-5",
        "5eed5eed5eed",
        "signer-token-6",
        "edx-courses-secret-6",
    ];
    let assert_clean = |what: &str, text: &str| {
        for word in words {
            assert!(!text.contains(word), "{what} prints {word}: {text}");
        }
    };
    for args in [
        &["config", "show"][..],
        &["--json", "config", "show"],
        &["--format", "csv", "config", "show"],
        &["--help"],
        &["catalog", "list", "--help"],
    ] {
        let (_, out, err) = mitx_plain(args, &secrets);
        assert_clean(&format!("{args:?}"), &out);
        assert_clean(&format!("{args:?}"), &err);
    }
    let (code, out, err) = mitx_plain(&["--json", "config", "show"], &secrets);
    assert_eq!(code, 0, "{err}");
    let rows: serde_json::Value = serde_json::from_str(&out).unwrap();
    let value = |name: &str| {
        rows.as_array()
            .unwrap()
            .iter()
            .find(|r| r["name"] == name)
            .unwrap()["value"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    assert_eq!(
        value("DATABASE_URL"),
        "postgres://u:***@db.example.com/mitx"
    );
    assert_eq!(
        value("OPENEDX_API_BASE_URL"),
        "https://x:***@lms.example.com"
    );
    assert_eq!(value("OPENEDX_SERVICE_WORKER_API_TOKEN"), "***");
    assert_eq!(value("MITX_SMTP_URL"), "***");
    assert_eq!(value("MITX_CREDENTIAL_SIGNING_KEY"), "***");
    // A malformed signing key is refused without quoting it.
    let (code, _, err) = mitx_plain(
        &["config", "show"],
        &[("MITX_CREDENTIAL_SIGNING_KEY", "not-a-key-secret-7")],
    );
    assert_eq!(code, 1);
    assert!(err.contains("MITX_CREDENTIAL_SIGNING_KEY"), "{err}");
    assert!(!err.contains("not-a-key-secret-7"), "{err}");

    // An invalid setting's message never quotes a password either.
    let (code, _, err) = mitx_plain(
        &["config", "show"],
        &[("OPENEDX_API_BASE_URL", "ftp://x:edx-pass-2@lms.example.com")],
    );
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("OPENEDX_API_BASE_URL"), "{err}");
    assert_clean("an invalid setting", &err);
}

#[test]
fn ops_unreachable_postgres_is_one_quick_line_without_the_password() {
    // A port nothing listens on.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let url = format!("postgres://app:hunter2@127.0.0.1:{port}/mitx");
    for args in [&["catalog", "list", "courses"][..], &["-v", "db", "status"]] {
        let started = Instant::now();
        let (code, out, err) = mitx(&url, args);
        let elapsed = started.elapsed();
        assert_eq!(code, 1, "{err}");
        assert!(out.is_empty(), "{out}");
        assert_eq!(
            err,
            format!(
                "error: cannot connect to PostgreSQL at 127.0.0.1:{port}: connection refused\n"
            ),
            "{args:?}"
        );
        assert!(elapsed < Duration::from_secs(5), "took {elapsed:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ops_tables_are_tsv_in_pipes_and_every_format_parses() {
    let db = sqlite_db().await;
    let url = db.url.as_str();
    let (code, _, err) = mitx(url, &["catalog", "import", "fixtures/demo/catalog.json"]);
    assert_eq!(code, 0, "{err}");
    assert!(
        !err.contains('\r') && !err.contains('█'),
        "no progress bar when stderr is not a terminal: {err:?}"
    );
    let boxes = ['│', '─', '┌', '┼', '└'];

    // stdout is a pipe here: TSV, a header line, no box drawing.
    let (code, out, err) = mitx(url, &["catalog", "list", "courses"]);
    assert_eq!(code, 0, "{err}");
    assert!(!out.contains(&boxes[..]), "{out}");
    let mut lines = out.lines();
    assert_eq!(
        lines.next(),
        Some("id\treadable_id\ttitle\tlive\truns\tdepartments")
    );
    let rows: Vec<&str> = lines.collect();
    assert_eq!(rows.len(), 20);
    assert!(rows.iter().all(|r| r.split('\t').count() == 6), "{out}");

    let (code, out, err) = mitx(url, &["--format", "json", "catalog", "list", "courses"]);
    assert_eq!(code, 0, "{err}");
    let parsed: Vec<serde_json::Value> = serde_json::from_str(&out).unwrap();
    assert_eq!(parsed.len(), 20);

    let (code, out, err) = mitx(url, &["--format", "csv", "discounts", "list"]);
    assert_eq!(code, 0, "{err}");
    let mut reader = csv::Reader::from_reader(out.as_bytes());
    assert_eq!(&reader.headers().unwrap()[1], "code");
    assert!(reader.records().all(|r| r.is_ok()));

    // A table on request, fitted to COLUMNS.
    let (code, out, err) = mitx_env(
        &repo_root(),
        url,
        &["--format", "table", "catalog", "list", "courses"],
        &[("COLUMNS", "80".to_owned())],
    );
    assert_eq!(code, 0, "{err}");
    assert!(out.contains('│'), "{out}");
    let widest = out.lines().map(|l| l.chars().count()).max().unwrap_or(0);
    assert!(widest <= 80, "a line of {widest} characters:\n{out}");
    db.cleanup().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ops_check_requirements_exits_1_on_findings() {
    let db = sqlite_db().await;
    let url = db.url.as_str();
    let (code, _, err) = mitx(url, &["catalog", "import", "fixtures/demo/catalog.json"]);
    assert_eq!(code, 0, "{err}");
    let (code, _, err) = mitx(
        url,
        &[
            "catalog",
            "create",
            "program",
            "program-v1:MITx+EMPTY",
            "--title",
            "Empty",
        ],
    );
    assert_eq!(code, 0, "{err}");
    let (code, out, err) = mitx(
        url,
        &[
            "--json",
            "catalog",
            "check-requirements",
            "--program",
            "program-v1:MITx+EMPTY",
        ],
    );
    assert_eq!(code, 1, "{err}");
    let findings: Vec<serde_json::Value> = serde_json::from_str(&out).unwrap();
    assert_eq!(findings.len(), 1, "{out}");
    assert!(err.contains("1 finding(s)"), "{err}");
    db.cleanup().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ops_generate_into_an_unwritable_place_creates_no_codes() {
    let db = sqlite_db().await;
    let url = db.url.as_str();
    let dir = temp_dir("unwritable");
    std::fs::write(dir.join("a-file"), "not a folder").unwrap();
    let generate = |output: &str| {
        mitx_in(
            &dir,
            url,
            &[
                "discounts",
                "generate",
                "--prefix",
                "SAFE",
                "--count",
                "25",
                "--amount",
                "10",
                "--payment-type",
                "marketing",
                "--output",
                output,
            ],
        )
    };
    let all = DiscountFilter {
        limit: 1000,
        ..DiscountFilter::default()
    };
    for output in ["missing-folder/codes.csv", "a-file/codes.csv"] {
        let (code, out, err) = generate(output);
        assert_eq!(code, 1, "{output}: {err}");
        assert!(out.is_empty(), "{out}");
        assert!(
            err.starts_with(&format!("error: cannot write {output}: ")),
            "{err}"
        );
        assert_eq!(err.lines().count(), 1, "{err}");
        assert!(db.store.list_discounts(&all).await.unwrap().is_empty());
    }
    let (code, _, err) = generate("codes.csv");
    assert_eq!(code, 0, "{err}");
    assert_eq!(
        err, "25 created.\nWrote codes.csv.\n",
        "no progress bar in a pipe"
    );
    assert_eq!(db.store.list_discounts(&all).await.unwrap().len(), 25);
    let text = std::fs::read_to_string(dir.join("codes.csv")).unwrap();
    assert_eq!(text.lines().count(), 26);
    let leftovers: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.contains("partial"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
    let _ = std::fs::remove_dir_all(dir);
    db.cleanup().await.unwrap();
}
