//! Fixture roots under tests/fixtures/, copied into a temp dir and driven
//! through the real `ohmc-infra` binary with the real Terraform and the
//! project's test provider.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use regex::Regex;

use super::moto::MotoServer;
use super::{ohmc_bin, repo_root, s3_backend, tool, tools_bin};

/// Every sensitive value the fixtures hold starts with this. No stdout or
/// stderr of any run made through this harness may contain it.
pub const CANARY: &str = "CANARY-";

/// A Terraform release the suite runs: the oldest supported one and the
/// current one (scripts/install-tools installs both).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tf {
    Oldest,
    Current,
}

impl Tf {
    pub const ALL: [Tf; 2] = [Tf::Oldest, Tf::Current];

    pub fn version(self) -> &'static str {
        match self {
            Tf::Oldest => "1.0.3",
            Tf::Current => "1.15.5",
        }
    }

    pub fn binary(self) -> PathBuf {
        tool(&format!("terraform-{}", self.version()))
    }
}

pub struct Fixture {
    _dir: tempfile::TempDir,
    pub root: PathBuf,
    pub store: PathBuf,
    pub state_dir: PathBuf,
    pub tf: Tf,
    /// The emulated AWS holding the state, when the fixture uses the S3 backend.
    pub moto: Option<MotoServer>,
}

#[derive(Debug)]
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    pub fn both(&self) -> String {
        format!("{}\n{}", self.stdout, self.stderr)
    }
}

pub fn provider_cli_config() -> PathBuf {
    let config = tools_bin()
        .parent()
        .expect("tools dir")
        .join("terraformrc-test");
    assert!(
        config.exists(),
        "{} is missing: run scripts/build-test-provider",
        config.display()
    );
    config
}

pub fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).unwrap();
        }
    }
}

/// Fails the test if a sensitive fixture value leaked.
pub fn assert_no_canary(what: &str, text: &str) {
    assert!(
        !text.contains(CANARY),
        "a sensitive value leaked into {what}:\n{text}"
    );
}

impl Fixture {
    /// A fixture run with the current Terraform.
    pub fn new(name: &str) -> Fixture {
        Fixture::on(name, Tf::Current)
    }

    /// A fixture run with Terraform release `tf`.
    pub fn on(name: &str, tf: Tf) -> Fixture {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("root");
        copy_dir(&repo_root().join("tests/fixtures").join(name), &root);
        let store = dir.path().join("store");
        std::fs::create_dir_all(&store).unwrap();
        let state_dir = dir.path().join("state");
        Fixture {
            _dir: dir,
            root,
            store,
            state_dir,
            tf,
            moto: None,
        }
    }

    /// A copy of parts of the repository itself (`terraform`, `environments`,
    /// ...) as the fixture root: the real platform code, not a test config.
    pub fn of_repo(parts: &[&str], tf: Tf) -> Fixture {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("root");
        for part in parts {
            copy_dir(&repo_root().join(part), &root.join(part));
        }
        // A developer's own runs leave state, lock files (pinning another
        // provider build) and .terraform behind.
        for leftover in super::files_under(&root.join("terraform"), &[".tfstate"]) {
            std::fs::remove_file(leftover).unwrap();
        }
        for stack in std::fs::read_dir(root.join("terraform/stacks"))
            .into_iter()
            .flatten()
        {
            let stack = stack.unwrap().path();
            let _ = std::fs::remove_file(stack.join(".terraform.lock.hcl"));
            let _ = std::fs::remove_dir_all(stack.join(".terraform"));
        }
        let store = dir.path().join("store");
        std::fs::create_dir_all(&store).unwrap();
        let state_dir = dir.path().join("state");
        Fixture {
            _dir: dir,
            root,
            store,
            state_dir,
            tf,
            moto: None,
        }
    }

    /// A fixture whose stacks keep their state in S3 on a moto of their own,
    /// locked the way release `tf` locks on AWS (see `s3_backend`).
    pub fn on_s3(name: &str, tf: Tf) -> Fixture {
        let mut f = Fixture::on(name, tf);
        let moto = MotoServer::start();
        s3_backend::create_backend(&moto, tf);
        s3_backend::switch_fixture(&f.root, tf, &moto.endpoint());
        f.moto = Some(moto);
        f
    }

    /// The moto server of a fixture made with [`Fixture::on_s3`].
    pub fn moto(&self) -> &MotoServer {
        self.moto
            .as_ref()
            .expect("a fixture made with Fixture::on_s3")
    }

    pub fn path(&self, rel: &str) -> PathBuf {
        self.root.join(rel)
    }

    pub fn write(&self, rel: &str, content: &str) {
        std::fs::write(self.path(rel), content).unwrap();
    }

