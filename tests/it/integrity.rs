//! Paths, bundles and backends: what the tool writes, where, and what a plan
//! bundle's hash and a data dir's record hold it to (issue 11, sections 3 and 7).

use std::collections::BTreeMap;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use crate::harness::fixture::{copy_dir, provider_cli_config, Fixture};
use crate::harness::tool;

/// Every file and folder under `dir`, dotfiles included: mode and content.
fn snapshot(dir: &Path) -> BTreeMap<String, (u32, Vec<u8>)> {
    fn walk(base: &Path, dir: &Path, out: &mut BTreeMap<String, (u32, Vec<u8>)>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            let meta = std::fs::symlink_metadata(&path).unwrap();
            let rel = path.strip_prefix(base).unwrap().display().to_string();
            let mode = meta.permissions().mode() & 0o7777;
            if meta.is_dir() {
                out.insert(format!("{rel}/"), (mode, Vec::new()));
                walk(base, &path, out);
            } else {
                out.insert(rel, (mode, std::fs::read(&path).unwrap()));
            }
        }
    }
    let mut out = BTreeMap::new();
    walk(dir, dir, &mut out);
    out
}

fn names(snapshot: &BTreeMap<String, (u32, Vec<u8>)>) -> Vec<&str> {
    snapshot.keys().map(String::as_str).collect()
}

fn mode(p: &Path) -> u32 {
    std::fs::metadata(p).unwrap().permissions().mode() & 0o777
}

/// The fixture's dev environment with its local state kept outside the stack
/// folder, so the stack folder holds only configuration.
fn basic_with_state_outside() -> (Fixture, PathBuf) {
    let f = Fixture::new("basic");
    let states = f.root.parent().unwrap().join("states");
    std::fs::create_dir_all(&states).unwrap();
    let env = f.path("environments/dev/environment.hcl");
    let text = std::fs::read_to_string(&env).unwrap();
    let state = states.join("dev.tfstate");
    std::fs::write(
        &env,
        text.replace(
            "path = \"dev.tfstate\"",
            &format!("path = \"{}\"", state.display()),
        ),
    )
    .unwrap();
    (f, state)
}

#[test]
fn relative_paths_resolve_against_the_working_directory() {
    let (f, state) = basic_with_state_outside();
    // Terraform's own dependency lock file belongs to the configuration (it is
    // committed next to the .tf files); a first run makes it, as a real stack
    // would have it checked in. From here on nothing may change in the stack.
    f.run_ok(&["plan", "dev"], 2);
    let stack = f.path("stacks/app");
    let before = snapshot(&stack);
    assert_eq!(names(&before), [".terraform.lock.hcl", "main.tf"]);

    let work = f.root.parent().unwrap().join("work");
    std::fs::create_dir_all(&work).unwrap();
    std::os::unix::fs::symlink(tool("terraform"), work.join("tf")).unwrap();
    std::fs::copy(provider_cli_config(), work.join("tfrc")).unwrap();
    let global = [
        "--root",
        "../root",
        "--state-dir",
        "st",
        "--terraform",
        "tf",
        "--tf-cli-config",
        "tfrc",
    ];
    let run = |extra: &[&str], code: i32| {
        let args: Vec<&str> = global.iter().chain(extra).copied().collect();
        let out = f.cmd_in(&work, &args).output().unwrap();
        let run = f.finish(&args, out);
        assert_eq!(run.code, code, "{args:?}:\n{}\n{}", run.stdout, run.stderr);
        run
    };
    let planned = run(&["plan", "dev"], 2);
    let bundle = PathBuf::from(Fixture::bundle_of(&planned));
    let work = work.canonicalize().unwrap();
    assert!(
        bundle.starts_with(work.join("st/plans/dev")),
        "{}",
        bundle.display()
    );
    // `apply --plan` with a path relative to the working directory.
    let relative_bundle = bundle.strip_prefix(&work).unwrap().display().to_string();
    run(&["apply", "dev", "--plan", &relative_bundle], 0);
    assert_eq!(f.store_names(), ["a", "b", "c", "secret-holder"]);
    assert!(state.is_file());
    assert!(work.join("st/tfdata/dev/app/terraform.tfstate").is_file());

    // OHMC_STATE_DIR relative, too, with the state dir as it was left.
    let args = ["--root", "../root", "plan", "dev"];
    let out = f
        .cmd_in(&work, &args)
        .env("OHMC_STATE_DIR", "st")
        .output()
        .unwrap();
    let again = f.finish(&args, out);
    assert_eq!(again.code, 0, "{}\n{}", again.stdout, again.stderr);
    assert!(
        again.stdout.contains("Stack app: no changes"),
        "{}",
        again.stdout
    );

    let after = snapshot(&stack);
    assert_eq!(names(&after), names(&before));
    assert!(after == before, "the stack folder changed");
}

