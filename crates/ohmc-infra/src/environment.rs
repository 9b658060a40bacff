//! `environments/<name>/environment.hcl`: what an environment is made of.
//!
//! Values are read with hcl-rs. Positions come from the same text parsed by
//! hcl-edit (which hcl-rs re-exports), so every error names the file, the line
//! and the field, the way a reviewer would point at it.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use hcl::edit::Span;
use hcl::{Body, Expression};

/// The file name every environment folder holds.
pub const ENVIRONMENT_FILE: &str = "environment.hcl";

/// An error in one environment file, or in finding an environment.
#[derive(Debug, thiserror::Error)]
pub enum EnvironmentError {
    #[error("{file}{}: {field}: {message}", line.map(|l| format!(":{l}")).unwrap_or_default())]
    Invalid {
        file: PathBuf,
        line: Option<usize>,
        field: String,
        message: String,
    },

    // The name is escaped: one with control characters must not drive the terminal.
    #[error("unknown environment \"{}\"; known environments: {}", name.escape_debug(), if known.is_empty() { "(none)".to_string() } else { known.join(", ") })]
    Unknown { name: String, known: Vec<String> },

    #[error("{path} is a directory, not a file")]
    NotAFile { path: PathBuf },

    #[error("reading {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct AwsSettings {
    pub account_id: String,
    pub region: String,
    pub profile: Option<String>,
    pub role_arn: Option<String>,
}

#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct Protection {
    /// Production: apply needs a typed confirmation or `--approve <sha prefix>`.
    pub require_approval: bool,
}

/// One Terraform stack of an environment. Paths are absolute.
#[derive(Debug, Clone, serde::Serialize)]
pub struct StackSpec {
    pub name: String,
    pub dir: PathBuf,
    pub backend_config: Option<PathBuf>,
    pub backend_values: Vec<(String, String)>,
    pub var_files: Vec<PathBuf>,
    pub depends_on: Vec<String>,
}

/// The `verify {}` block: expectations that are not stack outputs.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct VerifyBlock {
    pub domain_names: Vec<String>,
    pub certificate_expiry_window_days: Option<u64>,
    pub min_backup_retention_days: Option<u64>,
    pub required_waf_rule_groups: Vec<String>,
    pub required_config_rules: Vec<String>,
    pub guardduty_finding_frequency: Option<String>,
    #[serde(with = "humantime_serde_opt")]
    pub rpo_target: Option<Duration>,
}

/// The `drill {}` block.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct DrillBlock {
    pub rds_instances: Vec<String>,
    pub redis_replication_group: Option<String>,
    #[serde(with = "humantime_serde_opt")]
    pub rto_target: Option<Duration>,
    #[serde(with = "humantime_serde_opt")]
    pub rpo_target: Option<Duration>,
    #[serde(with = "humantime_serde_opt")]
    pub timeout: Option<Duration>,
    pub validation_command: Option<String>,
    /// Cross-region Redis: a source-region bucket ElastiCache may export to.
    pub redis_export_bucket: Option<String>,
    /// Cross-region Redis: a target-region bucket the restore reads from.
    pub redis_import_bucket: Option<String>,
}

/// The `monitoring {}` block.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct MonitoringBlock {
    pub prometheus_url: Option<String>,
    pub alertmanager_url: Option<String>,
    pub required_jobs: Vec<String>,
    pub required_rule_groups: Vec<String>,
}

mod humantime_serde_opt {
    pub fn serialize<S: serde::Serializer>(
        d: &Option<std::time::Duration>,
        s: S,
    ) -> Result<S::Ok, S::Error> {
        match d {
            Some(d) => s.serialize_str(&humantime::format_duration(*d).to_string()),
            None => s.serialize_none(),
        }
    }
}

