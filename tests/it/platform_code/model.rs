//! The parsed view of terraform/ and environments/ the cross-reference tests
//! work on, built with hcl-rs: variables, `var.X` references (including inside
//! templates), module calls, outputs, remote-state reads and environments.

use crate::harness::{files_under, rel, repo_root};
use hcl::expr::{Expression, ObjectKey, Operation, TemplateExpr, TraversalOperator};
use hcl::template::{Directive, Element, Template};
use hcl::{Block, Body};
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Arguments of a `module` block that are meta-arguments, not module inputs.
pub const MODULE_META_ARGUMENTS: &[&str] = &[
    "source",
    "version",
    "providers",
    "count",
    "for_each",
    "depends_on",
];

// --- Files and parsing ------------------------------------------------------

pub fn parse_file(path: &Path) -> Body {
    let text =
        std::fs::read_to_string(path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()));
    hcl::parse(&text)
        .unwrap_or_else(|e| panic!("{} does not parse with hcl-rs: {e}", path.display()))
}

pub fn label(block: &Block, index: usize) -> &str {
    block
        .labels
        .get(index)
        .map(|l| l.as_str())
        .unwrap_or_default()
}

pub fn attribute<'a>(body: &'a Body, key: &str) -> Option<&'a Expression> {
    body.attributes()
        .find(|a| a.key.as_str() == key)
        .map(|a| &a.expr)
}

pub fn string_value(expr: &Expression) -> Option<String> {
    match expr {
        Expression::String(s) => Some(s.clone()),
        Expression::TemplateExpr(t) => match t.as_ref() {
            TemplateExpr::QuotedString(s) => Some(s.clone()),
            TemplateExpr::Heredoc(h) => Some(h.template.clone()),
        },
        _ => None,
    }
}

/// The string at `key` of an object expression (`{ key = "..." }`).
pub fn object_string(expr: &Expression, key: &str) -> Option<String> {
    match expr {
        Expression::Object(object) => object
            .iter()
            .find(|(k, _)| matches!(k, ObjectKey::Identifier(i) if i.as_str() == key))
            .and_then(|(_, v)| string_value(v)),
        _ => None,
    }
}

pub fn string_list(expr: &Expression) -> Vec<String> {
    match expr {
        Expression::Array(items) => items.iter().filter_map(string_value).collect(),
        _ => Vec::new(),
    }
}

// --- References -------------------------------------------------------------

/// Collects every reference in an expression as its dotted path up to the
/// first index or splat (`var.name`, `local.x`, `aws_iam_role.this.arn`,
/// `module.key.arn`), including inside string templates and heredocs and
/// inside index expressions.
pub fn collect_references(expr: &Expression, out: &mut BTreeSet<String>) {
    match expr {
        Expression::Null | Expression::Bool(_) | Expression::Number(_) | Expression::String(_) => {}
        Expression::Variable(name) => {
            out.insert(name.as_str().to_owned());
        }
        Expression::Array(items) => items.iter().for_each(|e| collect_references(e, out)),
        Expression::Object(object) => {
            for (key, value) in object.iter() {
                if let ObjectKey::Expression(key) = key {
                    collect_references(key, out);
                }
                collect_references(value, out);
            }
        }
        Expression::TemplateExpr(template) => {
            let template = Template::from_expr(template)
                .unwrap_or_else(|e| panic!("template {template:?}: {e}"));
            collect_template_references(&template, out);
        }
        Expression::Traversal(traversal) => {
            if let Expression::Variable(root) = &traversal.expr {
                let mut path = root.as_str().to_owned();
                for operator in &traversal.operators {
                    match operator {
                        TraversalOperator::GetAttr(name) => {
                            path.push('.');
                            path.push_str(name.as_str());
                        }
                        _ => break,
                    }
                }
                out.insert(path);
            } else {
                collect_references(&traversal.expr, out);
            }
            for operator in &traversal.operators {
                if let TraversalOperator::Index(index) = operator {
                    collect_references(index, out);
                }
            }
        }
        Expression::FuncCall(call) => call.args.iter().for_each(|e| collect_references(e, out)),
        Expression::Parenthesis(inner) => collect_references(inner, out),
        Expression::Conditional(c) => {
            collect_references(&c.cond_expr, out);
            collect_references(&c.true_expr, out);
            collect_references(&c.false_expr, out);
        }
        Expression::Operation(operation) => match operation.as_ref() {
            Operation::Unary(op) => collect_references(&op.expr, out),
            Operation::Binary(op) => {
                collect_references(&op.lhs_expr, out);
                collect_references(&op.rhs_expr, out);
            }
        },
        Expression::ForExpr(f) => {
            collect_references(&f.collection_expr, out);
            if let Some(key) = &f.key_expr {
                collect_references(key, out);
            }
            collect_references(&f.value_expr, out);
            if let Some(cond) = &f.cond_expr {
                collect_references(cond, out);
            }
        }
        #[allow(unreachable_patterns)]
        other => panic!("expression kind not handled by the cross-reference: {other:?}"),
    }
}

