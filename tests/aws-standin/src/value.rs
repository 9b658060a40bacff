//! Terraform's values (msgpack, as `rmpv::Value`) walked along the schema:
//! what a plan leaves unknown, and how an apply fills it in.

use rmpv::Value;
use sha2::{Digest, Sha256};

use crate::schema::{Attr, Block, Nesting, Ty};

/// cty's extension codes: 0 is a plain unknown, 12 an unknown with
/// refinements (Terraform 1.6+). Both mean "not known until apply".
pub fn is_unknown(value: &Value) -> bool {
    matches!(value, Value::Ext(0 | 12, _))
}

pub fn unknown() -> Value {
    Value::Ext(0, Vec::new())
}

pub fn get<'a>(object: &'a Value, key: &str) -> Option<&'a Value> {
    match object {
        Value::Map(entries) => entries
            .iter()
            .find(|(k, _)| k.as_str() == Some(key))
            .map(|(_, v)| v),
        _ => None,
    }
}

pub fn get_mut<'a>(object: &'a mut Value, key: &str) -> Option<&'a mut Value> {
    match object {
        Value::Map(entries) => entries
            .iter_mut()
            .find(|(k, _)| k.as_str() == Some(key))
            .map(|(_, v)| v),
        _ => None,
    }
}

pub fn get_str<'a>(object: &'a Value, key: &str) -> Option<&'a str> {
    get(object, key).and_then(Value::as_str)
}

/// Sets `key`, adding it when the object lacks it.
pub fn set(object: &mut Value, key: &str, value: Value) {
    if let Some(slot) = get_mut(object, key) {
        *slot = value;
    } else if let Value::Map(entries) = object {
        entries.push((Value::from(key), value));
    }
}

pub fn strings(value: Option<&Value>) -> Vec<String> {
    match value {
        Some(Value::Array(items)) => items
            .iter()
            .filter_map(|v| v.as_str().map(str::to_owned))
            .collect(),
        Some(Value::String(s)) => s.as_str().map(|s| vec![s.to_owned()]).unwrap_or_default(),
        _ => Vec::new(),
    }
}

/// Plan: every computed attribute the configuration leaves null becomes
/// unknown, at any depth. Terraform's proposed state already carries the
/// configuration and, on update, the prior computed values.
pub fn mark_unknown(value: &mut Value, block: &Block) {
    for (name, attr) in &block.attributes {
        if let Some(slot) = get_mut(value, name) {
            mark_attr(slot, attr);
        }
    }
    for (name, nb) in &block.blocks {
        if let Some(slot) = get_mut(value, name) {
            for element in elements_mut(slot, nb.nesting) {
                mark_unknown(element, &nb.block);
            }
        }
    }
}

fn mark_attr(slot: &mut Value, attr: &Attr) {
    if slot.is_nil() {
        if attr.computed {
            *slot = unknown();
        }
        return;
    }
    if let Some((nesting, attrs)) = &attr.nested {
        let block = Block {
            attributes: attrs.clone(),
            blocks: Default::default(),
        };
        for element in elements_mut(slot, *nesting) {
            mark_unknown(element, &block);
        }
    }
}

fn elements_mut(value: &mut Value, nesting: Nesting) -> Vec<&mut Value> {
    match (nesting, value) {
        (Nesting::List | Nesting::Set, Value::Array(items)) => items.iter_mut().collect(),
        (Nesting::Map, Value::Map(entries)) => entries.iter_mut().map(|(_, v)| v).collect(),
        (Nesting::Single | Nesting::Group, v @ Value::Map(_)) => vec![v],
        _ => Vec::new(),
    }
}

/// An object of the block's type with every attribute null and no nested
/// blocks: what an import starts from (Terraform needs every attribute).
pub fn empty_object(block: &Block) -> Value {
    let mut entries: Vec<(Value, Value)> = block
        .attributes
        .keys()
        .map(|k| (Value::from(k.as_str()), Value::Nil))
        .collect();
    for (name, nb) in &block.blocks {
        let empty = match nb.nesting {
            Nesting::List | Nesting::Set => Value::Array(Vec::new()),
            Nesting::Map => Value::Map(Vec::new()),
            // Served as a group (see schema.rs): never null.
            Nesting::Single if nb.min_items == 0 => empty_object(&nb.block),
            Nesting::Group => empty_object(&nb.block),
            Nesting::Single => Value::Nil,
        };
        entries.push((Value::from(name.as_str()), empty));
    }
    Value::Map(entries)
}

