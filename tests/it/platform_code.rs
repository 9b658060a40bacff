//! Integration tests: platform_code, the Terraform under `terraform/` and the
//! environments under `environments/`.
//!
//! The AWS provider cannot be downloaded here, so `terraform validate` and
//! `plan` of these stacks cannot run. These tests are the honest substitute,
//! each with a real judge:
//! - the pinned Terraform's own formatter (`fmt -check`, and `fmt -` for the
//!   `.hcl` files it does not walk);
//! - hcl-rs parses every `.tf`, `.tfvars` and `.hcl` file;
//! - a cross-reference built on the parsed HCL: variables used are declared,
//!   module inputs exist and required ones are passed, tfvars only set
//!   declared variables and set every required one, stack dependencies in
//!   `environment.hcl` cover every `terraform_remote_state` read, and every
//!   output `environments/README.md` promises is produced;
//! - the pinned checkov, offline, with zero failed checks (defaults and
//!   production values) and exactly the documented relaxations for staging.

use crate::harness::{repo_root, tool};
use hcl::expr::{Expression, ObjectKey, Operation, TemplateExpr, TraversalOperator};
use hcl::template::{Directive, Element, Template};
use hcl::{Block, Body};
use std::collections::{BTreeMap, BTreeSet};
use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// Arguments of a `module` block that are meta-arguments, not module inputs.
const MODULE_META_ARGUMENTS: &[&str] =
    &["source", "version", "providers", "count", "for_each", "depends_on"];

/// What staging deliberately relaxes compared with production, as checkov
/// reports it when run with staging's values. Each one is listed in
/// terraform/README.md; anything else failing for staging is a regression.
const STAGING_RELAXATIONS: &[(&str, &str)] = &[
    ("CKV_AWS_39", "module.eks.aws_eks_cluster.this"),
    ("CKV_AWS_150", "module.edge.aws_lb.this"),
    ("CKV_AWS_157", "module.rds.aws_db_instance.this"),
    ("CKV_AWS_293", "module.rds.aws_db_instance.this"),
];

// --- Files and parsing ------------------------------------------------------

fn files_with_extensions(root: &Path, extensions: &[&str]) -> Vec<PathBuf> {
    fn walk(dir: &Path, extensions: &[&str], out: &mut Vec<PathBuf>) {
        let entries = std::fs::read_dir(dir).unwrap_or_else(|e| panic!("reading {}: {e}", dir.display()));
        for entry in entries {
            let path = entry.expect("directory entry").path();
            let name = path.file_name().and_then(|n| n.to_str()).unwrap_or_default();
            if name.starts_with('.') {
                continue; // .terraform, editor files
            }
            if path.is_dir() {
                walk(&path, extensions, out);
            } else if extensions.iter().any(|ext| name.ends_with(&format!(".{ext}"))) {
                out.push(path);
            }
        }
    }
    let mut out = Vec::new();
    walk(root, extensions, &mut out);
    out.sort();
    out
}

fn parse_file(path: &Path) -> Body {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()));
    hcl::parse(&text).unwrap_or_else(|e| panic!("{} does not parse with hcl-rs: {e}", path.display()))
}

fn rel(path: &Path) -> String {
    path.strip_prefix(repo_root()).unwrap_or(path).display().to_string()
}

fn label(block: &Block, index: usize) -> &str {
    block.labels.get(index).map(|l| l.as_str()).unwrap_or_default()
}

fn attribute<'a>(body: &'a Body, key: &str) -> Option<&'a Expression> {
    body.attributes().find(|a| a.key.as_str() == key).map(|a| &a.expr)
}

fn string_value(expr: &Expression) -> Option<String> {
    match expr {
        Expression::String(s) => Some(s.clone()),
        Expression::TemplateExpr(t) => match t.as_ref() {
            TemplateExpr::QuotedString(s) => Some(s.clone()),
            TemplateExpr::Heredoc(h) => Some(h.template.clone()),
        },
        _ => None,
    }
}

fn string_list(expr: &Expression) -> Vec<String> {
    match expr {
        Expression::Array(items) => items.iter().filter_map(string_value).collect(),
        _ => Vec::new(),
    }
}

// --- Variable references ----------------------------------------------------