#[test]
fn a_state_dir_inside_the_configuration_is_refused() {
    let f = Fixture::new("basic");
    let before = snapshot(&f.path("stacks"));
    for state_dir in ["stacks/app/.ohmc", "stacks/app/x/y"] {
        let args = ["--root", ".", "--state-dir", state_dir, "plan", "dev"];
        let out = f.cmd_in(&f.root, &args).output().unwrap();
        let run = f.finish(&args, out);
        assert_eq!(run.code, 1, "{}\n{}", run.stdout, run.stderr);
        assert_eq!(
            f.normalise(&run.stderr).trim(),
            format!("error: the state dir [ROOT]/{state_dir} is inside [ROOT]/stacks/app: Terraform's data dir, plan files and backend settings would be written into the configuration; pass a --state-dir outside it")
        );
    }
    assert!(
        snapshot(&f.path("stacks")) == before,
        "something was written under stacks/"
    );
}

#[test]
fn stack_names_are_checked_before_they_name_files() {
    let f = Fixture::new("basic");
    let env = f.path("environments/dev/environment.hcl");
    let text = std::fs::read_to_string(&env).unwrap();
    for bad in ["../../../../etc", "/abs/path", ""] {
        std::fs::write(
            &env,
            text.replace("stack \"app\"", &format!("stack \"{bad}\"")),
        )
        .unwrap();
        let run = f.run_ok(&["plan", "dev"], 1);
        assert_eq!(
            f.normalise(&run.stderr).trim(),
            format!("error: [ROOT]/environments/dev/environment.hcl:8: stack: \"{bad}\" is not a valid stack name: use lowercase letters, digits, '_' and '-', starting with a letter or digit ([a-z0-9][a-z0-9_-]*); the name becomes a file name")
        );
    }
    assert!(
        !f.state_dir.join("plans").exists(),
        "nothing may be planned"
    );
}

#[test]
fn an_existing_state_dir_keeps_its_mode() {
    let f = Fixture::new("basic");
    std::fs::create_dir_all(&f.state_dir).unwrap();
    std::fs::set_permissions(&f.state_dir, std::fs::Permissions::from_mode(0o755)).unwrap();
    let run = f.run_ok(&["plan", "dev"], 2);
    assert_eq!(
        mode(&f.state_dir),
        0o755,
        "a directory the tool did not create was chmod'ed"
    );
    let bundle = PathBuf::from(Fixture::bundle_of(&run));
    assert_eq!(mode(&f.state_dir.join("plans")), 0o700);
    assert_eq!(mode(&f.state_dir.join("tfdata")), 0o700);
    assert_eq!(mode(&bundle), 0o700);
}

fn bundles(f: &Fixture) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(f.state_dir.join("plans/dev"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n != "latest" && n != "last-applied")
        .collect();
    names.sort();
    names
}

#[test]
fn old_bundles_are_pruned_but_never_the_one_last_applied() {
    let f = Fixture::new("basic");
    let applied = Fixture::bundle_of(&f.run_ok(&["plan", "dev"], 2));
    let applied = Path::new(&applied)
        .file_name()
        .unwrap()
        .to_string_lossy()
        .into_owned();
    f.run_ok(&["apply", "dev"], 0);
    let mut newest = Vec::new();
    for _ in 0..3 {
        let run = f.run_ok(&["plan", "dev", "--keep-bundles", "2"], 0);
        let dir = Fixture::bundle_of(&run);
        newest.push(
            Path::new(&dir)
                .file_name()
                .unwrap()
                .to_string_lossy()
                .into_owned(),
        );
    }
    let mut expected = vec![applied.clone(), newest[1].clone(), newest[2].clone()];
    expected.sort();
    assert_eq!(bundles(&f), expected);

    // environment.hcl's `bundles { keep }` when no flag is given.
    let env = f.path("environments/dev/environment.hcl");
    let text = std::fs::read_to_string(&env).unwrap();
    std::fs::write(&env, format!("{text}\nbundles {{\n  keep = 1\n}}\n")).unwrap();
    let run = f.run_ok(&["plan", "dev"], 0);
    let last = Path::new(&Fixture::bundle_of(&run))
        .file_name()
        .unwrap()
        .to_string_lossy()
        .into_owned();
    let mut expected = vec![applied.clone(), last.clone()];
    expected.sort();
    assert_eq!(bundles(&f), expected);
    // The newest is `latest`, and applying it moves `last-applied` on.
    assert_eq!(
        std::fs::read_to_string(f.state_dir.join("plans/dev/latest")).unwrap(),
        last
    );
    f.run_ok(&["apply", "dev"], 0);
    f.run_ok(&["plan", "dev"], 0);
    assert_eq!(bundles(&f).len(), 2, "{:?}", bundles(&f));
    assert!(!bundles(&f).contains(&applied), "{:?}", bundles(&f));

    // A usage error; its exit code is the argument parser's business.
    let refused = f.run(&["plan", "dev", "--keep-bundles", "0"]);
    assert_ne!(refused.code, 0);
    assert!(
        refused.stderr.contains("--keep-bundles"),
        "{}",
        refused.stderr
    );
}