/// A parsed, validated environment.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Environment {
    pub name: String,
    pub dir: PathBuf,
    pub file: PathBuf,
    pub description: String,
    pub aws: AwsSettings,
    pub protection: Protection,
    pub stacks: Vec<StackSpec>,
    pub verify: Option<VerifyBlock>,
    pub drill: Option<DrillBlock>,
    pub monitoring: Option<MonitoringBlock>,
    /// Plan bundles kept after each plan (`bundles { keep = N }`); the one last
    /// applied is kept on top of these.
    pub keep_bundles: usize,
}

/// Whether `name` may name a stack: it becomes a file and folder name (plan
/// file, Terraform data dir), so only `[a-z0-9][a-z0-9_-]*`. Nothing that
/// climbs out (`..`), starts at `/`, hides (`.x`) or is empty.
pub fn valid_stack_name(name: &str) -> bool {
    let mut bytes = name.bytes();
    matches!(bytes.next(), Some(b'a'..=b'z' | b'0'..=b'9'))
        && bytes.all(|b| matches!(b, b'a'..=b'z' | b'0'..=b'9' | b'_' | b'-'))
}

impl Environment {
    pub fn stack(&self, name: &str) -> Option<&StackSpec> {
        self.stacks.iter().find(|s| s.name == name)
    }
}

/// The environments under a root's `environments/` folder, by name.
pub fn discover(environments_dir: &Path) -> Result<Vec<String>, EnvironmentError> {
    let entries = std::fs::read_dir(environments_dir).map_err(|source| EnvironmentError::Io {
        path: environments_dir.to_path_buf(),
        source,
    })?;
    let mut names: Vec<String> = entries
        .filter_map(|e| e.ok())
        .filter(|e| e.path().join(ENVIRONMENT_FILE).is_file())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    Ok(names)
}

/// Loads one environment by name, or says which ones exist.
pub fn load(environments_dir: &Path, name: &str) -> Result<Environment, EnvironmentError> {
    let dir = environments_dir.join(name);
    let file = dir.join(ENVIRONMENT_FILE);
    if !name.contains('/') && !name.starts_with('.') && file.is_dir() {
        return Err(EnvironmentError::NotAFile { path: file });
    }
    if name.contains('/') || name.starts_with('.') || !file.is_file() {
        return Err(EnvironmentError::Unknown {
            name: name.to_string(),
            known: discover(environments_dir).unwrap_or_default(),
        });
    }
    let text = std::fs::read_to_string(&file).map_err(|source| EnvironmentError::Io {
        path: file.clone(),
        source,
    })?;
    parse(name, &dir, &file, &text)
}

