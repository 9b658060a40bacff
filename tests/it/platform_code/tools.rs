//! Running the pinned tools (Terraform, checkov) with a controlled
//! environment, output captured in files and a hard timeout.

use crate::harness::{repo_root, tool};
use std::fs::File;
use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

// --- Running the pinned tools -----------------------------------------------

pub struct Output {
    pub status: std::process::ExitStatus,
    pub stdout: String,
    pub stderr: String,
}

/// Runs a command with stdout and stderr going to files (no pipe can fill up)
/// and a hard timeout, so a tool that hangs fails the test instead of the run.
pub fn run(mut command: Command, stdin: Option<&[u8]>, timeout: Duration) -> Output {
    let scratch = tempfile::tempdir().expect("tempdir");
    let out_path = scratch.path().join("stdout");
    let err_path = scratch.path().join("stderr");
    command
        .stdout(File::create(&out_path).expect("stdout file"))
        .stderr(File::create(&err_path).expect("stderr file"))
        .stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        });
    let description = format!("{command:?}");
    let mut child = command
        .spawn()
        .unwrap_or_else(|e| panic!("starting {description}: {e}"));
    if let Some(input) = stdin {
        let mut pipe = child.stdin.take().expect("stdin");
        pipe.write_all(input).expect("writing stdin");
    }
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().expect("waiting") {
            break status;
        }
        if started.elapsed() > timeout {
            let _ = child.kill();
            let _ = child.wait();
            panic!("{description} did not finish within {timeout:?}");
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    Output {
        status,
        stdout: std::fs::read_to_string(&out_path).expect("stdout"),
        stderr: std::fs::read_to_string(&err_path).expect("stderr"),
    }
}

/// The pinned Terraform with a controlled environment: no ambient CLI config,
/// arguments or logging, no checkpoint calls.
pub fn terraform(scratch: &Path) -> Command {
    let cli_config = scratch.join("terraformrc");
    std::fs::write(&cli_config, "").expect("terraformrc");
    let mut command = Command::new(tool("terraform"));
    command
        .current_dir(repo_root())
        .env("TF_CLI_CONFIG_FILE", cli_config)
        .env("TF_IN_AUTOMATION", "1")
        .env("CHECKPOINT_DISABLE", "1")
        .env("TF_LOG", "");
    for (key, _) in std::env::vars_os() {
        if key.to_string_lossy().starts_with("TF_CLI_ARGS") {
            command.env_remove(key);
        }
    }
    command
}

pub struct CheckovRun {
    pub summary: serde_json::Value,
    pub failed: Vec<serde_json::Value>,
    pub skipped: Vec<serde_json::Value>,
}

impl CheckovRun {
    pub fn count(&self, key: &str) -> u64 {
        self.summary[key]
            .as_u64()
            .unwrap_or_else(|| panic!("checkov summary has no {key}: {}", self.summary))
    }

    pub fn describe_failed(&self) -> String {
        self.failed
            .iter()
            .map(|f| {
                format!(
                    "  {} {} ({}:{}) {}",
                    f["check_id"].as_str().unwrap_or("?"),
                    f["resource"].as_str().unwrap_or("?"),
                    f["file_path"].as_str().unwrap_or("?"),
                    f["file_line_range"],
                    f["check_name"].as_str().unwrap_or("")
                )
            })
            .collect::<Vec<_>>()
            .join("\n")
    }
}

/// Runs the pinned checkov over terraform/, offline: `--skip-download` keeps
/// it from asking the Prisma Cloud API for guidelines and enforcement rules,
/// `BC_SKIP_MAPPING` from fetching the check-id mapping, and a proxy that
/// points at a closed local port turns any request it still tries into an
/// immediate failure instead of a hang. `--quiet` is not used: in JSON it
/// drops the skipped checks, whose reasons the tests inspect.
pub fn checkov(extra_args: &[&str]) -> CheckovRun {
    let mut command = Command::new(tool("checkov"));
    command
        .current_dir(repo_root())
        .args([
            "-d",
            "terraform",
            "--framework",
            "terraform",
            "--compact",
            "-o",
            "json",
            "--skip-download",
        ])
        .args(extra_args)
        .env("BC_SKIP_MAPPING", "TRUE")
        .env("LOG_LEVEL", "ERROR")
        .env("PYTHONWARNINGS", "ignore");
    for proxy in ["HTTPS_PROXY", "HTTP_PROXY", "https_proxy", "http_proxy"] {
        command.env(proxy, "http://127.0.0.1:9");
    }
    for no_proxy in ["NO_PROXY", "no_proxy"] {
        command.env_remove(no_proxy);
    }
    let output = run(command, None, Duration::from_secs(600));
    // checkov exits 1 when checks fail; anything else is a crash.
    let code = output.status.code();
    assert!(
        matches!(code, Some(0) | Some(1)),
        "checkov crashed ({:?}):\n{}",
        output.status,
        output.stderr
    );
    let json: serde_json::Value = serde_json::from_str(&output.stdout).unwrap_or_else(|e| {
        panic!(
            "checkov printed no JSON ({e}):\n{}\n{}",
            output.stdout, output.stderr
        )
    });
    // One framework gives one report object; several give a list of them.
    let report = match json {
        serde_json::Value::Array(reports) => reports
            .into_iter()
            .find(|r| r["check_type"] == "terraform")
            .expect("a terraform report"),
        report => report,
    };
    assert_eq!(
        report["check_type"], "terraform",
        "unexpected checkov report: {report}"
    );
    let list = |key: &str| {
        report["results"][key]
            .as_array()
            .cloned()
            .unwrap_or_default()
    };
    CheckovRun {
        summary: report["summary"].clone(),
        failed: list("failed_checks"),
        skipped: list("skipped_checks"),
    }
}