/// Collects every `var.NAME` referenced anywhere in an expression, including
/// inside string templates and heredocs.
fn collect_var_refs(expr: &Expression, out: &mut BTreeSet<String>) {
    match expr {
        Expression::Null | Expression::Bool(_) | Expression::Number(_) | Expression::String(_) => {}
        Expression::Variable(_) => {}
        Expression::Array(items) => items.iter().for_each(|e| collect_var_refs(e, out)),
        Expression::Object(object) => {
            for (key, value) in object.iter() {
                if let ObjectKey::Expression(key) = key {
                    collect_var_refs(key, out);
                }
                collect_var_refs(value, out);
            }
        }
        Expression::TemplateExpr(template) => {
            let template = Template::from_expr(template).unwrap_or_else(|e| panic!("template {template:?}: {e}"));
            collect_template_var_refs(&template, out);
        }
        Expression::Traversal(traversal) => {
            if let Expression::Variable(root) = &traversal.expr {
                if root.as_str() == "var" {
                    if let Some(TraversalOperator::GetAttr(name)) = traversal.operators.first() {
                        out.insert(name.as_str().to_owned());
                    }
                }
            } else {
                collect_var_refs(&traversal.expr, out);
            }
            for operator in &traversal.operators {
                if let TraversalOperator::Index(index) = operator {
                    collect_var_refs(index, out);
                }
            }
        }
        Expression::FuncCall(call) => call.args.iter().for_each(|e| collect_var_refs(e, out)),
        Expression::Parenthesis(inner) => collect_var_refs(inner, out),
        Expression::Conditional(c) => {
            collect_var_refs(&c.cond_expr, out);
            collect_var_refs(&c.true_expr, out);
            collect_var_refs(&c.false_expr, out);
        }
        Expression::Operation(operation) => match operation.as_ref() {
            Operation::Unary(op) => collect_var_refs(&op.expr, out),
            Operation::Binary(op) => {
                collect_var_refs(&op.lhs_expr, out);
                collect_var_refs(&op.rhs_expr, out);
            }
        },
        Expression::ForExpr(f) => {
            collect_var_refs(&f.collection_expr, out);
            if let Some(key) = &f.key_expr {
                collect_var_refs(key, out);
            }
            collect_var_refs(&f.value_expr, out);
            if let Some(cond) = &f.cond_expr {
                collect_var_refs(cond, out);
            }
        }
        #[allow(unreachable_patterns)]
        other => panic!("expression kind not handled by the cross-reference: {other:?}"),
    }
}

fn collect_template_var_refs(template: &Template, out: &mut BTreeSet<String>) {
    for element in template.elements() {
        match element {
            Element::Literal(_) => {}
            Element::Interpolation(interpolation) => collect_var_refs(&interpolation.expr, out),
            Element::Directive(directive) => match directive.as_ref() {
                Directive::If(d) => {
                    collect_var_refs(&d.cond_expr, out);
                    collect_template_var_refs(&d.true_template, out);
                    if let Some(f) = &d.false_template {
                        collect_template_var_refs(f, out);
                    }
                }
                Directive::For(d) => {
                    collect_var_refs(&d.collection_expr, out);
                    collect_template_var_refs(&d.template, out);
                }
            },
        }
    }
}

fn collect_body_var_refs(body: &Body, out: &mut BTreeSet<String>) {
    for attr in body.attributes() {
        collect_var_refs(&attr.expr, out);
    }
    for block in body.blocks() {
        collect_body_var_refs(&block.body, out);
    }
}

// --- A Terraform configuration directory ------------------------------------

struct ModuleCall {
    file: PathBuf,
    name: String,
    dir: PathBuf,
    inputs: BTreeSet<String>,
}

/// What the cross-reference needs to know about one module or stack.
struct TfConfig {
    dir: PathBuf,
    /// Declared variables: name -> has a default.
    variables: BTreeMap<String, bool>,
    /// `var.X` references: name -> files using it.
    var_refs: BTreeMap<String, BTreeSet<PathBuf>>,
    module_calls: Vec<ModuleCall>,
    outputs: BTreeMap<String, Expression>,
    /// `terraform_remote_state` reads: data source name -> state key template.
    remote_state_keys: BTreeMap<String, String>,
}