/// Parses environment text. `dir` anchors the relative paths inside it.
pub fn parse(
    name: &str,
    dir: &Path,
    file: &Path,
    text: &str,
) -> Result<Environment, EnvironmentError> {
    let body: Body = hcl::parse(text).map_err(|e| syntax_error(file, text, e))?;
    let lines = LineIndex::new(text);
    let r = Reader {
        file,
        lines: &lines,
    };

    r.only_known(
        &body,
        "",
        &["description"],
        &[
            "aws",
            "protection",
            "stack",
            "verify",
            "drill",
            "monitoring",
            "bundles",
        ],
    )?;
    let description = r.opt_string(&body, "", "description")?.unwrap_or_default();

    let aws_block = r.single_block(&body, "aws")?.ok_or_else(|| {
        r.invalid(
            "aws",
            "a required `aws { account_id, region }` block is missing",
        )
    })?;
    r.only_known(
        &aws_block.body,
        "aws",
        &["account_id", "region", "profile", "role_arn"],
        &[],
    )?;
    let account_id = r.req_string(&aws_block.body, "aws", "account_id")?;
    if account_id.len() != 12 || !account_id.chars().all(|c| c.is_ascii_digit()) {
        return Err(r.invalid(
            "aws.account_id",
            &format!("\"{account_id}\" is not a 12-digit AWS account id"),
        ));
    }
    let region = r.req_string(&aws_block.body, "aws", "region")?;
    if !crate::region::is_valid(&region) {
        return Err(r.invalid(
            "aws.region",
            &format!(
                "\"{}\" is not an AWS region name like \"us-east-1\"",
                region.escape_debug()
            ),
        ));
    }
    let role_arn = r.opt_string(&aws_block.body, "aws", "role_arn")?;
    if let Some(arn) = &role_arn {
        if !arn.starts_with("arn:") || !arn.contains(":role/") {
            return Err(r.invalid(
                "aws.role_arn",
                &format!("\"{arn}\" is not an IAM role ARN (arn:aws:iam::ACCOUNT:role/NAME)"),
            ));
        }
    }
    let aws = AwsSettings {
        account_id,
        region,
        profile: r.opt_string(&aws_block.body, "aws", "profile")?,
        role_arn,
    };

    let protection = match r.single_block(&body, "protection")? {
        Some(b) => {
            r.only_known(&b.body, "protection", &["require_approval"], &[])?;
            Protection {
                require_approval: r
                    .opt_bool(&b.body, "protection", "require_approval")?
                    .unwrap_or(false),
            }
        }
        None => Protection::default(),
    };

    let mut stacks = Vec::new();
    for block in body.blocks().filter(|b| b.identifier.as_str() == "stack") {
        let Some(label) = block.labels.first().map(|l| l.as_str().to_string()) else {
            return Err(r.invalid(
                "stack",
                "a stack block needs a name: stack \"network\" { ... }",
            ));
        };
        let ctx = format!("stack.{label}");
        if !valid_stack_name(&label) {
            return Err(EnvironmentError::Invalid {
                file: file.to_path_buf(),
                line: lines.line(&ctx),
                field: "stack".into(),
                message: format!(
                    "\"{}\" is not a valid stack name: use lowercase letters, digits, '_' and '-', starting with a letter or digit ([a-z0-9][a-z0-9_-]*); the name becomes a file name",
                    label.escape_debug()
                ),
            });
        }
        r.only_known(
            &block.body,
            &ctx,
            &[
                "dir",
                "backend_config",
                "backend_values",
                "var_files",
                "depends_on",
            ],
            &[],
        )?;
        let stack_dir = dir.join(r.req_string(&block.body, &ctx, "dir")?);
        if !stack_dir.is_dir() {
            return Err(r.invalid(
                &format!("{ctx}.dir"),
                &format!("{} is not a directory", stack_dir.display()),
            ));
        }
        let backend_config = r
            .opt_string(&block.body, &ctx, "backend_config")?
            .map(|p| dir.join(p));
        if let Some(p) = &backend_config {
            if !p.is_file() {
                return Err(r.invalid(
                    &format!("{ctx}.backend_config"),
                    &format!("{} does not exist", p.display()),
                ));
            }
        }
        let var_files: Vec<PathBuf> = r
            .string_list(&block.body, &ctx, "var_files")?
            .into_iter()
            .map(|p| dir.join(p))
            .collect();
        for p in &var_files {
            if !p.is_file() {
                return Err(r.invalid(
                    &format!("{ctx}.var_files"),
                    &format!("{} does not exist", p.display()),
                ));
            }
        }
        if stacks.iter().any(|s: &StackSpec| s.name == label) {
            return Err(r.invalid(&ctx, "this stack name is used twice"));
        }
        stacks.push(StackSpec {
            name: label,
            dir: stack_dir.canonicalize().unwrap_or(stack_dir),
            backend_config,
            backend_values: r.string_map(&block.body, &ctx, "backend_values")?,
            var_files,
            depends_on: r.string_list(&block.body, &ctx, "depends_on")?,
        });
    }
    if stacks.is_empty() {
        return Err(r.invalid(
            "stack",
            "an environment needs at least one `stack \"NAME\" { dir = ... }` block",
        ));
    }
    check_dependencies(&stacks)
        .map_err(|(stack, message)| r.invalid(&format!("stack.{stack}.depends_on"), &message))?;

    let verify = match r.single_block(&body, "verify")? {
        None => None,
        Some(b) => {
            let c = "verify";
            r.only_known(
                &b.body,
                c,
                &[
                    "domain_names",
                    "certificate_expiry_window_days",
                    "min_backup_retention_days",
                    "required_waf_rule_groups",
                    "required_config_rules",
                    "guardduty_finding_frequency",
                    "rpo_target",
                ],
                &[],
            )?;
            Some(VerifyBlock {
                domain_names: r.string_list(&b.body, c, "domain_names")?,
                certificate_expiry_window_days: r.opt_u64(
                    &b.body,
                    c,
                    "certificate_expiry_window_days",
                )?,
                min_backup_retention_days: r.opt_u64(&b.body, c, "min_backup_retention_days")?,
                required_waf_rule_groups: r.string_list(&b.body, c, "required_waf_rule_groups")?,
                required_config_rules: r.string_list(&b.body, c, "required_config_rules")?,
                guardduty_finding_frequency: r.opt_string(
                    &b.body,
                    c,
                    "guardduty_finding_frequency",
                )?,
                rpo_target: r.opt_duration(&b.body, c, "rpo_target")?,
            })
        }
    };
    let drill = match r.single_block(&body, "drill")? {
        None => None,
        Some(b) => {
            let c = "drill";
            r.only_known(
                &b.body,
                c,
                &[
                    "rds_instances",
                    "redis_replication_group",
                    "rto_target",
                    "rpo_target",
                    "timeout",
                    "validation_command",
                    "redis_export_bucket",
                    "redis_import_bucket",
                ],
                &[],
            )?;
            Some(DrillBlock {
                rds_instances: r.string_list(&b.body, c, "rds_instances")?,
                redis_replication_group: r
                    .opt_string(&b.body, c, "redis_replication_group")?
                    .filter(|s| !s.is_empty()),
                rto_target: r.opt_duration(&b.body, c, "rto_target")?,
                rpo_target: r.opt_duration(&b.body, c, "rpo_target")?,
                timeout: r.opt_duration(&b.body, c, "timeout")?,
                validation_command: r
                    .opt_string(&b.body, c, "validation_command")?
                    .filter(|s| !s.is_empty()),
                redis_export_bucket: r
                    .opt_string(&b.body, c, "redis_export_bucket")?
                    .filter(|s| !s.is_empty()),
                redis_import_bucket: r
                    .opt_string(&b.body, c, "redis_import_bucket")?
                    .filter(|s| !s.is_empty()),
            })
        }
    };
    let monitoring = match r.single_block(&body, "monitoring")? {
        None => None,
        Some(b) => {
            let c = "monitoring";
            r.only_known(
                &b.body,
                c,
                &[
                    "prometheus_url",
                    "alertmanager_url",
                    "required_jobs",
                    "required_rule_groups",
                ],
                &[],
            )?;
            Some(MonitoringBlock {
                prometheus_url: r.opt_string(&b.body, c, "prometheus_url")?,
                alertmanager_url: r.opt_string(&b.body, c, "alertmanager_url")?,
                required_jobs: r.string_list(&b.body, c, "required_jobs")?,
                required_rule_groups: r.string_list(&b.body, c, "required_rule_groups")?,
            })
        }
    };

    let keep_bundles = match r.single_block(&body, "bundles")? {
        None => crate::bundle::DEFAULT_KEEP_BUNDLES,
        Some(b) => {
            r.only_known(&b.body, "bundles", &["keep"], &[])?;
            match r.opt_u64(&b.body, "bundles", "keep")? {
                None => crate::bundle::DEFAULT_KEEP_BUNDLES,
                Some(0) => {
                    return Err(r.invalid(
                        "bundles.keep",
                        "must be at least 1 (the newest plan is always kept)",
                    ))
                }
                Some(n) => usize::try_from(n).unwrap_or(usize::MAX),
            }
        }
    };

    Ok(Environment {
        name: name.to_string(),
        dir: dir.to_path_buf(),
        file: file.to_path_buf(),
        description,
        aws,
        protection,
        stacks,
        verify,
        drill,
        monitoring,
        keep_bundles,
    })
}