#[test]
fn every_field_of_bundle_json_is_covered_by_its_hash() {
    let f = Fixture::new("basic");
    let planned = f.run_ok(&["plan", "prod"], 2);
    let bundle = Fixture::bundle_of(&planned);
    let sha = Fixture::bundle_sha_of(&planned);
    let meta_path = Path::new(&bundle).join("bundle.json");
    let original = std::fs::read_to_string(&meta_path).unwrap();
    type Edit = fn(&mut serde_json::Value);
    let edits: [(&str, Edit); 9] = [
        ("environment", |m| m["environment"] = "dev".into()),
        ("destroy", |m| m["destroy"] = true.into()),
        ("git", |m| {
            m["git"]["commit"] = "0123456789abcdef0123456789abcdef01234567".into()
        }),
        ("git dirty", |m| m["git"]["dirty"] = true.into()),
        ("state serial", |m| {
            m["stacks"][0]["state"]["serial"] = 7.into()
        }),
        ("state lineage", |m| {
            m["stacks"][0]["state"]["lineage"] = "other".into()
        }),
        ("var-file hash", |m| {
            m["stacks"][0]["var_files"][0]["sha256"] = "0".repeat(64).into()
        }),
        ("config hash", |m| {
            m["stacks"][0]["config_sha256"] = "0".repeat(64).into()
        }),
        ("terraform version", |m| {
            m["terraform_version"] = "1.0.4".into()
        }),
    ];
    for (field, edit) in edits {
        let mut meta: serde_json::Value = serde_json::from_str(&original).unwrap();
        edit(&mut meta);
        std::fs::write(&meta_path, serde_json::to_string_pretty(&meta).unwrap()).unwrap();
        // An edited environment is tried against the environment it now names.
        let env = meta["environment"].as_str().unwrap().to_string();
        let run = f.run_ok(&["apply", &env, "--plan", &bundle, "--approve", &sha], 1);
        assert_eq!(
            run.stderr.trim(),
            format!("error: the plan bundle is stale: bundle.json's hashes do not add up (edited by hand?); run `ohmc-infra plan {env}` again"),
            "editing {field}"
        );
        assert!(
            f.store_names().is_empty(),
            "editing {field}: something was applied"
        );
    }
    std::fs::write(&meta_path, &original).unwrap();
    f.run_ok(&["apply", "prod", "--plan", &bundle, "--approve", &sha], 0);
}

