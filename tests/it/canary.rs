//! The canary matrix: every error shape that could carry a secret back to a
//! person, on every Terraform release the suite runs. Each row makes the
//! error happen through the real binary; the harness already fails any run
//! whose stdout or stderr holds a `CANARY-` value, and each row also checks
//! the `--format json` report and every file under the state dir except
//! Terraform's own state and plan files.

use crate::harness::fixture::{Fixture, Run, Tf, CANARY};
use crate::harness::{files_under, on_every_terraform};

on_every_terraform!(
    create_failure_echoing_the_name,
    update_failure,
    replace_failure_with_a_rotated_secret,
    destroy_failure_naming_the_object,
    var_file_syntax_error_on_the_secret_line,
    var_file_type_error_on_the_secret_line,
    var_file_validation_error,
    backend_init_failure,
);

fn tfvars(f: &Fixture, password: &str, extra: &str) {
    f.write(
        "environments/dev/app.tfvars",
        &format!("db_password = \"{password}\"\n{extra}"),
    );
}

/// No file the tool wrote under the state dir holds a canary; Terraform's
/// state and plan files hold values by design and are private (0600).
fn assert_state_dir_clean(f: &Fixture) {
    for path in files_under(&f.state_dir, &[""]) {
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        let terraform_own = name.ends_with(".tfstate")
            || name.ends_with(".tfstate.backup")
            || name.ends_with(".tfplan")
            || path.components().any(|c| c.as_os_str() == "providers");
        if terraform_own || path.is_symlink() {
            continue;
        }
        let bytes = std::fs::read(&path).unwrap_or_default();
        assert!(
            !String::from_utf8_lossy(&bytes).contains(CANARY),
            "{} holds a secret:\n{}",
            path.display(),
            String::from_utf8_lossy(&bytes)
        );
    }
}

/// The failing command in human and JSON form, both failing with `code`.
fn fails(f: &Fixture, args: &[&str], code: i32) -> Run {
    let human = f.run_ok(args, code);
    let mut json_args = vec!["--format", "json"];
    json_args.extend_from_slice(args);
    let json = f.run(&json_args);
    assert_eq!(json.code, code, "{}", json.both());
    assert_state_dir_clean(f);
    human
}

fn applied(tf: Tf) -> Fixture {
    let f = Fixture::on("canary", tf);
    f.run_ok(&["plan", "dev"], 2);
    f.run_ok(&["apply", "dev"], 0);
    f
}

fn create_failure_echoing_the_name(tf: Tf) {
    let f = Fixture::on("canary", tf);
    tfvars(&f, "CANARY-first-5e1d", "fail = true\n");
    f.run_ok(&["plan", "dev"], 2);
    let run = fails(&f, &["apply", "dev"], 1);
    // The provider's own words are kept, with the secret taken out.
    assert!(
        run.stdout
            .contains("injected failure for leaky-(sensitive)"),
        "{}",
        run.stdout
    );
}

fn update_failure(tf: Tf) {
    let f = applied(tf);
    tfvars(&f, "CANARY-first-5e1d", "value = \"2\"\nfail = true\n");
    f.run_ok(&["plan", "dev"], 2);
    fails(&f, &["apply", "dev"], 1);
}

fn replace_failure_with_a_rotated_secret(tf: Tf) {
    let f = applied(tf);
    tfvars(&f, "CANARY-rotated-9c4a", "fail = true\n");
    f.run_ok(&["plan", "dev"], 2);
    let run = fails(&f, &["apply", "dev", "--allow-destroy"], 1);
    assert!(run.stdout.contains("injected failure"), "{}", run.stdout);
}

fn destroy_failure_naming_the_object(tf: Tf) {
    let f = applied(tf);
    tfvars(&f, "CANARY-first-5e1d", "enabled = false\n");
    f.run_ok(&["plan", "dev"], 2);
    // The provider cannot delete a record that became a directory; its error
    // names the record, whose id holds the secret.
    let record = std::fs::read_dir(&f.store)
        .unwrap()
        .flatten()
        .find(|e| e.file_name().to_string_lossy().starts_with("leaky-"))
        .expect("the leaky record")
        .path();
    std::fs::remove_file(&record).unwrap();
    std::fs::create_dir(&record).unwrap();
    std::fs::write(record.join("keep"), "").unwrap();
    fails(&f, &["apply", "dev", "--allow-destroy"], 1);
}

fn var_file_syntax_error_on_the_secret_line(tf: Tf) {
    let f = Fixture::on("canary", tf);
    f.write(
        "environments/dev/app.tfvars",
        "value = \"1\"\ndb_password = \"CANARY-broken-1\nfail = false\n",
    );
    fails(&f, &["plan", "dev"], 1);
    fails(&f, &["drift", "dev"], 1);
}

fn var_file_type_error_on_the_secret_line(tf: Tf) {
    let f = Fixture::on("canary", tf);
    f.write(
        "environments/dev/app.tfvars",
        "db_password = [\"CANARY-typed-2\"]\n",
    );
    let run = fails(&f, &["plan", "dev"], 1);
    assert!(run.stdout.contains("app.tfvars"), "{}", run.stdout);
    fails(&f, &["drift", "dev"], 1);
}

fn var_file_validation_error(tf: Tf) {
    let f = Fixture::on("canary", tf);
    tfvars(&f, "CANARY-far-too-long-for-the-rule-0123456789", "");
    let run = fails(&f, &["plan", "dev"], 1);
    assert!(run.stdout.contains("db_password"), "{}", run.stdout);
}

fn backend_init_failure(tf: Tf) {
    let f = Fixture::on("canary", tf);
    // An argument the local backend does not take, holding a secret.
    f.write(
        "environments/dev/backend.hcl",
        "password = \"CANARY-backend-7\"\n",
    );
    let env_file = f.path("environments/dev/environment.hcl");
    let text = std::fs::read_to_string(&env_file).unwrap();
    std::fs::write(
        &env_file,
        text.replace(
            "backend_values = { path = \"dev.tfstate\" }",
            "backend_config = \"backend.hcl\"\n  backend_values = { path = \"dev.tfstate\" }",
        ),
    )
    .unwrap();
    fails(&f, &["plan", "dev"], 1);
}