/// Every `depends_on` names a stack of this environment, and there is no cycle.
fn check_dependencies(stacks: &[StackSpec]) -> Result<(), (String, String)> {
    let names: BTreeSet<&str> = stacks.iter().map(|s| s.name.as_str()).collect();
    for s in stacks {
        for d in &s.depends_on {
            if !names.contains(d.as_str()) {
                return Err((
                    s.name.clone(),
                    format!(
                        "unknown stack \"{d}\"; stacks here: {}",
                        names.iter().cloned().collect::<Vec<_>>().join(", ")
                    ),
                ));
            }
        }
    }
    crate::graph::topological_order(stacks)
        .map(|_| ())
        .map_err(|cycle| {
            (
                cycle[0].clone(),
                format!("dependency cycle: {}", cycle.join(" -> ")),
            )
        })
}

fn syntax_error(file: &Path, text: &str, err: hcl::Error) -> EnvironmentError {
    // hcl-edit's parser error carries the location; hcl-rs wraps the same parser.
    match hcl::edit::parser::parse_body(text) {
        Err(e) => EnvironmentError::Invalid {
            file: file.to_path_buf(),
            line: Some(e.location().line()),
            field: "syntax".into(),
            message: e.message().to_string(),
        },
        Ok(_) => EnvironmentError::Invalid {
            file: file.to_path_buf(),
            line: None,
            field: "syntax".into(),
            message: err.to_string(),
        },
    }
}