impl TfConfig {
    fn load(dir: &Path) -> TfConfig {
        let dir = dir.canonicalize().unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
        let mut config = TfConfig {
            dir: dir.clone(),
            variables: BTreeMap::new(),
            var_refs: BTreeMap::new(),
            module_calls: Vec::new(),
            outputs: BTreeMap::new(),
            remote_state_keys: BTreeMap::new(),
        };
        let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
            .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
            .map(|e| e.expect("entry").path())
            .filter(|p| p.extension().is_some_and(|e| e == "tf"))
            .collect();
        files.sort();
        assert!(!files.is_empty(), "{} holds no .tf files", rel(&dir));
        for file in files {
            let body = parse_file(&file);
            let mut refs = BTreeSet::new();
            collect_body_var_refs(&body, &mut refs);
            for name in refs {
                config.var_refs.entry(name).or_default().insert(file.clone());
            }
            for block in body.blocks() {
                match block.identifier.as_str() {
                    "variable" => {
                        let name = label(block, 0).to_owned();
                        let has_default = attribute(&block.body, "default").is_some();
                        assert!(
                            config.variables.insert(name.clone(), has_default).is_none(),
                            "variable {name} declared twice in {}",
                            rel(&dir)
                        );
                    }
                    "output" => {
                        let value = attribute(&block.body, "value")
                            .unwrap_or_else(|| panic!("output {} in {} has no value", label(block, 0), rel(&file)));
                        config.outputs.insert(label(block, 0).to_owned(), value.clone());
                    }
                    "module" => {
                        let source = attribute(&block.body, "source")
                            .and_then(string_value)
                            .unwrap_or_else(|| panic!("module {} in {} has no literal source", label(block, 0), rel(&file)));
                        assert!(
                            source.starts_with("../") || source.starts_with("./"),
                            "module {} in {} uses a non-local source {source}: the cross-reference only covers local modules",
                            label(block, 0),
                            rel(&file)
                        );
                        let inputs = block
                            .body
                            .attributes()
                            .map(|a| a.key.as_str().to_owned())
                            .filter(|k| !MODULE_META_ARGUMENTS.contains(&k.as_str()))
                            .collect();
                        config.module_calls.push(ModuleCall {
                            file: file.clone(),
                            name: label(block, 0).to_owned(),
                            dir: dir.join(&source),
                            inputs,
                        });
                    }
                    "data" if label(block, 0) == "terraform_remote_state" => {
                        let key = attribute(&block.body, "config")
                            .and_then(|config| match config {
                                Expression::Object(object) => object
                                    .iter()
                                    .find(|(k, _)| matches!(k, ObjectKey::Identifier(i) if i.as_str() == "key"))
                                    .and_then(|(_, v)| string_value(v)),
                                _ => None,
                            })
                            .unwrap_or_else(|| panic!("remote state {} in {} has no config.key", label(block, 1), rel(&file)));
                        config.remote_state_keys.insert(label(block, 1).to_owned(), key);
                    }
                    _ => {}
                }
            }
        }
        config
    }

    fn required_variables(&self) -> BTreeSet<&str> {
        self.variables.iter().filter(|(_, has_default)| !**has_default).map(|(n, _)| n.as_str()).collect()
    }
}

fn all_config_dirs() -> Vec<PathBuf> {
    let mut dirs = BTreeSet::new();
    for file in files_with_extensions(&repo_root().join("terraform"), &["tf"]) {
        dirs.insert(file.parent().expect("parent").to_path_buf());
    }
    dirs.into_iter().collect()
}

fn stack_dirs() -> Vec<PathBuf> {
    let root = repo_root().join("terraform/stacks");
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(&root)
        .unwrap_or_else(|e| panic!("{}: {e}", root.display()))
        .map(|e| e.expect("entry").path())
        .filter(|p| p.is_dir())
        .collect();
    dirs.sort();
    dirs
}

// --- Environments -----------------------------------------------------------

struct EnvStack {
    name: String,
    config: TfConfig,
    backend_key: Option<String>,
    var_files: Vec<String>,
    depends_on: Vec<String>,
}

struct Env {
    name: String,
    dir: PathBuf,
    body: Body,
    stacks: Vec<EnvStack>,
}