/// What the fill knows about the object being created.
pub struct FillContext<'a> {
    pub type_name: &'a str,
    pub partition: &'a str,
    pub region: &'a str,
    pub account: &'a str,
    /// The object's own name (its `name`, `bucket`, ... when known), or a
    /// hash of its planned values.
    pub name: String,
    /// Hex digest of the type and planned values: the deterministic source
    /// of every generated id.
    pub digest: String,
    pub default_tags: Vec<(String, String)>,
}

impl<'a> FillContext<'a> {
    pub fn new(
        type_name: &'a str,
        planned: &Value,
        partition: &'a str,
        region: &'a str,
        account: &'a str,
        default_tags: Vec<(String, String)>,
    ) -> Self {
        let mut bytes = type_name.as_bytes().to_vec();
        rmpv::encode::write_value(&mut bytes, planned).expect("msgpack into memory");
        let digest = hex::encode(Sha256::digest(&bytes));
        let name = [
            "name",
            "bucket",
            "identifier",
            "replication_group_id",
            "cluster_name",
            "domain_name",
            "trail_name",
            "role",
            "alias",
            "name_prefix",
        ]
        .iter()
        .find_map(|key| get_str(planned, key).filter(|s| !s.is_empty()))
        .map(str::to_owned)
        .unwrap_or_else(|| format!("{}-{}", short_type(type_name), &digest[..8]));
        Self {
            type_name,
            partition,
            region,
            account,
            name,
            digest,
            default_tags,
        }
    }

    fn hash(&self, salt: &str, len: usize) -> String {
        let digest = hex::encode(Sha256::digest(format!("{}{salt}", self.digest)));
        digest[..len.min(digest.len())].to_owned()
    }

    /// The service part of an ARN for this type.
    fn service(&self) -> &str {
        let rest = self
            .type_name
            .split_once('_')
            .map_or(self.type_name, |(_, r)| r);
        let first = rest.split('_').next().unwrap_or(rest);
        match first {
            "db" => "rds",
            "cloudwatch" if rest.starts_with("cloudwatch_log") => "logs",
            "cloudwatch" if rest.starts_with("cloudwatch_event") => "events",
            "lb" | "alb" => "elasticloadbalancing",
            "vpc" | "subnet" | "security" | "nat" | "internet" | "route" | "eip" | "flow"
            | "default" | "network" | "instance" | "launch" => {
                if rest.starts_with("route53") {
                    "route53"
                } else {
                    "ec2"
                }
            }
            "wafv2" => "wafv2",
            "config" => "config",
            other => other,
        }
    }

    pub fn arn(&self) -> String {
        match self.service() {
            "s3" => format!("arn:{}:s3:::{}", self.partition, self.name),
            "iam" => format!(
                "arn:{}:iam::{}:{}/{}",
                self.partition,
                self.account,
                short_type(self.type_name)
                    .replace("iam_", "")
                    .replace('_', "-"),
                self.name
            ),
            "route53" => format!(
                "arn:{}:route53:::{}/{}",
                self.partition,
                short_type(self.type_name),
                self.zone_id()
            ),
            service => {
                // aws_eks_cluster -> eks ... cluster/<name>, as AWS writes it.
                let short = short_type(self.type_name);
                let kind = short
                    .strip_prefix(service)
                    .and_then(|k| k.strip_prefix('_'))
                    .unwrap_or(short);
                format!(
                    "arn:{}:{service}:{}:{}:{}/{}",
                    self.partition,
                    self.region,
                    self.account,
                    kind.replace('_', "-"),
                    self.name
                )
            }
        }
    }

    pub fn zone_id(&self) -> String {
        format!("Z{}", self.hash("zone", 13).to_uppercase())
    }