/// Maps "block.label.attribute" paths to line numbers, from hcl-edit's spans.
struct LineIndex {
    lines: BTreeMap<String, usize>,
}

impl LineIndex {
    fn new(text: &str) -> LineIndex {
        let mut lines = BTreeMap::new();
        let line_of = |offset: usize| text[..offset.min(text.len())].matches('\n').count() + 1;
        if let Ok(body) = hcl::edit::parser::parse_body(text) {
            fn walk(
                body: &hcl::edit::structure::Body,
                prefix: &str,
                line_of: &dyn Fn(usize) -> usize,
                out: &mut BTreeMap<String, usize>,
            ) {
                for structure in body.iter() {
                    if let Some(attr) = structure.as_attribute() {
                        if let Some(span) = attr.span() {
                            out.entry(join(prefix, attr.key.as_str()))
                                .or_insert(line_of(span.start));
                        }
                    } else if let Some(block) = structure.as_block() {
                        let mut path = join(prefix, block.ident.as_str());
                        if let Some(span) = block.span() {
                            out.entry(path.clone()).or_insert(line_of(span.start));
                        }
                        if let Some(label) = block.labels.first() {
                            path = join(&path, label.as_str());
                            if let Some(span) = block.span() {
                                out.entry(path.clone()).or_insert(line_of(span.start));
                            }
                        }
                        walk(&block.body, &path, line_of, out);
                    }
                }
            }
            walk(&body, "", &line_of, &mut lines);
        }
        LineIndex { lines }
    }

    /// The line of a field, or of the nearest enclosing block.
    fn line(&self, path: &str) -> Option<usize> {
        let mut p = path.to_string();
        loop {
            if let Some(l) = self.lines.get(&p) {
                return Some(*l);
            }
            let (parent, _) = p.rsplit_once('.')?;
            p = parent.to_string();
        }
    }
}

fn join(prefix: &str, name: &str) -> String {
    if prefix.is_empty() {
        name.to_string()
    } else {
        format!("{prefix}.{name}")
    }
}

struct Reader<'a> {
    file: &'a Path,
    lines: &'a LineIndex,
}

