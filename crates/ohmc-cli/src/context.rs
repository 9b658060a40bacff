//! Turning global flags into the operations' context: where the repository
//! is, where private state goes, which Terraform runs.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use ohmc_infra::environment::{self, Environment};
use ohmc_infra::ops::{OpsContext, Progress};
use ohmc_infra::private_fs;
use ohmc_terraform::{Interrupt, Terraform, TerraformConfig};
use tokio::sync::mpsc;

use crate::cli::{Cli, Command, GlobalArgs};

/// Makes every path the user gave absolute against the working directory at
/// start-up. Terraform runs inside each stack's folder, so a relative
/// `--state-dir`, `--plan` or `--tf-cli-config` handed to it would otherwise
/// point into the stack (a data dir, backend config and plan files written
/// under `terraform/`), or nowhere. An empty path stays empty for the
/// argument checks to refuse.
pub fn resolve_paths(cli: &mut Cli) -> Result<()> {
    let cwd = std::env::current_dir().context("reading the working directory")?;
    let abs = |p: &mut Option<PathBuf>| {
        if let Some(path) = p {
            if !path.as_os_str().is_empty() && path.is_relative() {
                *path = cwd.join(&*path);
            }
        }
    };
    let g = &mut cli.global;
    abs(&mut g.root);
    abs(&mut g.state_dir);
    abs(&mut g.terraform);
    abs(&mut g.tf_cli_config);
    match &mut cli.command {
        Command::Apply(a) => abs(&mut a.plan),
        Command::Verify(v) => abs(&mut v.outputs),
        Command::Audit(a) => {
            abs(&mut a.waivers);
            abs(&mut a.baseline);
            abs(&mut a.output_dir);
        }
        Command::Envs
        | Command::Bootstrap(_)
        | Command::Plan(_)
        | Command::Drift(_)
        | Command::Output(_)
        | Command::DrDrill(_) => {}
    }
    Ok(())
}

/// The repository root: `--root`, or the nearest parent of the working
/// directory that has an `environments/` folder.
pub fn root(global: &GlobalArgs) -> Result<PathBuf> {
    if let Some(root) = &global.root {
        let dir = root
            .canonicalize()
            .with_context(|| format!("--root {}", root.display()))?;
        if !dir.is_dir() {
            anyhow::bail!("--root {}: not a directory", root.display());
        }
        if !environments_dir(&dir).is_dir() {
            anyhow::bail!(
                "--root {}: no environments/ folder there; pass the repository root",
                root.display()
            );
        }
        return Ok(dir);
    }
    let cwd = std::env::current_dir().context("reading the working directory")?;
    cwd.ancestors()
        .find(|d| d.join("environments").is_dir())
        .map(Path::to_path_buf)
        .with_context(|| format!("no environments/ folder in {} or its parents; run inside the repository or pass --root", cwd.display()))
}

/// An option naming a file that must exist: a missing one is refused rather than
/// ignored or replaced by a default.
pub fn require_file(option: &str, path: &Path) -> Result<()> {
    match std::fs::metadata(path) {
        Ok(m) if m.is_dir() => {
            anyhow::bail!("{option} {}: is a directory, not a file", path.display())
        }
        Ok(_) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            anyhow::bail!("{option} {}: no such file", path.display())
        }
        Err(e) => anyhow::bail!("{option} {}: {e}", path.display()),
    }
}

pub fn environments_dir(root: &Path) -> PathBuf {
    root.join("environments")
}

pub fn load_environment(root: &Path, name: &str) -> Result<Environment> {
    Ok(environment::load(&environments_dir(root), name)?)
}

pub fn state_dir(global: &GlobalArgs, root: &Path) -> Result<PathBuf> {
    let dir = global
        .state_dir
        .clone()
        .unwrap_or_else(|| root.join(".ohmc"));
    ohmc_infra::ops::check_state_dir(root, &dir, &[])?;
    private_fs::create_private_dir(&dir)
        .with_context(|| format!("creating the state directory {}", dir.display()))?;
    Ok(dir)
}

pub async fn terraform(global: &GlobalArgs, root: &Path, state_dir: &Path) -> Result<Terraform> {
    let cli_config_file = match &global.tf_cli_config {
        Some(f) => f.clone(),
        None => {
            // An explicit, empty CLI config: the ambient TF_CLI_CONFIG_FILE may
            // point anywhere (or nowhere) on a build machine.
            let f = state_dir.join("terraformrc");
            if !f.exists() {
                std::fs::write(
                    &f,
                    "# written by ohmc-infra: no provider installation overrides\n",
                )
                .with_context(|| format!("writing {}", f.display()))?;
            }
            f
        }
    };
    let config = TerraformConfig {
        binary: global.terraform.clone(),
        search_dirs: vec![root.join(".tools").join("bin")],
        cli_config_file,
        grace_period: global.grace_period,
        version_cache: Some(state_dir.join("terraform-version")),
    };
    Ok(Terraform::discover(config).await?)
}

pub async fn ops_context(
    global: &GlobalArgs,
    interrupt: Interrupt,
    progress: Option<mpsc::UnboundedSender<Progress>>,
) -> Result<OpsContext> {
    let root = root(global)?;
    let state_dir = state_dir(global, &root)?;
    let terraform = terraform(global, &root, &state_dir).await?;
    Ok(OpsContext {
        root,
        state_dir,
        terraform,
        interrupt,
        progress,
        lock_timeout: global.lock_timeout,
        parallelism: global.parallelism,
        // This binary is the watchdog of its own Terraform runs; without a
        // path to itself (a deleted executable), runs are unsupervised.
        watchdog: std::env::current_exe().ok(),
    })
}

/// Says what became of earlier runs on `env` whose ohmc-infra died before
/// Terraform ended (on stderr, whatever `-q` says: it is news about the
/// state), and refuses to start while one is still running.
pub fn report_previous_runs(ctx: &OpsContext, env: &str) -> anyhow::Result<()> {
    for note in ctx.previous_runs(env)? {
        eprintln!("note: {note}");
    }
    Ok(())
}
