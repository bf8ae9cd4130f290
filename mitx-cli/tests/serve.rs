//! `mitx serve` through the real binary: timestamped (or JSON) logs naming each request's
//! id, a clean stop on SIGTERM, and SQL statements cut to their first line in logs.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::support::{command, repo_root, temp_dir};

/// A free loopback port (bound, read and released).
fn free_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
}

/// One HTTP/1.1 GET; the raw answer.
fn get(port: u16, path: &str) -> Option<String> {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).ok()?;
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .ok()?;
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"
    )
    .ok()?;
    let mut answer = String::new();
    stream.read_to_string(&mut answer).ok()?;
    Some(answer)
}

fn header<'a>(answer: &'a str, name: &str) -> Option<&'a str> {
    answer.lines().find_map(|line| {
        let (k, v) = line.split_once(':')?;
        k.eq_ignore_ascii_case(name).then(|| v.trim())
    })
}

/// Starts `mitx serve` on a fresh SQLite file with `envs`; waits until it answers.
fn serve(envs: &[(&str, String)]) -> (Child, u16) {
    let dir = temp_dir("serve");
    let url = format!("sqlite://{}", dir.join("serve.db").display());
    let port = free_port();
    let bind = format!("127.0.0.1:{port}");
    let mut child = command(&repo_root(), &url, &["-v", "serve", "--bind", &bind], envs)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start mitx serve");
    let started = Instant::now();
    while get(port, "/healthz").is_none_or(|a| !a.starts_with("HTTP/1.1 200")) {
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "mitx serve did not start"
        );
        if let Ok(Some(status)) = child.try_wait() {
            panic!("mitx serve exited: {status}");
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    (child, port)
}

/// Stops the server with SIGTERM; its exit code and stderr.
fn stop(mut child: Child) -> (i32, String) {
    let terminated = std::process::Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .expect("kill");
    assert!(terminated.success());
    let mut stderr = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut stderr)
        .unwrap();
    let status = child.wait().unwrap();
    (status.code().unwrap_or(-1), stderr)
}

#[test]
fn human_logs_are_timestamped_and_name_the_request_id() {
    let (child, port) = serve(&[]);
    let answer = get(port, "/api/v2/courses/").expect("an answer");
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    let id = header(&answer, "x-request-id")
        .expect("a request id")
        .to_owned();
    let (code, stderr) = stop(child);
    assert_eq!(code, 0, "a clean stop on SIGTERM: {stderr}");
    let line = stderr
        .lines()
        .find(|l| l.contains(&format!("id={id}")) && l.contains("answered"))
        .unwrap_or_else(|| panic!("no log line names request {id}:\n{stderr}"));
    // `2026-12-03T15:04:31.123456Z  INFO request{id=... method=GET path=...}: ...`
    let stamp = line.split_whitespace().next().unwrap();
    assert!(
        chrono::DateTime::parse_from_rfc3339(stamp).is_ok(),
        "no timestamp at the start of {line:?}"
    );
    assert!(
        line.contains("status=200") && line.contains("route=/api/v2/courses/"),
        "{line}"
    );
}

#[test]
fn json_logs_are_one_object_per_line() {
    let (child, port) = serve(&[("MITX_LOG_FORMAT", "json".to_owned())]);
    let answer = get(port, "/nowhere/").expect("an answer");
    assert!(answer.starts_with("HTTP/1.1 404"), "{answer}");
    let id = header(&answer, "x-request-id")
        .expect("a request id")
        .to_owned();
    let (code, stderr) = stop(child);
    assert_eq!(code, 0, "{stderr}");
    let events: Vec<Value> = stderr
        .lines()
        .filter(|l| l.starts_with('{'))
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect();
    let answered = events
        .iter()
        .find(|e| e["message"] == "answered" && e["spans"][0]["id"] == id.as_str())
        .unwrap_or_else(|| panic!("no JSON event for request {id}:\n{stderr}"));
    assert!(chrono::DateTime::parse_from_rfc3339(answered["timestamp"].as_str().unwrap()).is_ok());
    assert_eq!(answered["level"], "INFO");
    assert_eq!(answered["fields"]["status"], 404);
    assert_eq!(answered["fields"]["route"], "unmatched");
    assert_eq!(answered["spans"][0]["path"], "/nowhere/");
}

#[test]
fn a_bad_log_format_stops_the_command_and_names_the_setting() {
    let dir = temp_dir("logformat");
    let url = format!("sqlite://{}", dir.join("x.db").display());
    let out = command(
        &dir,
        &url,
        &["db", "migrate"],
        &[("MITX_LOG_FORMAT", "xml".to_owned())],
    )
    .output()
    .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("MITX_LOG_FORMAT") && stderr.contains("xml"),
        "{stderr}"
    );
}

#[test]
fn logged_statements_show_their_first_line_only() {
    let dir = temp_dir("statements");
    let url = format!("sqlite://{}", dir.join("x.db").display());
    // Every statement logged (as slow ones are): the migration scripts among them.
    let out = command(
        &dir,
        &url,
        &["db", "migrate"],
        &[("MITX_LOG", "sqlx::query=debug".to_owned())],
    )
    .output()
    .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let stderr = String::from_utf8_lossy(&out.stderr);
    let statements: Vec<&str> = stderr
        .lines()
        .filter(|l| l.contains("db.statement="))
        .collect();
    assert!(!statements.is_empty(), "no statement was logged:\n{stderr}");
    for line in stderr.lines() {
        assert!(
            line.len() < 400,
            "a log line of {} bytes: {}",
            line.len(),
            &line[..200]
        );
        assert!(
            !line.contains("\\n"),
            "a statement's line breaks in the log: {line}"
        );
    }
}