impl Reader<'_> {
    fn invalid(&self, field: &str, message: &str) -> EnvironmentError {
        EnvironmentError::Invalid {
            file: self.file.to_path_buf(),
            line: self.lines.line(field),
            field: field.to_string(),
            message: message.to_string(),
        }
    }

    fn only_known(
        &self,
        body: &Body,
        ctx: &str,
        attrs: &[&str],
        blocks: &[&str],
    ) -> Result<(), EnvironmentError> {
        for a in body.attributes() {
            if !attrs.contains(&a.key.as_str()) {
                return Err(self.invalid(
                    &join(ctx, a.key.as_str()),
                    &format!("unknown attribute; expected one of: {}", attrs.join(", ")),
                ));
            }
        }
        for b in body.blocks() {
            if !blocks.contains(&b.identifier.as_str()) {
                let expected = if blocks.is_empty() {
                    "no blocks here".to_string()
                } else {
                    format!("expected one of: {}", blocks.join(", "))
                };
                return Err(self.invalid(
                    &join(ctx, b.identifier.as_str()),
                    &format!("unknown block; {expected}"),
                ));
            }
        }
        Ok(())
    }

    fn single_block<'b>(
        &self,
        body: &'b Body,
        ident: &str,
    ) -> Result<Option<&'b hcl::Block>, EnvironmentError> {
        let mut blocks = body.blocks().filter(|b| b.identifier.as_str() == ident);
        let first = blocks.next();
        if blocks.next().is_some() {
            return Err(self.invalid(ident, "this block may appear only once"));
        }
        Ok(first)
    }

    fn expr<'b>(&self, body: &'b Body, key: &str) -> Option<&'b Expression> {
        body.attributes()
            .find(|a| a.key.as_str() == key)
            .map(|a| &a.expr)
    }

    fn opt_string(
        &self,
        body: &Body,
        ctx: &str,
        key: &str,
    ) -> Result<Option<String>, EnvironmentError> {
        match self.expr(body, key) {
            None | Some(Expression::Null) => Ok(None),
            Some(Expression::String(s)) => Ok(Some(s.clone())),
            Some(other) => Err(self.invalid(
                &join(ctx, key),
                &format!("expected a string, found {}", kind(other)),
            )),
        }
    }

    fn req_string(&self, body: &Body, ctx: &str, key: &str) -> Result<String, EnvironmentError> {
        self.opt_string(body, ctx, key)?
            .filter(|s| !s.is_empty())
            .ok_or_else(|| {
                self.invalid(
                    &join(ctx, key),
                    "is required and must be a non-empty string",
                )
            })
    }

    fn opt_bool(
        &self,
        body: &Body,
        ctx: &str,
        key: &str,
    ) -> Result<Option<bool>, EnvironmentError> {
        match self.expr(body, key) {
            None => Ok(None),
            Some(Expression::Bool(b)) => Ok(Some(*b)),
            Some(other) => Err(self.invalid(
                &join(ctx, key),
                &format!("expected true or false, found {}", kind(other)),
            )),
        }
    }

    fn opt_u64(&self, body: &Body, ctx: &str, key: &str) -> Result<Option<u64>, EnvironmentError> {
        match self.expr(body, key) {
            None => Ok(None),
            Some(Expression::Number(n)) => n.as_u64().map(Some).ok_or_else(|| {
                self.invalid(&join(ctx, key), "expected a whole, non-negative number")
            }),
            Some(other) => Err(self.invalid(
                &join(ctx, key),
                &format!("expected a number, found {}", kind(other)),
            )),
        }
    }

    fn opt_duration(
        &self,
        body: &Body,
        ctx: &str,
        key: &str,
    ) -> Result<Option<Duration>, EnvironmentError> {
        match self.opt_string(body, ctx, key)? {
            None => Ok(None),
            Some(s) => match humantime::parse_duration(&s) {
                // A zero target or timeout is never meant: every drill would breach it
                // or time out at once.
                Ok(d) if d.is_zero() => Err(self.invalid(
                    &join(ctx, key),
                    &format!("\"{s}\" must be greater than zero"),
                )),
                Ok(d) => Ok(Some(d)),
                Err(e) => Err(self.invalid(
                    &join(ctx, key),
                    &format!("\"{s}\" is not a duration like \"30m\" or \"24h\": {e}"),
                )),
            },
        }
    }

    fn string_list(
        &self,
        body: &Body,
        ctx: &str,
        key: &str,
    ) -> Result<Vec<String>, EnvironmentError> {
        match self.expr(body, key) {
            None => Ok(Vec::new()),
            Some(Expression::Array(items)) => items
                .iter()
                .map(|item| match item {
                    Expression::String(s) => Ok(s.clone()),
                    other => Err(self.invalid(
                        &join(ctx, key),
                        &format!(
                            "expected a list of strings, found an item that is {}",
                            kind(other)
                        ),
                    )),
                })
                .collect(),
            Some(other) => Err(self.invalid(
                &join(ctx, key),
                &format!("expected a list of strings, found {}", kind(other)),
            )),
        }
    }

    fn string_map(
        &self,
        body: &Body,
        ctx: &str,
        key: &str,
    ) -> Result<Vec<(String, String)>, EnvironmentError> {
        match self.expr(body, key) {
            None => Ok(Vec::new()),
            Some(Expression::Object(obj)) => {
                obj.iter()
                    .map(|(k, v)| {
                        let key_text = match k {
                            hcl::ObjectKey::Identifier(i) => i.as_str().to_string(),
                            hcl::ObjectKey::Expression(Expression::String(s)) => s.clone(),
                            _ => {
                                return Err(self
                                    .invalid(&join(ctx, key), "map keys must be names or strings"))
                            }
                        };
                        match v {
                            Expression::String(s) => Ok((key_text, s.clone())),
                            Expression::Number(n) => Ok((key_text, n.to_string())),
                            Expression::Bool(b) => Ok((key_text, b.to_string())),
                            other => Err(self.invalid(
                                &join(ctx, key),
                                &format!(
                                    "value of \"{key_text}\" must be a string, found {}",
                                    kind(other)
                                ),
                            )),
                        }
                    })
                    .collect()
            }
            Some(other) => Err(self.invalid(
                &join(ctx, key),
                &format!("expected a map of strings, found {}", kind(other)),
            )),
        }
    }
}