    /// The binary with this fixture's root, the pinned Terraform, the test
    /// provider's mirror and a private state dir.
    pub fn cmd(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(ohmc_bin());
        cmd.arg("--root")
            .arg(&self.root)
            .args(args)
            .env("OHMC_STATE_DIR", &self.state_dir)
            .env("OHMC_TERRAFORM", self.tf.binary())
            .env("OHMC_TF_CLI_CONFIG", provider_cli_config())
            .env("OHMCTEST_STORE_DIR", &self.store)
            .env_remove("OHMC_ROOT")
            .env_remove("TF_CLI_ARGS")
            .env_remove("AWS_ENDPOINT_URL")
            .env_remove("AWS_PROFILE")
            .stdin(Stdio::null());
        if self.moto.is_some() {
            cmd.envs(s3_backend::aws_env());
        }
        cmd
    }

    /// Like [`Fixture::cmd`] but run in `cwd`, with neither `--root` nor a
    /// state dir: the test passes both (relative ones, say) in `args`.
    pub fn cmd_in(&self, cwd: &Path, args: &[&str]) -> Command {
        let mut cmd = Command::new(ohmc_bin());
        cmd.current_dir(cwd)
            .args(args)
            .env("OHMC_TERRAFORM", tool("terraform"))
            .env("OHMC_TF_CLI_CONFIG", provider_cli_config())
            .env("OHMCTEST_STORE_DIR", &self.store)
            .env_remove("OHMC_STATE_DIR")
            .env_remove("OHMC_ROOT")
            .env_remove("TF_CLI_ARGS")
            .stdin(Stdio::null());
        cmd
    }

    /// Runs `args` with a Terraform that first notes its subcommand (the
    /// first argument that is not a `-flag`) in a log, then execs the real
    /// one; returns the run and the subcommands in the order they started.
    /// The processes a command costs are its overhead over raw Terraform.
    pub fn run_counting_terraform(&self, args: &[&str]) -> (Run, Vec<String>) {
        let log = self.root.join("../terraform-calls.log");
        let _ = std::fs::remove_file(&log);
        let wrapper = self.root.join("../terraform-counting");
        let script = format!(
            "#!/bin/sh\n\
             for a in \"$@\"; do case \"$a\" in -*) ;; *) echo \"$a\" >> '{log}'; break;; esac; done\n\
             exec '{real}' \"$@\"\n",
            log = log.display(),
            real = self.tf.binary().display()
        );
        // Written once: the tool caches `terraform version` by the binary's
        // modification time, and a rewritten wrapper would look new.
        if !wrapper.exists() {
            std::fs::write(&wrapper, script).unwrap();
        }
        let mut perms = std::fs::metadata(&wrapper).unwrap().permissions();
        std::os::unix::fs::PermissionsExt::set_mode(&mut perms, 0o755);
        std::fs::set_permissions(&wrapper, perms).unwrap();
        let out = self
            .cmd(args)
            .env("OHMC_TERRAFORM", &wrapper)
            .output()
            .expect("running ohmc-infra");
        let calls = std::fs::read_to_string(&log)
            .unwrap_or_default()
            .lines()
            .map(str::to_string)
            .collect();
        (self.finish(args, out), calls)
    }

    pub fn run(&self, args: &[&str]) -> Run {
        let out = self.cmd(args).output().expect("running ohmc-infra");
        self.finish(args, out)
    }

    pub fn finish(&self, args: &[&str], out: Output) -> Run {
        let run = Run {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        };
        assert_no_canary(&format!("ohmc-infra {}", args.join(" ")), &run.both());
        run
    }

    /// Runs and asserts the exit code, showing everything when it differs.
    pub fn run_ok(&self, args: &[&str], code: i32) -> Run {
        let run = self.run(args);
        assert_eq!(
            run.code,
            code,
            "ohmc-infra {} exited {}:\nstdout:\n{}\nstderr:\n{}",
            args.join(" "),
            run.code,
            run.stdout,
            run.stderr
        );
        run
    }

    /// Replaces what differs between runs so output compares as a snapshot.
    pub fn normalise(&self, text: &str) -> String {
        let text = text
            .replace(&self.root.display().to_string(), "[ROOT]")
            .replace(&self.state_dir.display().to_string(), "[STATE]");
        let rules = [
            (r"[0-9a-f]{64}", "[SHA256]"),
            (r"\d{8}T\d{6}Z(-\d+)?", "[STAMP]"),
            (r"in \d+\.\d+s", "in [T]s"),
            (r"\(\d+s\)", "([T]s)"),
            (r"-[0-9a-f]{8}\b", "-[ID]"),
        ];
        let mut text = text.to_string();
        for (pattern, replacement) in rules {
            text = Regex::new(pattern)
                .unwrap()
                .replace_all(&text, replacement)
                .into_owned();
        }
        text
    }