fn environments() -> Vec<Env> {
    let root = repo_root().join("environments");
    let mut envs = Vec::new();
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(&root)
        .expect("environments/")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.join("environment.hcl").is_file())
        .collect();
    dirs.sort();
    for dir in dirs {
        let body = parse_file(&dir.join("environment.hcl"));
        let mut stacks = Vec::new();
        for block in body.blocks().filter(|b| b.identifier.as_str() == "stack") {
            let name = label(block, 0).to_owned();
            let stack_dir = attribute(&block.body, "dir")
                .and_then(string_value)
                .unwrap_or_else(|| panic!("stack {name} in {} has no dir", rel(&dir)));
            let backend_key = attribute(&block.body, "backend_values").and_then(|v| match v {
                Expression::Object(object) => object
                    .iter()
                    .find(|(k, _)| matches!(k, ObjectKey::Identifier(i) if i.as_str() == "key"))
                    .and_then(|(_, v)| string_value(v)),
                _ => None,
            });
            if let Some(backend) = attribute(&block.body, "backend_config").and_then(string_value) {
                assert!(dir.join(&backend).is_file(), "{}: stack {name} names missing {backend}", rel(&dir));
            }
            stacks.push(EnvStack {
                config: TfConfig::load(&dir.join(stack_dir)),
                backend_key,
                var_files: attribute(&block.body, "var_files").map(string_list).unwrap_or_default(),
                depends_on: attribute(&block.body, "depends_on").map(string_list).unwrap_or_default(),
                name,
            });
        }
        envs.push(Env {
            name: dir.file_name().expect("name").to_string_lossy().into_owned(),
            dir,
            body,
            stacks,
        });
    }
    let names: BTreeSet<&str> = envs.iter().map(|e| e.name.as_str()).collect();
    assert!(
        names.contains("staging") && names.contains("production"),
        "expected environments staging and production, found {names:?}"
    );
    envs
}

fn tfvars(path: &Path) -> BTreeMap<String, Expression> {
    parse_file(path).attributes().map(|a| (a.key.as_str().to_owned(), a.expr.clone())).collect()
}

// --- Running the pinned tools -----------------------------------------------

struct Output {
    status: std::process::ExitStatus,
    stdout: String,
    stderr: String,
}