pub fn collect_template_references(template: &Template, out: &mut BTreeSet<String>) {
    for element in template.elements() {
        match element {
            Element::Literal(_) => {}
            Element::Interpolation(interpolation) => collect_references(&interpolation.expr, out),
            Element::Directive(directive) => match directive.as_ref() {
                Directive::If(d) => {
                    collect_references(&d.cond_expr, out);
                    collect_template_references(&d.true_template, out);
                    if let Some(f) = &d.false_template {
                        collect_template_references(f, out);
                    }
                }
                Directive::For(d) => {
                    collect_references(&d.collection_expr, out);
                    collect_template_references(&d.template, out);
                }
            },
        }
    }
}

/// The references of an expression as a set (see `collect_references`).
pub fn references(expr: &Expression) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    collect_references(expr, &mut out);
    out
}

/// Collects every `var.NAME` referenced anywhere in an expression, including
/// inside string templates and heredocs.
pub fn collect_var_refs(expr: &Expression, out: &mut BTreeSet<String>) {
    for reference in references(expr) {
        if let Some(name) = reference.strip_prefix("var.") {
            let name = name.split('.').next().unwrap_or(name);
            out.insert(name.to_owned());
        }
    }
}

pub fn collect_body_var_refs(body: &Body, out: &mut BTreeSet<String>) {
    for attr in body.attributes() {
        collect_var_refs(&attr.expr, out);
    }
    for block in body.blocks() {
        collect_body_var_refs(&block.body, out);
    }
}

// --- Blocks of a configuration ----------------------------------------------

/// Every top-level block of the `.tf` files directly in `dir`.
pub fn blocks_in(dir: &Path) -> Vec<Block> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "tf"))
        .collect();
    files.sort();
    files
        .iter()
        .flat_map(|f| parse_file(f).into_blocks())
        .collect()
}

/// The block `kind "labels[0]" "labels[1]"` among `blocks`, e.g.
/// `("resource", &["aws_db_instance", "this"])`.
pub fn find_block<'a>(blocks: &'a [Block], kind: &str, labels: &[&str]) -> Option<&'a Block> {
    blocks.iter().find(|b| {
        b.identifier.as_str() == kind
            && b.labels.len() == labels.len()
            && b.labels
                .iter()
                .zip(labels)
                .all(|(l, want)| l.as_str() == *want)
    })
}

/// Blocks `resource "ty" ...` among `blocks`.
pub fn resources_of<'a>(blocks: &'a [Block], ty: &str) -> Vec<&'a Block> {
    blocks
        .iter()
        .filter(|b| b.identifier.as_str() == "resource" && label(b, 0) == ty)
        .collect()
}

/// The expression of `local.NAME` in a configuration's `locals` blocks.
pub fn local_value<'a>(blocks: &'a [Block], name: &str) -> Option<&'a Expression> {
    blocks
        .iter()
        .filter(|b| b.identifier.as_str() == "locals")
        .find_map(|b| attribute(&b.body, name))
}

/// The default of `variable "NAME"`, if it has one.
pub fn variable_default<'a>(blocks: &'a [Block], name: &str) -> Option<&'a Expression> {
    find_block(blocks, "variable", &[name]).and_then(|b| attribute(&b.body, "default"))
}

/// The references in a block's `depends_on`.
pub fn depends_on(block: &Block) -> BTreeSet<String> {
    attribute(&block.body, "depends_on")
        .map(references)
        .unwrap_or_default()
}

// --- A Terraform configuration directory ------------------------------------

pub struct ModuleCall {
    pub file: PathBuf,
    pub name: String,
    pub dir: PathBuf,
    pub inputs: BTreeSet<String>,
}