fn kind(expr: &Expression) -> &'static str {
    match expr {
        Expression::Null => "null",
        Expression::Bool(_) => "a bool",
        Expression::Number(_) => "a number",
        Expression::String(_) => "a string",
        Expression::Array(_) => "a list",
        Expression::Object(_) => "a map",
        Expression::TemplateExpr(_) => "a template (interpolation is not supported here)",
        _ => "an expression (only literal values are supported here)",
    }
}

impl fmt::Display for StackSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env_dir() -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("stack")).unwrap();
        std::fs::write(dir.path().join("backend.hcl"), "").unwrap();
        dir
    }

    const GOOD: &str = r#"
description = "test"
aws {
  account_id = "123456789012"
  region     = "us-east-1"
}
protection {
  require_approval = true
}
stack "a" {
  dir            = "stack"
  backend_config = "backend.hcl"
  backend_values = { path = "a.tfstate" }
}
stack "b" {
  dir        = "stack"
  depends_on = ["a"]
}
drill {
  rds_instances       = ["db"]
  rpo_target          = "24h"
  redis_export_bucket = "export-bucket"
}
"#;

    #[test]
    fn parses_a_good_file() {
        let dir = env_dir();
        let env = parse("t", dir.path(), &dir.path().join(ENVIRONMENT_FILE), GOOD).unwrap();
        assert!(env.protection.require_approval);
        assert_eq!(env.stacks.len(), 2);
        assert_eq!(
            env.stacks[0].backend_values,
            vec![("path".to_string(), "a.tfstate".to_string())]
        );
        assert_eq!(env.stacks[1].depends_on, ["a"]);
        let drill = env.drill.unwrap();
        assert_eq!(drill.rpo_target, Some(Duration::from_secs(86400)));
        assert_eq!(drill.redis_export_bucket.as_deref(), Some("export-bucket"));
        assert_eq!(drill.redis_import_bucket, None);
    }

    fn error_of(text: &str) -> String {
        let dir = env_dir();
        parse(
            "t",
            dir.path(),
            Path::new("environments/t/environment.hcl"),
            text,
        )
        .unwrap_err()
        .to_string()
    }

    #[test]
    fn wrong_type_names_file_line_and_field() {
        let text = GOOD.replace("require_approval = true", "require_approval = \"yes\"");
        assert_eq!(error_of(&text), "environments/t/environment.hcl:8: protection.require_approval: expected true or false, found a string");
    }

    #[test]
    fn unknown_attribute_and_bad_reference() {
        let text = GOOD.replace("region     = \"us-east-1\"", "regoin     = \"us-east-1\"");
        assert!(
            error_of(&text)
                .starts_with("environments/t/environment.hcl:5: aws.regoin: unknown attribute"),
            "{}",
            error_of(&text)
        );
        let text = GOOD.replace("depends_on = [\"a\"]", "depends_on = [\"x\"]");
        assert!(
            error_of(&text).starts_with(
                "environments/t/environment.hcl:17: stack.b.depends_on: unknown stack \"x\""
            ),
            "{}",
            error_of(&text)
        );
    }

    #[test]
    fn cycle_and_syntax_errors() {
        let text = GOOD.replace(
            "stack \"a\" {\n  dir",
            "stack \"a\" {\n  depends_on = [\"b\"]\n  dir",
        );
        assert!(
            error_of(&text).contains("dependency cycle"),
            "{}",
            error_of(&text)
        );
        let text = GOOD.replace("region     = \"us-east-1\"", "region = ");
        assert!(
            error_of(&text).starts_with("environments/t/environment.hcl:5: syntax:")
                || error_of(&text).starts_with("environments/t/environment.hcl:6: syntax:"),
            "{}",
            error_of(&text)
        );
    }

    #[test]
    fn stack_names_must_be_safe_path_components() {
        for bad in [
            "../../../../etc",
            "/abs/path",
            "",
            "App",
            ".hidden",
            "-x",
            "a/b",
            "a.b",
            "a b",
        ] {
            let text = GOOD.replace("stack \"b\" {", &format!("stack \"{bad}\" {{"));
            assert_eq!(
                error_of(&text),
                format!(
                    "environments/t/environment.hcl:15: stack: \"{bad}\" is not a valid stack name: use lowercase letters, digits, '_' and '-', starting with a letter or digit ([a-z0-9][a-z0-9_-]*); the name becomes a file name"
                ),
                "{bad}"
            );
        }
        let text = GOOD.replace("stack \"b\" {", "stack \"bad\\u0007\" {");
        assert!(
            error_of(&text).contains("\"bad\\u{7}\" is not a valid stack name"),
            "{}",
            error_of(&text)
        );
        for good in ["b", "0", "app-2", "data_store", "9lives"] {
            let text = GOOD.replace("stack \"b\" {", &format!("stack \"{good}\" {{"));
            let dir = env_dir();
            let env = parse("t", dir.path(), &dir.path().join(ENVIRONMENT_FILE), &text).unwrap();
            assert_eq!(env.stacks[1].name, good);
        }
    }

    #[test]
    fn bundles_keep() {
        let dir = env_dir();
        let file = dir.path().join(ENVIRONMENT_FILE);
        let env = parse("t", dir.path(), &file, GOOD).unwrap();
        assert_eq!(env.keep_bundles, crate::bundle::DEFAULT_KEEP_BUNDLES);
        let text = format!("{GOOD}\nbundles {{\n  keep = 3\n}}\n");
        assert_eq!(
            parse("t", dir.path(), &file, &text).unwrap().keep_bundles,
            3
        );
        let text = format!("{GOOD}\nbundles {{\n  keep = 0\n}}\n");
        assert!(
            error_of(&text)
                .ends_with("bundles.keep: must be at least 1 (the newest plan is always kept)"),
            "{}",
            error_of(&text)
        );
    }

    #[test]
    fn missing_required_and_bad_account() {
        let text = GOOD.replace("\"123456789012\"", "\"1234\"");
        assert!(
            error_of(&text).contains("aws.account_id: \"1234\" is not a 12-digit AWS account id")
        );
        let text = GOOD.replace("  dir            = \"stack\"\n", "");
        assert!(
            error_of(&text).contains("stack.a.dir: is required"),
            "{}",
            error_of(&text)
        );
    }
}