/// Runs a command with stdout and stderr going to files (no pipe can fill up)
/// and a hard timeout, so a tool that hangs fails the test instead of the run.
fn run(mut command: Command, stdin: Option<&[u8]>, timeout: Duration) -> Output {
    let scratch = tempfile::tempdir().expect("tempdir");
    let out_path = scratch.path().join("stdout");
    let err_path = scratch.path().join("stderr");
    command
        .stdout(File::create(&out_path).expect("stdout file"))
        .stderr(File::create(&err_path).expect("stderr file"))
        .stdin(if stdin.is_some() { Stdio::piped() } else { Stdio::null() });
    let description = format!("{command:?}");
    let mut child = command.spawn().unwrap_or_else(|e| panic!("starting {description}: {e}"));
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
fn terraform(scratch: &Path) -> Command {
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

struct CheckovRun {
    summary: serde_json::Value,
    failed: Vec<serde_json::Value>,
    skipped: Vec<serde_json::Value>,
}

impl CheckovRun {
    fn count(&self, key: &str) -> u64 {
        self.summary[key].as_u64().unwrap_or_else(|| panic!("checkov summary has no {key}: {}", self.summary))
    }

    fn describe_failed(&self) -> String {
        self.failed
            .iter()
            .map(|f| format!("  {} {} ({}:{}) {}", f["check_id"].as_str().unwrap_or("?"), f["resource"].as_str().unwrap_or("?"), f["file_path"].as_str().unwrap_or("?"), f["file_line_range"], f["check_name"].as_str().unwrap_or("")))
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
fn checkov(extra_args: &[&str]) -> CheckovRun {
    let mut command = Command::new(tool("checkov"));
    command
        .current_dir(repo_root())
        .args(["-d", "terraform", "--framework", "terraform", "--compact", "-o", "json", "--skip-download"])
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
    let json: serde_json::Value = serde_json::from_str(&output.stdout)
        .unwrap_or_else(|e| panic!("checkov printed no JSON ({e}):\n{}\n{}", output.stdout, output.stderr));
    // One framework gives one report object; several give a list of them.
    let report = match json {
        serde_json::Value::Array(reports) => reports
            .into_iter()
            .find(|r| r["check_type"] == "terraform")
            .expect("a terraform report"),
        report => report,
    };
    assert_eq!(report["check_type"], "terraform", "unexpected checkov report: {report}");
    let list = |key: &str| report["results"][key].as_array().cloned().unwrap_or_default();
    CheckovRun { summary: report["summary"].clone(), failed: list("failed_checks"), skipped: list("skipped_checks") }
}

// --- Tests ------------------------------------------------------------------

#[test]
fn terraform_fmt_check_passes() {
    let scratch = tempfile::tempdir().expect("tempdir");
    for dir in ["terraform", "environments"] {
        let mut command = terraform(scratch.path());
        command.args(["fmt", "-check", "-recursive", "-diff", dir]);
        let output = run(command, None, Duration::from_secs(120));
        assert!(
            output.status.success(),
            "terraform fmt -check -recursive -diff {dir} failed ({:?}):\n{}{}",
            output.status,
            output.stdout,
            output.stderr
        );
    }
    // fmt only walks .tf and .tfvars; the environment's .hcl files are in the
    // same native syntax, so they go through `fmt -` and must come back unchanged.
    let hcl_files = files_with_extensions(&repo_root().join("environments"), &["hcl"]);
    assert!(hcl_files.len() >= 4, "expected environment.hcl and backend.hcl per environment, found {hcl_files:?}");
    for file in hcl_files {
        let text = std::fs::read_to_string(&file).expect("read");
        let mut command = terraform(scratch.path());
        command.args(["fmt", "-"]);
        let output = run(command, Some(text.as_bytes()), Duration::from_secs(60));
        assert!(output.status.success(), "terraform fmt - rejected {}:\n{}", rel(&file), output.stderr);
        assert_eq!(output.stdout, text, "{} is not in terraform fmt's canonical format", rel(&file));
    }
}

#[test]
fn every_tf_tfvars_and_hcl_file_parses_with_hcl_rs() {
    let mut files = files_with_extensions(&repo_root().join("terraform"), &["tf", "tfvars", "hcl"]);
    files.extend(files_with_extensions(&repo_root().join("environments"), &["tf", "tfvars", "hcl"]));
    assert!(files.len() > 60, "suspiciously few files: {}", files.len());
    let failures: Vec<String> = files
        .iter()
        .filter_map(|file| {
            let text = std::fs::read_to_string(file).expect("read");
            hcl::parse(&text).err().map(|e| format!("{}: {e}", rel(file)))
        })
        .collect();
    assert!(failures.is_empty(), "files hcl-rs cannot parse:\n{}", failures.join("\n"));
}

#[test]
fn modules_and_stacks_have_the_expected_shape() {
    let modules = [
        "network", "eks", "rds", "redis", "edge", "backup", "security-baseline", "ecr", "iam", "state-bootstrap",
    ];
    for module in modules {
        let dir = repo_root().join("terraform/modules").join(module);
        for file in ["main.tf", "variables.tf", "outputs.tf", "versions.tf", "README.md"] {
            assert!(dir.join(file).is_file(), "terraform/modules/{module}/{file} is missing");
        }
        // The module README documents every input and output by name.
        let readme = std::fs::read_to_string(dir.join("README.md")).expect("README");
        let config = TfConfig::load(&dir);
        for name in config.variables.keys().chain(config.outputs.keys()) {
            assert!(readme.contains(&format!("`{name}`")), "terraform/modules/{module}/README.md does not document `{name}`");
        }
    }
    let stacks = stack_dirs();
    assert!(stacks.len() >= 5, "expected the platform split into several stacks, found {stacks:?}");
    for stack in stacks {
        let versions = std::fs::read_to_string(stack.join("versions.tf")).expect("versions.tf");
        let body = hcl::parse(&versions).expect("parse");
        let terraform = body.blocks().find(|b| b.identifier.as_str() == "terraform").expect("terraform block");
        let backend = terraform.body.blocks().find(|b| b.identifier.as_str() == "backend");
        let backend = backend.unwrap_or_else(|| panic!("{} declares no backend", rel(&stack)));
        assert_eq!(label(backend, 0), "s3", "{} must use the s3 backend", rel(&stack));
        assert!(
            backend.body.attributes().next().is_none(),
            "{}: backend settings belong in backend.hcl, not in the stack",
            rel(&stack)
        );
    }
}

#[test]
fn variables_and_module_inputs_cross_reference() {
    let mut problems = Vec::new();
    let mut loaded: BTreeMap<PathBuf, TfConfig> = BTreeMap::new();
    for dir in all_config_dirs() {
        let config = TfConfig::load(&dir);
        loaded.insert(config.dir.clone(), config);
    }
    assert!(loaded.len() >= 15, "expected 10 modules and the stacks, found {}", loaded.len());
    for config in loaded.values() {
        let where_ = rel(&config.dir);
        for (name, files) in &config.var_refs {
            if !config.variables.contains_key(name) {
                let files: Vec<String> = files.iter().map(|f| rel(f)).collect();
                problems.push(format!("{where_}: var.{name} is used ({}) but not declared", files.join(", ")));
            }
        }
        for name in config.variables.keys() {
            if !config.var_refs.contains_key(name) {
                problems.push(format!("{where_}: variable {name} is declared but never used"));
            }
        }
        for call in &config.module_calls {
            let target = call.dir.canonicalize().unwrap_or_else(|e| panic!("{}: module {}: {e}", rel(&call.file), call.name));
            let module = loaded.get(&target).unwrap_or_else(|| panic!("module {} points outside terraform/", call.name));
            for input in &call.inputs {
                if !module.variables.contains_key(input) {
                    problems.push(format!("{}: module {} passes {input}, which {} does not declare", rel(&call.file), call.name, rel(&target)));
                }
            }
            for required in module.required_variables() {
                if !call.inputs.contains(required) {
                    problems.push(format!("{}: module {} does not pass required input {required}", rel(&call.file), call.name));
                }
            }
        }
    }
    assert!(problems.is_empty(), "cross-reference problems:\n{}", problems.join("\n"));
}

#[test]
fn environments_tfvars_and_stack_dependencies_cross_reference() {
    let mut problems = Vec::new();
    for env in environments() {
        let stack_names: BTreeSet<&str> = env.stacks.iter().map(|s| s.name.as_str()).collect();
        let all_stacks: BTreeSet<String> =
            stack_dirs().iter().map(|d| d.file_name().expect("name").to_string_lossy().into_owned()).collect();
        for missing in all_stacks.iter().filter(|s| !stack_names.contains(s.as_str())) {
            problems.push(format!("{}: stack {missing} exists under terraform/stacks but is not listed", env.name));
        }
        let mut var_files = BTreeSet::new();
        for stack in &env.stacks {
            var_files.extend(stack.var_files.iter().cloned());
        }
        assert!(!var_files.is_empty(), "{}: no stack names a var file", env.name);
        let mut values = BTreeMap::new();
        for file in &var_files {
            let path = env.dir.join(file);
            assert!(path.is_file(), "{}: var file {file} is missing", env.name);
            values.extend(tfvars(&path));
        }
        let declared: BTreeSet<&str> =
            env.stacks.iter().flat_map(|s| s.config.variables.keys().map(|k| k.as_str())).collect();
        for name in values.keys() {
            if !declared.contains(name.as_str()) {
                problems.push(format!("{}: terraform.tfvars sets {name}, which no stack declares", env.name));
            }
        }
        for stack in &env.stacks {
            let set: BTreeSet<String> =
                stack.var_files.iter().flat_map(|f| tfvars(&env.dir.join(f)).into_keys()).collect();
            for required in stack.config.required_variables() {
                if !set.contains(required) {
                    problems.push(format!("{}: stack {} requires {required}, which its var files do not set", env.name, stack.name));
                }
            }
            // State keys line up between environment.hcl and remote-state reads.
            let expected_key = format!("{}/{}.tfstate", env.name, stack.name);
            if stack.backend_key.as_deref() != Some(expected_key.as_str()) {
                problems.push(format!("{}: stack {} has backend key {:?}, expected {expected_key}", env.name, stack.name, stack.backend_key));
            }
            for dep in &stack.depends_on {
                if !stack_names.contains(dep.as_str()) {
                    problems.push(format!("{}: stack {} depends on unknown stack {dep}", env.name, stack.name));
                }
            }
            let closure = dependency_closure(&env, &stack.name);
            for (source, key) in &stack.config.remote_state_keys {
                let read = key
                    .strip_prefix("${var.environment}/")
                    .and_then(|k| k.strip_suffix(".tfstate"))
                    .unwrap_or_else(|| panic!("{}: remote state {source} key {key} is not ${{var.environment}}/<stack>.tfstate", stack.name));
                if !closure.contains(read) {
                    problems.push(format!("{}: stack {} reads the state of {read} but does not depend on it in environment.hcl", env.name, stack.name));
                }
            }
        }
        // The expectations in environment.hcl agree with what is deployed.
        let verify = env.body.blocks().find(|b| b.identifier.as_str() == "verify").expect("verify block");
        let verify_domains = attribute(&verify.body, "domain_names").map(string_list).unwrap_or_default();
        let deployed_domains = values.get("domain_names").map(string_list).unwrap_or_default();
        if verify_domains != deployed_domains {
            problems.push(format!("{}: verify.domain_names {verify_domains:?} differ from tfvars domain_names {deployed_domains:?}", env.name));
        }
        let verify_frequency = attribute(&verify.body, "guardduty_finding_frequency").and_then(string_value);
        let deployed_frequency = values.get("guardduty_finding_frequency").and_then(string_value);
        if verify_frequency != deployed_frequency {
            problems.push(format!("{}: verify.guardduty_finding_frequency {verify_frequency:?} differs from tfvars {deployed_frequency:?}", env.name));
        }
        let drill = env.body.blocks().find(|b| b.identifier.as_str() == "drill").expect("drill block");
        let rds = attribute(&drill.body, "rds_instances").map(string_list).unwrap_or_default();
        if rds != vec![format!("ohmc-{}-postgres", env.name)] {
            problems.push(format!("{}: drill.rds_instances {rds:?} is not the data stack's instance ohmc-{}-postgres", env.name, env.name));
        }
        let redis = attribute(&drill.body, "redis_replication_group").and_then(string_value);
        if redis != Some(format!("ohmc-{}-redis", env.name)) {
            problems.push(format!("{}: drill.redis_replication_group {redis:?} is not ohmc-{}-redis", env.name, env.name));
        }
    }
    assert!(problems.is_empty(), "environment cross-reference problems:\n{}", problems.join("\n"));
}

fn dependency_closure(env: &Env, stack: &str) -> BTreeSet<String> {
    let mut seen = BTreeSet::new();
    let mut todo = vec![stack.to_owned()];
    while let Some(name) = todo.pop() {
        if let Some(s) = env.stacks.iter().find(|s| s.name == name) {
            for dep in &s.depends_on {
                if seen.insert(dep.clone()) {
                    todo.push(dep.clone());
                }
            }
        }
    }
    seen
}

/// The outputs table of environments/README.md: output name -> type.
fn documented_outputs() -> BTreeMap<String, String> {
    let readme = std::fs::read_to_string(repo_root().join("environments/README.md")).expect("environments/README.md");
    let section = readme.split("## Stack outputs the tool reads").nth(1).expect("the stack outputs section");
    let mut outputs = BTreeMap::new();
    for line in section.lines().filter(|l| l.starts_with("| `")) {
        let cells: Vec<&str> = line.split('|').map(str::trim).collect();
        let (names, ty) = (cells[1], cells[2]);
        for name in names.split(',').map(|n| n.trim().trim_matches('`')) {
            outputs.insert(name.to_owned(), ty.to_owned());
        }
    }
    assert!(outputs.len() >= 15, "parsed too few outputs from environments/README.md: {outputs:?}");
    outputs
}

#[test]
fn every_output_the_tool_reads_exists_in_each_environment() {
    let documented = documented_outputs();
    let mut problems = Vec::new();
    for env in environments() {
        let mut produced: BTreeMap<&str, (&str, &Expression)> = BTreeMap::new();
        for stack in &env.stacks {
            for (name, value) in &stack.config.outputs {
                if let Some((other, _)) = produced.insert(name, (&stack.name, value)) {
                    if documented.contains_key(name) {
                        problems.push(format!("{}: output {name} comes from both {other} and {}: the merge is ambiguous", env.name, stack.name));
                    }
                }
            }
        }
        for (name, ty) in &documented {
            match produced.get(name.as_str()) {
                None => problems.push(format!("{}: no stack produces output {name}", env.name)),
                Some((stack, value)) if ty.starts_with("list") && !matches!(value, Expression::Array(_)) => {
                    problems.push(format!("{}: output {name} of stack {stack} must be a list ({ty})", env.name))
                }
                Some(_) => {}
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn sensitive_values_are_marked_and_never_literal() {
    let mut problems = Vec::new();
    for dir in all_config_dirs() {
        for file in files_with_extensions(&dir, &["tf"]).into_iter().filter(|f| f.parent() == Some(dir.as_path())) {
            let body = parse_file(&file);
            for block in body.blocks() {
                let name = label(block, 0);
                let secretish = ["password", "secret", "token", "external_id"].iter().any(|w| name.contains(w));
                let kind = block.identifier.as_str();
                if (kind == "output" || kind == "variable") && secretish && !name.ends_with("_arn") {
                    let sensitive = attribute(&block.body, "sensitive");
                    if !matches!(sensitive, Some(Expression::Bool(true))) {
                        problems.push(format!("{}: {kind} {name} is not marked sensitive", rel(&file)));
                    }
                }
                if kind == "output" && name.contains("secret") {
                    // Secret ARNs are not secrets, but they lead to them: keep them out of plain output.
                    if !matches!(attribute(&block.body, "sensitive"), Some(Expression::Bool(true))) {
                        problems.push(format!("{}: output {name} is not marked sensitive", rel(&file)));
                    }
                }
                if kind == "resource" {
                    for key in ["password", "master_password", "auth_token", "secret_string"] {
                        if let Some(expr) = attribute(&block.body, key) {
                            if string_value(expr).is_some() {
                                problems.push(format!("{}: {} {name}.{key} is a literal", rel(&file), label(block, 0)));
                            }
                        }
                    }
                }
            }
        }
    }
    // No literal password or token in any environment's values either.
    for file in files_with_extensions(&repo_root().join("environments"), &["tfvars", "hcl"]) {
        for (key, _) in tfvars(&file) {
            if ["password", "auth_token", "secret"].iter().any(|w| key.contains(w)) {
                problems.push(format!("{}: sets {key}; secrets come from Secrets Manager", rel(&file)));
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn checkov_passes_with_zero_failed_checks() {
    let run = checkov(&[]);
    assert_eq!(run.count("parsing_errors"), 0, "checkov could not parse part of terraform/: {}", run.summary);
    assert!(run.count("resource_count") >= 150, "checkov saw too few resources: {}", run.summary);
    assert!(run.count("passed") >= 500, "checkov passed suspiciously few checks: {}", run.summary);
    assert_eq!(run.count("failed"), 0, "checkov failed checks:\n{}", run.describe_failed());
    // Every skip is inline and carries a reason a reviewer can judge.
    let unexplained: Vec<String> = run
        .skipped
        .iter()
        .filter(|s| {
            let comment = s["check_result"]["suppress_comment"].as_str().unwrap_or_default().trim();
            comment.len() < 30 || comment == "No comment provided"
        })
        .map(|s| format!("{} {}", s["check_id"], s["resource"]))
        .collect();
    assert!(unexplained.is_empty(), "skips without a real reason: {unexplained:?}");
    assert!(
        !repo_root().join(".checkov.yaml").exists() && !repo_root().join(".checkov.yml").exists(),
        "skips belong inline next to the resource, not in a global checkov config"
    );
}

#[test]
fn checkov_passes_with_production_values() {
    let run = checkov(&["--var-file", "environments/production/terraform.tfvars"]);
    assert_eq!(run.count("parsing_errors"), 0, "{}", run.summary);
    assert_eq!(run.count("failed"), 0, "checkov fails production's values:\n{}", run.describe_failed());
}

#[test]
fn checkov_staging_relaxations_are_exactly_the_documented_ones() {
    let run = checkov(&["--var-file", "environments/staging/terraform.tfvars"]);
    assert_eq!(run.count("parsing_errors"), 0, "{}", run.summary);
    let failed: BTreeSet<(String, String)> = run
        .failed
        .iter()
        .map(|f| (f["check_id"].as_str().unwrap_or("?").to_owned(), f["resource"].as_str().unwrap_or("?").to_owned()))
        .collect();
    let expected: BTreeSet<(String, String)> =
        STAGING_RELAXATIONS.iter().map(|(id, r)| ((*id).to_owned(), (*r).to_owned())).collect();
    assert_eq!(failed, expected, "staging's checkov failures are not the documented relaxations:\n{}", run.describe_failed());
    let readme = std::fs::read_to_string(repo_root().join("terraform/README.md")).expect("terraform/README.md");
    for (id, _) in STAGING_RELAXATIONS {
        assert!(readme.contains(id), "terraform/README.md does not document staging relaxation {id}");
    }
}

#[test]
fn terraform_readme_maps_every_checklist_item() {
    let readme = std::fs::read_to_string(repo_root().join("terraform/README.md")).expect("terraform/README.md");
    let table: Vec<&str> = readme.lines().filter(|l| l.starts_with('|')).collect();
    for item in [
        "DNS", "SSL", "WAF", "Backups", "DR", "Config", "GuardDuty", "CloudTrail", "Security groups", "Pod Security",
        "Network policies",
    ] {
        let row = table
            .iter()
            .find(|l| l.trim_start_matches('|').trim().starts_with(item))
            .unwrap_or_else(|| panic!("terraform/README.md has no checklist row for {item}"));
        assert!(row.contains("modules/") || row.contains("deploy/k8s"), "row {item} names no implementing module: {row}");
        assert!(row.matches('`').count() >= 2, "row {item} names no check id: {row}");
    }
}