fn set_backend_path(f: &Fixture, path: &str) {
    let env = f.path("environments/dev/environment.hcl");
    let text = std::fs::read_to_string(&env).unwrap();
    let re = regex::Regex::new(r#"path = "[^"]*""#).unwrap();
    std::fs::write(
        &env,
        re.replace(&text, format!("path = \"{path}\"").as_str())
            .as_ref(),
    )
    .unwrap();
}

#[test]
fn a_changed_backend_is_refused_and_can_be_migrated() {
    let f = Fixture::new("basic");
    f.run_ok(&["plan", "dev"], 2);
    f.run_ok(&["apply", "dev"], 0);
    set_backend_path(&f, "moved.tfstate");
    let run = f.run_ok(&["plan", "dev"], 1);
    // A per-stack failure: reported under the stack, the others would go on.
    let stdout = f.normalise(&run.stdout);
    let mut lines = stdout
        .lines()
        .map(str::trim)
        .skip_while(|l| *l != "Stack app: FAILED")
        .skip(1);
    assert_eq!(
        lines.next().unwrap(),
        "stack app: its backend changed since [STATE]/tfdata/dev/app was initialised: it was local (path=dev.tfstate), it is now local (path=moved.tfstate). Continuing would start from the new location's state (empty if it is new), so nothing was run."
    );
    let migrate = lines.next().unwrap();
    // The Terraform binary named is the one the run used (the harness picks a version).
    let prefix = format!(
        "To move the state there: cd [ROOT]/stacks/app && TF_DATA_DIR=[STATE]/tfdata/dev/app TF_CLI_CONFIG_FILE={} ",
        provider_cli_config().display()
    );
    let suffix = " init -input=false -migrate-state -force-copy -backend-config=path=moved.tfstate";
    let binary = migrate
        .strip_prefix(&prefix)
        .and_then(|rest| rest.strip_suffix(suffix))
        .unwrap_or_else(|| panic!("{migrate}"));
    assert!(Path::new(binary).is_file(), "{migrate}");
    assert_eq!(
        lines.next().unwrap(),
        "To start over on the new backend on purpose, delete [STATE]/tfdata/dev/app"
    );
    assert!(!f.path("stacks/app/moved.tfstate").exists());
    assert!(f.state_dir.join("plans/dev").read_dir().unwrap().count() > 0);

    // Still refused the second time: the data dir was pointed back at the old state.
    f.run_ok(&["plan", "dev"], 1);
    set_backend_path(&f, "dev.tfstate");
    let back = f.run_ok(&["plan", "dev"], 0);
    assert!(
        back.stdout.contains("Stack app: no changes"),
        "{}",
        back.stdout
    );

    // The printed command migrates, and then the new backend holds the old state.
    set_backend_path(&f, "moved.tfstate");
    let refused = f.run_ok(&["plan", "dev"], 1);
    let command = refused
        .stdout
        .lines()
        .find_map(|l| l.trim().strip_prefix("To move the state there: "))
        .unwrap()
        .to_string();
    let out = std::process::Command::new("sh")
        .args(["-c", &command])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(f.path("stacks/app/moved.tfstate").is_file());
    let migrated = f.run_ok(&["plan", "dev"], 0);
    assert!(
        migrated.stdout.contains("Stack app: no changes"),
        "{}",
        migrated.stdout
    );
}

/// A copy of the test provider's mirror and a CLI config that installs from it.
fn private_mirror(f: &Fixture) -> (PathBuf, PathBuf) {
    let original = std::fs::read_to_string(provider_cli_config()).unwrap();
    let mirror_re = regex::Regex::new(r#"path\s*=\s*"([^"]+)""#).unwrap();
    let mirror = PathBuf::from(&mirror_re.captures(&original).unwrap()[1]);
    let copy = f.root.parent().unwrap().join("mirror");
    copy_dir(&mirror, &copy);
    let config = f.root.parent().unwrap().join("terraformrc");
    std::fs::write(
        &config,
        original.replace(&mirror.display().to_string(), &copy.display().to_string()),
    )
    .unwrap();
    (copy, config)
}

#[test]
fn a_rebuilt_provider_mirror_re_initialises() {
    let f = Fixture::new("basic");
    let (mirror, config) = private_mirror(&f);
    let run = |args: &[&str], code: i32| {
        let out = f
            .cmd(args)
            .env("OHMC_TF_CLI_CONFIG", &config)
            .output()
            .unwrap();
        let run = f.finish(args, out);
        assert_eq!(run.code, code, "{args:?}:\n{}\n{}", run.stdout, run.stderr);
        run
    };
    run(&["plan", "dev"], 2);
    run(&["apply", "dev"], 0);
    // A rebuilt provider: another binary of the same version. Appending bytes
    // to the executable changes its checksum and keeps it runnable.
    let binary =
        std::fs::read_dir(mirror.join("registry.terraform.io/ohmc/ohmctest/0.1.0/linux_amd64"))
            .unwrap()
            .next()
            .unwrap()
            .unwrap()
            .path();
    let mut bytes = std::fs::read(&binary).unwrap();
    bytes.extend_from_slice(b"rebuilt");
    std::fs::remove_file(&binary).unwrap();
    std::fs::write(&binary, bytes).unwrap();
    std::fs::set_permissions(&binary, std::fs::Permissions::from_mode(0o755)).unwrap();
    // init runs again and Terraform judges the new package against the lock
    // file (today's main skipped init and failed later, in plan, on the
    // stale cached copy: "the cached package ... does not match").
    let refused = run(&["plan", "dev"], 1);
    assert!(
        refused.stdout.contains(
            "a provider package differs from the checksums in the stack's .terraform.lock.hcl"
        ) && refused
            .stdout
            .contains("doesn't match any of the checksums")
            && refused
                .stdout
                .contains("If the change is intended, update the lock file")
            && !refused.stdout.contains("cached package"),
        "{}",
        refused.stdout
    );
    // Accepting the rebuilt provider is updating the lock file, as for any
    // provider change; then init runs again by itself and the plan works.
    std::fs::remove_file(f.path("stacks/app/.terraform.lock.hcl")).unwrap();
    let after = run(&["plan", "dev"], 0);
    assert!(
        after.stdout.contains("Stack app: no changes"),
        "{}",
        after.stdout
    );
}