    /// A resource id shaped like the kind AWS gives this type.
    pub fn id(&self) -> String {
        let short = short_type(self.type_name);
        let prefix = match short {
            "vpc" => Some("vpc"),
            "subnet" => Some("subnet"),
            "security_group" | "default_security_group" => Some("sg"),
            "nat_gateway" => Some("nat"),
            "internet_gateway" => Some("igw"),
            "route_table" => Some("rtb"),
            "eip" => Some("eipalloc"),
            "flow_log" => Some("fl"),
            "network_acl" | "default_network_acl" => Some("acl"),
            "vpc_security_group_ingress_rule" | "vpc_security_group_egress_rule" => Some("sgr"),
            "instance" => Some("i"),
            "vpc_endpoint" => Some("vpce"),
            _ => None,
        };
        if let Some(prefix) = prefix {
            return format!("{prefix}-{}", self.hash("id", 17));
        }
        match short {
            "route53_zone" => self.zone_id(),
            "kms_key" => self.uuid(),
            "guardduty_detector" => self.hash("detector", 32),
            "backup_plan" | "backup_selection" => self.uuid(),
            _ if self.name.starts_with(short) => self.name.clone(),
            _ => self.name.clone(),
        }
    }

    pub fn uuid(&self) -> String {
        let h = self.hash("uuid", 32);
        format!(
            "{}-{}-{}-{}-{}",
            &h[..8],
            &h[8..12],
            &h[12..16],
            &h[16..20],
            &h[20..32]
        )
    }

    /// A plausible string for a computed attribute, by its name.
    fn string_for(&self, attr_name: &str) -> String {
        match attr_name {
            "arn" => self.arn(),
            "id" => self.id(),
            "region" => self.region.to_owned(),
            "account_id" | "owner_id" | "owner" | "registry_id" => self.account.to_owned(),
            "zone_id" | "hosted_zone_id" => self.zone_id(),
            "partition" => self.partition.to_owned(),
            "issuer" => format!(
                "https://oidc.eks.{}.amazonaws.com/id/{}",
                self.region,
                self.hash("oidc", 32).to_uppercase()
            ),
            "data" => hex::encode(self.hash("data", 32)),
            "status" | "state" => "ACTIVE".to_owned(),
            "json" | "policy" | "minified_json" => "{}".to_owned(),
            "key_id" => self.uuid(),
            "repository_url" => format!(
                "{}.dkr.ecr.{}.amazonaws.com/{}",
                self.account, self.region, self.name
            ),
            name if name.ends_with("_arn") => {
                format!("{}:{}", self.arn(), name.trim_end_matches("_arn"))
            }
            name if name.ends_with("fingerprint") => self.hash(name, 40),
            name if name.ends_with("_id") => {
                format!(
                    "{}-{}",
                    name.trim_end_matches("_id").replace('_', ""),
                    self.hash(name, 17)
                )
            }
            name if name == "endpoint"
                || name.ends_with("_endpoint")
                || name.ends_with("dns_name")
                || name.ends_with("address") =>
            {
                format!(
                    "{}.{}.{}.{}.amazonaws.com",
                    self.name,
                    self.hash(name, 8),
                    self.region,
                    self.service()
                )
            }
            name => format!(
                "{}-{}-{}",
                self.name,
                name.replace('_', "-"),
                self.hash(name, 8)
            ),
        }
    }

    /// A value of type `ty` for the attribute `name` (nested objects get one
    /// element in each collection, so `x[0].y` references evaluate).
    fn value_for(&self, name: &str, ty: &Ty) -> Value {
        match ty {
            Ty::String => Value::from(self.string_for(name)),
            Ty::Number => Value::from(0),
            Ty::Bool => Value::Boolean(false),
            Ty::Dynamic => Value::Nil,
            Ty::List(inner) | Ty::Set(inner) => Value::Array(vec![self.value_for(name, inner)]),
            Ty::Map(_) => Value::Map(Vec::new()),
            Ty::Object(fields) => Value::Map(
                fields
                    .iter()
                    .map(|(k, t)| (Value::from(k.as_str()), self.value_for(k, t)))
                    .collect(),
            ),
            Ty::Tuple(items) => {
                Value::Array(items.iter().map(|t| self.value_for(name, t)).collect())
            }
        }
    }
}

fn short_type(type_name: &str) -> &str {
    type_name.split_once('_').map_or(type_name, |(_, r)| r)
}