/// What the cross-reference needs to know about one module or stack.
pub struct TfConfig {
    pub dir: PathBuf,
    /// Declared variables: name -> has a default.
    pub variables: BTreeMap<String, bool>,
    /// `var.X` references: name -> files using it.
    pub var_refs: BTreeMap<String, BTreeSet<PathBuf>>,
    pub module_calls: Vec<ModuleCall>,
    pub outputs: BTreeMap<String, Expression>,
    /// `terraform_remote_state` reads: data source name -> state key template.
    pub remote_state_keys: BTreeMap<String, String>,
}

impl TfConfig {
    pub fn load(dir: &Path) -> TfConfig {
        let dir = dir
            .canonicalize()
            .unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
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
                config
                    .var_refs
                    .entry(name)
                    .or_default()
                    .insert(file.clone());
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
                        let value = attribute(&block.body, "value").unwrap_or_else(|| {
                            panic!("output {} in {} has no value", label(block, 0), rel(&file))
                        });
                        config
                            .outputs
                            .insert(label(block, 0).to_owned(), value.clone());
                    }
                    "module" => {
                        let source = attribute(&block.body, "source")
                            .and_then(string_value)
                            .unwrap_or_else(|| {
                                panic!(
                                    "module {} in {} has no literal source",
                                    label(block, 0),
                                    rel(&file)
                                )
                            });
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
                            .and_then(|config| object_string(config, "key"))
                            .unwrap_or_else(|| {
                                panic!(
                                    "remote state {} in {} has no config.key",
                                    label(block, 1),
                                    rel(&file)
                                )
                            });
                        config
                            .remote_state_keys
                            .insert(label(block, 1).to_owned(), key);
                    }
                    _ => {}
                }
            }
        }
        config
    }

    pub fn required_variables(&self) -> BTreeSet<&str> {
        self.variables
            .iter()
            .filter(|(_, has_default)| !**has_default)
            .map(|(n, _)| n.as_str())
            .collect()
    }
}

pub fn all_config_dirs() -> Vec<PathBuf> {
    let mut dirs = BTreeSet::new();
    for file in files_under(&repo_root().join("terraform"), &[".tf"]) {
        dirs.insert(file.parent().expect("parent").to_path_buf());
    }
    dirs.into_iter().collect()
}