    /// Changes the value of the stored thing whose record starts with
    /// `record_prefix` behind Terraform's back: drift.
    pub fn change_thing_by_hand(&self, record_prefix: &str) {
        let file = std::fs::read_dir(&self.store)
            .unwrap()
            .flatten()
            .find(|e| e.file_name().to_string_lossy().starts_with(record_prefix))
            .unwrap_or_else(|| panic!("no stored thing {record_prefix}*"))
            .path();
        let mut thing: serde_json::Value =
            serde_json::from_slice(&std::fs::read(&file).unwrap()).unwrap();
        thing["value"] = "changed-by-hand".into();
        std::fs::write(&file, serde_json::to_vec(&thing).unwrap()).unwrap();
    }

    /// Names of the things that really exist in the provider's backing store.
    pub fn store_names(&self) -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(&self.store)
            .unwrap()
            .filter_map(|e| e.ok())
            .filter(|e| e.path().extension().and_then(|x| x.to_str()) == Some("json"))
            .map(|e| {
                let v: serde_json::Value =
                    serde_json::from_slice(&std::fs::read(e.path()).unwrap()).unwrap();
                v["name"].as_str().unwrap_or("?").to_string()
            })
            .collect();
        names.sort();
        names
    }

    /// The pinned Terraform run directly (not through the tool under test) in
    /// one stack of `env`, with the data dir ohmc-infra uses for it.
    pub fn terraform(&self, env: &str, stack_dir: &str) -> Command {
        let stack = Path::new(stack_dir).file_name().unwrap();
        let mut cmd = Command::new(self.tf.binary());
        cmd.current_dir(self.path(stack_dir))
            .env(
                "TF_DATA_DIR",
                self.state_dir.join("tfdata").join(env).join(stack),
            )
            .env("TF_CLI_CONFIG_FILE", provider_cli_config())
            .env("OHMCTEST_STORE_DIR", &self.store);
        if self.moto.is_some() {
            cmd.envs(s3_backend::aws_env());
        }
        cmd
    }

    /// `terraform state list` of one stack, sorted.
    pub fn state_list(&self, env: &str, stack_dir: &str) -> Vec<String> {
        let out = self
            .terraform(env, stack_dir)
            .args(["state", "list"])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "state list: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let mut list: Vec<String> = String::from_utf8_lossy(&out.stdout)
            .lines()
            .map(str::to_string)
            .collect();
        list.sort();
        list
    }

    /// The bundle directory `plan` printed.
    pub fn bundle_of(run: &Run) -> String {
        Self::bundle_line(run).0
    }

    /// The bundle's sha256 `plan` printed.
    pub fn bundle_sha_of(run: &Run) -> String {
        Self::bundle_line(run).1
    }

    /// `Bundle: DIR (sha256 SHA)` from `plan`'s output: (DIR, SHA).
    fn bundle_line(run: &Run) -> (String, String) {
        let re = Regex::new(r"Bundle: (\S+) \(sha256 ([0-9a-f]{64})\)").unwrap();
        let captures = re
            .captures(&run.stdout)
            .unwrap_or_else(|| panic!("no bundle in:\n{}", run.stdout));
        (captures[1].to_string(), captures[2].to_string())
    }

    /// Processes (Terraform, providers, watchdogs) whose working directory or
    /// command line is inside this fixture's temp dir.
    pub fn processes(&self) -> Vec<String> {
        let needle = self.root.parent().unwrap().display().to_string();
        let mut found = Vec::new();
        for entry in std::fs::read_dir("/proc").unwrap().flatten() {
            let pid = entry.file_name().to_string_lossy().into_owned();
            if !pid.chars().all(|c| c.is_ascii_digit()) {
                continue;
            }
            let cwd = std::fs::read_link(entry.path().join("cwd"))
                .map(|p| p.display().to_string())
                .unwrap_or_default();
            let cmdline = std::fs::read(entry.path().join("cmdline"))
                .map(|b| String::from_utf8_lossy(&b).replace('\0', " "))
                .unwrap_or_default();
            if cwd.starts_with(&needle) || cmdline.contains(&needle) {
                found.push(format!("{pid}: {cmdline}"));
            }
        }
        found
    }

    /// Waits until no process of this fixture is left, up to `limit`.
    pub fn wait_for_no_processes(&self, limit: std::time::Duration) -> Vec<String> {
        let deadline = std::time::Instant::now() + limit;
        loop {
            let left = self.processes();
            if left.is_empty() || std::time::Instant::now() > deadline {
                return left;
            }
            std::thread::sleep(std::time::Duration::from_millis(200));
        }
    }
}