/// Apply: every unknown left in the planned value becomes a deterministic
/// value of its type. `top` says whether `value` is the resource itself
/// (where `tags_all` means the provider's default tags merged with `tags`).
pub fn fill(value: &mut Value, block: &Block, ctx: &FillContext, top: bool) {
    for (name, attr) in &block.attributes {
        let tags = if top && name == "tags_all" {
            Some(merged_tags(value, ctx))
        } else {
            None
        };
        if let Some(slot) = get_mut(value, name) {
            if let (Some(tags), true) = (tags, is_unknown(slot)) {
                *slot = tags;
                continue;
            }
            fill_attr(slot, name, attr, ctx);
        }
    }
    for (name, nb) in &block.blocks {
        if let Some(slot) = get_mut(value, name) {
            for element in elements_mut(slot, nb.nesting) {
                fill(element, &nb.block, ctx, false);
            }
        }
    }
}

fn merged_tags(value: &Value, ctx: &FillContext) -> Value {
    let mut tags: Vec<(String, String)> = ctx.default_tags.clone();
    if let Some(Value::Map(own)) = get(value, "tags") {
        for (k, v) in own {
            if let (Some(k), Some(v)) = (k.as_str(), v.as_str()) {
                tags.retain(|(key, _)| key != k);
                tags.push((k.to_owned(), v.to_owned()));
            }
        }
    }
    tags.sort();
    Value::Map(
        tags.into_iter()
            .map(|(k, v)| (Value::from(k), Value::from(v)))
            .collect(),
    )
}

fn fill_attr(slot: &mut Value, name: &str, attr: &Attr, ctx: &FillContext) {
    if let Some((nesting, attrs)) = &attr.nested {
        let block = Block {
            attributes: attrs.clone(),
            blocks: Default::default(),
        };
        if is_unknown(slot) {
            // Only the computed members of a nested attribute get values.
            let mut element = Value::Map(
                attrs
                    .iter()
                    .map(|(k, a)| {
                        let v = if a.computed { unknown() } else { Value::Nil };
                        (Value::from(k.as_str()), v)
                    })
                    .collect(),
            );
            fill(&mut element, &block, ctx, false);
            *slot = match nesting {
                Nesting::Single | Nesting::Group => element,
                Nesting::List | Nesting::Set => Value::Array(vec![element]),
                Nesting::Map => Value::Map(Vec::new()),
            };
        } else {
            for element in elements_mut(slot, *nesting) {
                fill(element, &block, ctx, false);
            }
        }
        return;
    }
    fill_typed(slot, name, &attr.ty, ctx);
}

fn fill_typed(slot: &mut Value, name: &str, ty: &Ty, ctx: &FillContext) {
    if is_unknown(slot) {
        *slot = ctx.value_for(name, ty);
        return;
    }
    match (ty, slot) {
        (Ty::List(inner) | Ty::Set(inner), Value::Array(items)) => {
            for item in items {
                fill_typed(item, name, inner, ctx);
            }
        }
        (Ty::Map(inner), Value::Map(entries)) => {
            for (_, v) in entries {
                fill_typed(v, name, inner, ctx);
            }
        }
        (Ty::Object(fields), object @ Value::Map(_)) => {
            for (k, t) in fields {
                if let Some(v) = get_mut(object, k) {
                    fill_typed(v, k, t, ctx);
                }
            }
        }
        _ => {}
    }
}