pub fn stack_dirs() -> Vec<PathBuf> {
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

pub struct EnvStack {
    pub name: String,
    pub config: TfConfig,
    pub backend_key: Option<String>,
    pub var_files: Vec<String>,
    pub depends_on: Vec<String>,
}

pub struct Env {
    pub name: String,
    pub dir: PathBuf,
    pub body: Body,
    pub stacks: Vec<EnvStack>,
}

pub fn environments() -> Vec<Env> {
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
            let backend_key = attribute(&block.body, "backend_values")
                .and_then(|values| object_string(values, "key"));
            if let Some(backend) = attribute(&block.body, "backend_config").and_then(string_value) {
                assert!(
                    dir.join(&backend).is_file(),
                    "{}: stack {name} names missing {backend}",
                    rel(&dir)
                );
            }
            stacks.push(EnvStack {
                config: TfConfig::load(&dir.join(stack_dir)),
                backend_key,
                var_files: attribute(&block.body, "var_files")
                    .map(string_list)
                    .unwrap_or_default(),
                depends_on: attribute(&block.body, "depends_on")
                    .map(string_list)
                    .unwrap_or_default(),
                name,
            });
        }
        envs.push(Env {
            name: dir
                .file_name()
                .expect("name")
                .to_string_lossy()
                .into_owned(),
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

pub fn tfvars(path: &Path) -> BTreeMap<String, Expression> {
    parse_file(path)
        .attributes()
        .map(|a| (a.key.as_str().to_owned(), a.expr.clone()))
        .collect()
}

pub fn dependency_closure(env: &Env, stack: &str) -> BTreeSet<String> {
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

/// Argument and nested-block names used inside a resource or data block, at
/// any depth: what must exist in the provider's schema. Meta-arguments and
/// `lifecycle` are Terraform's own; a `dynamic "x"` block counts as `x` and its
/// `content` is walked; blocks in `unchecked` are named but not entered.
pub fn argument_names(body: &Body, unchecked: &BTreeSet<String>, out: &mut BTreeSet<String>) {
    const META: &[&str] = &["count", "for_each", "provider", "depends_on"];
    for attr in body.attributes() {
        if !META.contains(&attr.key.as_str()) {
            out.insert(attr.key.as_str().to_owned());
        }
    }
    for block in body.blocks() {
        match block.identifier.as_str() {
            "lifecycle" => {}
            "dynamic" => {
                let name = label(block, 0).to_owned();
                if !unchecked.contains(&name) {
                    for content in block
                        .body
                        .blocks()
                        .filter(|b| b.identifier.as_str() == "content")
                    {
                        argument_names(&content.body, unchecked, out);
                    }
                }
                out.insert(name);
            }
            name => {
                out.insert(name.to_owned());
                if !unchecked.contains(name) {
                    argument_names(&block.body, unchecked, out);
                }
            }
        }
    }
}

// --- What the review tests read ---------------------------------------------

/// `terraform/modules/<name>`.
pub fn module_dir(name: &str) -> PathBuf {
    repo_root().join("terraform/modules").join(name)
}

/// `terraform/stacks/<name>`.
pub fn stack_dir(name: &str) -> PathBuf {
    repo_root().join("terraform/stacks").join(name)
}

/// The value of `name` in an environment's var files, if they set it.
pub fn env_value(env: &Env, name: &str) -> Option<Expression> {
    env.stacks
        .iter()
        .flat_map(|s| s.var_files.iter())
        .collect::<BTreeSet<_>>()
        .into_iter()
        .find_map(|f| tfvars(&env.dir.join(f)).remove(name))
}

/// A string an environment's var files must set.
pub fn env_string(env: &Env, name: &str) -> String {
    env_value(env, name)
        .as_ref()
        .and_then(string_value)
        .unwrap_or_else(|| panic!("{}: terraform.tfvars sets no string {name}", env.name))
}

/// `{ "a" = "b", ... }` as a map of strings.
pub fn string_map(expr: &Expression) -> BTreeMap<String, String> {
    match expr {
        Expression::Object(object) => object
            .iter()
            .filter_map(|(k, v)| {
                let key = match k {
                    hcl::expr::ObjectKey::Identifier(i) => i.as_str().to_owned(),
                    hcl::expr::ObjectKey::Expression(e) => string_value(e)?,
                    #[allow(unreachable_patterns)]
                    _ => return None,
                };
                Some((key, string_value(v)?))
            })
            .collect(),
        _ => BTreeMap::new(),
    }
}

/// The `module "<name>"` blocks of a stack whose source is `modules/<module>`.
pub fn module_calls_to(stack: &std::path::Path, module: &str) -> Vec<hcl::Block> {
    blocks_in(stack)
        .into_iter()
        .filter(|b| {
            b.identifier.as_str() == "module"
                && attribute(&b.body, "source")
                    .and_then(string_value)
                    .is_some_and(|s| {
                        s.trim_end_matches('/')
                            .ends_with(&format!("modules/{module}"))
                    })
        })
        .collect()
}

/// Nested blocks `name { ... }` of a body.
pub fn nested<'a>(body: &'a hcl::Body, name: &str) -> Vec<&'a hcl::Block> {
    body.blocks()
        .filter(|b| b.identifier.as_str() == name)
        .collect()
}

/// Every string literal inside an expression (arrays and objects walked).
pub fn string_literals(expr: &Expression, out: &mut Vec<String>) {
    match expr {
        Expression::Array(items) => items.iter().for_each(|e| string_literals(e, out)),
        Expression::Object(object) => object.iter().for_each(|(_, v)| string_literals(v, out)),
        Expression::FuncCall(call) => call.args.iter().for_each(|e| string_literals(e, out)),
        other => out.extend(string_value(other)),
    }
}

/// A boolean an environment's var files set.
pub fn env_bool(env: &Env, name: &str) -> Option<bool> {
    match env_value(env, name) {
        Some(Expression::Bool(b)) => Some(b),
        _ => None,
    }
}

/// The text of `runbooks/<file>` under `heading`, up to the next `## ` heading.
pub fn runbook_section(file: &str, heading: &str) -> String {
    let text = std::fs::read_to_string(repo_root().join("runbooks").join(file))
        .unwrap_or_else(|e| panic!("runbooks/{file}: {e}"));
    text.split(heading)
        .nth(1)
        .map(|s| s.split("\n## ").next().unwrap_or(s).to_owned())
        .unwrap_or_default()
}