/// Blocks the schema requires (`min_items`) that the configuration lacks,
/// as (path, min_items). tf-provider cannot declare `min_items` on list
/// blocks, so the stand-in checks it here, as the real provider's schema
/// makes Terraform do.
pub fn missing_required_blocks(
    value: &Value,
    block: &Block,
    path: &str,
    out: &mut Vec<(String, u64)>,
) {
    if is_unknown(value) || value.is_nil() {
        return;
    }
    for (name, nb) in &block.blocks {
        let here = if path.is_empty() {
            name.clone()
        } else {
            format!("{path}.{name}")
        };
        let Some(slot) = get(value, name) else {
            continue;
        };
        if is_unknown(slot) {
            continue;
        }
        let count = match slot {
            Value::Array(items) => items.len() as u64,
            Value::Map(entries) => entries.len() as u64,
            _ => 0,
        };
        let absent_single = matches!(nb.nesting, Nesting::Single | Nesting::Group) && slot.is_nil();
        if nb.min_items > 0 && (count < nb.min_items || absent_single) {
            out.push((here.clone(), nb.min_items));
        }
        let children: Vec<&Value> = match slot {
            Value::Array(items) => items.iter().collect(),
            Value::Map(_) if matches!(nb.nesting, Nesting::Single | Nesting::Group) => vec![slot],
            Value::Map(entries) => entries.iter().map(|(_, v)| v).collect(),
            _ => Vec::new(),
        };
        for child in children {
            missing_required_blocks(child, &nb.block, &here, out);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::{ProviderSchema, SCHEMA_JSON};

    fn obj(pairs: &[(&str, Value)]) -> Value {
        Value::Map(
            pairs
                .iter()
                .map(|(k, v)| (Value::from(*k), v.clone()))
                .collect(),
        )
    }

    /// The backup plan's rules after their first apply: the copy action's
    /// lifecycle got `opt_in_to_archive_for_supported_resources = false`;
    /// Terraform proposes null for it (it cannot match the set elements).
    #[test]
    fn an_update_keeps_unset_optional_computed_values_inside_set_blocks() {
        let aws = ProviderSchema::load(SCHEMA_JSON, "aws").unwrap();
        let block = &aws.resources["aws_backup_plan"];
        let rule = |opt_in: Value, delete_after: i64| {
            let lifecycle = || {
                Value::Array(vec![obj(&[
                    ("delete_after", Value::from(delete_after)),
                    ("opt_in_to_archive_for_supported_resources", opt_in.clone()),
                ])])
            };
            obj(&[
                ("rule_name", Value::from("daily")),
                ("lifecycle", lifecycle()),
                (
                    "copy_action",
                    Value::Array(vec![obj(&[
                        ("destination_vault_arn", Value::from("arn:dr")),
                        ("lifecycle", lifecycle()),
                    ])]),
                ),
            ])
        };
        let plan = |rule| {
            obj(&[
                ("name", Value::from("p")),
                ("rule", Value::Array(vec![rule])),
            ])
        };
        let prior = plan(rule(Value::from(false), 35));

        let mut proposed = plan(rule(Value::Nil, 35));
        keep_prior_optional_computed(&mut proposed, &prior, block);
        assert_eq!(proposed, prior, "no change planned");

        // A rule changed in the configuration is a new element: nothing kept.
        let mut changed = plan(rule(Value::Nil, 60));
        keep_prior_optional_computed(&mut changed, &prior, block);
        assert_eq!(changed, plan(rule(Value::Nil, 60)));
    }

    #[test]
    fn a_plan_leaves_unset_computed_attributes_unknown_and_keeps_the_configuration() {
        let aws = ProviderSchema::load(SCHEMA_JSON, "aws").unwrap();
        let block = &aws.resources["aws_s3_bucket"];
        let mut value = obj(&[
            ("bucket", Value::from("ohmc-logs")),
            ("arn", Value::Nil),
            ("force_destroy", Value::Nil),
            ("tags", Value::Nil),
        ]);
        mark_unknown(&mut value, block);
        assert!(is_unknown(get(&value, "arn").unwrap()), "arn is computed");
        assert_eq!(get_str(&value, "bucket"), Some("ohmc-logs"));
        assert!(
            get(&value, "force_destroy").unwrap().is_nil(),
            "optional only"
        );
        assert!(get(&value, "tags").unwrap().is_nil(), "optional only");
    }

    #[test]
    fn an_apply_fills_unknowns_deterministically_with_arn_and_id_shapes() {
        let aws = ProviderSchema::load(SCHEMA_JSON, "aws").unwrap();
        let block = &aws.resources["aws_s3_bucket"];
        let planned = obj(&[
            ("bucket", Value::from("ohmc-logs")),
            ("arn", unknown()),
            ("id", unknown()),
            ("tags", obj(&[("Name", Value::from("logs"))])),
            ("tags_all", unknown()),
        ]);
        let tags = vec![("Project".to_owned(), "ohmycoins".to_owned())];
        let run = || {
            let mut v = planned.clone();
            let ctx = FillContext::new(
                "aws_s3_bucket",
                &planned,
                "aws",
                "us-east-1",
                "123456789012",
                tags.clone(),
            );
            fill(&mut v, block, &ctx, true);
            v
        };
        let first = run();
        assert_eq!(first, run(), "same plan, same values");
        assert_eq!(get_str(&first, "arn"), Some("arn:aws:s3:::ohmc-logs"));
        let table = obj(&[("name", Value::from("locks")), ("arn", unknown())]);
        let ctx = FillContext::new(
            "aws_dynamodb_table",
            &table,
            "aws",
            "eu-west-1",
            "123456789012",
            Vec::new(),
        );
        assert_eq!(
            ctx.arn(),
            "arn:aws:dynamodb:eu-west-1:123456789012:table/locks"
        );
        assert_eq!(get_str(&first, "id"), Some("ohmc-logs"));
        let all = get(&first, "tags_all").unwrap();
        assert_eq!(get_str(all, "Project"), Some("ohmycoins"));
        assert_eq!(get_str(all, "Name"), Some("logs"));
    }

    #[test]
    fn an_import_has_every_attribute_and_its_id() {
        let aws = ProviderSchema::load(SCHEMA_JSON, "aws").unwrap();
        let block = &aws.resources["aws_dynamodb_table"];
        let mut value = empty_object(block);
        set(&mut value, "id", Value::from("ohmc-staging-tflock"));
        mark_unknown(&mut value, block);
        let ctx = FillContext::new(
            "aws_dynamodb_table",
            &value,
            "aws",
            "us-east-1",
            "123456789012",
            Vec::new(),
        );
        fill(&mut value, block, &ctx, true);
        assert_eq!(get_str(&value, "id"), Some("ohmc-staging-tflock"));
        assert!(
            get_str(&value, "arn").is_some_and(|a| a.starts_with("arn:aws:dynamodb:us-east-1:"))
        );
        assert!(
            get(&value, "name").unwrap().is_nil(),
            "required, so not computed: left to the plan"
        );
        assert_eq!(get(&value, "attribute"), Some(&Value::Array(Vec::new())));
    }

    #[test]
    fn a_missing_required_block_is_reported() {
        let aws = ProviderSchema::load(SCHEMA_JSON, "aws").unwrap();
        let block = &aws.resources["aws_eks_cluster"];
        let mut out = Vec::new();
        missing_required_blocks(
            &obj(&[("vpc_config", Value::Array(vec![]))]),
            block,
            "",
            &mut out,
        );
        assert_eq!(out, vec![("vpc_config".to_owned(), 1)]);
    }
}

/// Plan of an update: an optional and computed attribute the configuration
/// leaves unset keeps its value from the state, as the real (SDKv2) provider
/// plans it. Terraform's own proposal already does this, except inside a set
/// of blocks whose elements it cannot match to the prior ones (an element
/// that changed anywhere is a new element to it): there it proposes null. The
/// elements are matched here on everything but those attributes.
pub fn keep_prior_optional_computed(proposed: &mut Value, prior: &Value, block: &Block) {
    for (name, attr) in &block.attributes {
        let Some(before) = get(prior, name) else {
            continue;
        };
        if let Some(slot) = get_mut(proposed, name) {
            if slot.is_nil() && attr.optional && attr.computed && !before.is_nil() {
                *slot = before.clone();
            }
        }
    }
    for (name, nb) in &block.blocks {
        let (Some(slot), Some(before)) = (get_mut(proposed, name), get(prior, name)) else {
            continue;
        };
        match (nb.nesting, slot, before) {
            (Nesting::List | Nesting::Set, Value::Array(items), Value::Array(prior_items)) => {
                for item in items.iter_mut() {
                    let key = unset_optional_computed(item, &nb.block);
                    if let Some(matching) = prior_items
                        .iter()
                        .find(|p| unset_optional_computed(p, &nb.block) == key)
                    {
                        keep_prior_optional_computed(item, matching, &nb.block);
                    }
                }
            }
            (Nesting::Single | Nesting::Group, item @ Value::Map(_), p @ Value::Map(_)) => {
                keep_prior_optional_computed(item, p, &nb.block);
            }
            _ => {}
        }
    }
}

/// The value with every optional and computed attribute null, at any depth:
/// what identifies a block element whatever the provider filled in.
fn unset_optional_computed(value: &Value, block: &Block) -> Value {
    let mut value = value.clone();
    for (name, attr) in &block.attributes {
        if attr.optional && attr.computed {
            if let Some(slot) = get_mut(&mut value, name) {
                *slot = Value::Nil;
            }
        }
    }
    for (name, nb) in &block.blocks {
        if let Some(slot) = get_mut(&mut value, name) {
            match slot {
                Value::Array(items) => {
                    for item in items.iter_mut() {
                        *item = unset_optional_computed(item, &nb.block);
                    }
                }
                item @ Value::Map(_) => *item = unset_optional_computed(item, &nb.block),
                _ => {}
            }
        }
    }
    value
}
