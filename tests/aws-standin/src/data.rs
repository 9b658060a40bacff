//! Data sources that answer for real: `aws_iam_policy_document` renders
//! its JSON the way the provider does; `aws_caller_identity`, `aws_region`,
//! `aws_partition` and `aws_availability_zones` answer from the account and
//! region the provider block was configured with. Every other data source
//! gets the generic deterministic fill.

use rmpv::Value;
use serde_json::{json, Map, Value as Json};

use crate::value::{get, get_str, set, strings};

/// Where the stand-in "is": taken from the provider configuration.
#[derive(Debug, Clone)]
pub struct Place {
    pub account: String,
    pub region: String,
    pub partition: String,
}

/// Fills the special data sources' computed attributes; returns false when
/// `type_name` is not one of them.
pub fn answer(type_name: &str, value: &mut Value, place: &Place) -> anyhow::Result<bool> {
    match type_name {
        "aws_caller_identity" => {
            set(value, "id", Value::from(place.account.as_str()));
            set(value, "account_id", Value::from(place.account.as_str()));
            set(
                value,
                "arn",
                Value::from(format!(
                    "arn:{}:sts::{}:assumed-role/ohmc-schema-standin/terraform",
                    place.partition, place.account
                )),
            );
            set(
                value,
                "user_id",
                Value::from("AROASTANDINSTANDINXX:terraform"),
            );
        }
        "aws_region" => {
            let name = get_str(value, "name")
                .or_else(|| get_str(value, "region"))
                .unwrap_or(&place.region)
                .to_owned();
            set(value, "id", Value::from(name.as_str()));
            set(value, "name", Value::from(name.as_str()));
            if get(value, "region").is_some() {
                set(value, "region", Value::from(name.as_str()));
            }
            set(
                value,
                "endpoint",
                Value::from(format!("ec2.{name}.amazonaws.com")),
            );
            set(value, "description", Value::from(name.as_str()));
        }
        "aws_partition" => {
            set(value, "id", Value::from(place.partition.as_str()));
            set(value, "partition", Value::from(place.partition.as_str()));
            set(value, "dns_suffix", Value::from("amazonaws.com"));
            set(value, "reverse_dns_prefix", Value::from("com.amazonaws"));
        }
        "aws_availability_zones" => {
            let names: Vec<String> = ["a", "b", "c", "d"]
                .iter()
                .map(|s| format!("{}{s}", place.region))
                .collect();
            let exclude = strings(get(value, "exclude_names"));
            let names: Vec<String> = names.into_iter().filter(|n| !exclude.contains(n)).collect();
            let ids: Vec<Value> = (1..=names.len())
                .map(|i| Value::from(format!("{}-az{i}", region_code(&place.region))))
                .collect();
            set(value, "id", Value::from(place.region.as_str()));
            set(
                value,
                "names",
                Value::Array(names.into_iter().map(Value::from).collect()),
            );
            set(value, "zone_ids", Value::Array(ids));
            set(
                value,
                "group_names",
                Value::Array(vec![Value::from(place.region.as_str())]),
            );
        }
        "aws_iam_policy_document" => {
            let document = policy_document(value)?;
            let pretty = render(&document, true);
            let minified = render(&document, false);
            set(value, "id", Value::from(hash_id(&minified)));
            set(value, "json", Value::from(pretty));
            set(value, "minified_json", Value::from(minified));
        }
        _ => return Ok(false),
    }
    Ok(true)
}

fn hash_id(text: &str) -> String {
    use sha2::{Digest, Sha256};
    // The provider's id is a hash of the JSON; its exact function does not
    // matter to anyone reading it.
    hex::encode(&Sha256::digest(text.as_bytes())[..4])
}

fn region_code(region: &str) -> String {
    // us-east-1 -> use1, eu-west-2 -> euw2: the shape of AWS zone ids.
    let parts: Vec<&str> = region.split('-').collect();
    match parts.as_slice() {
        [geo, dir, num] => format!("{geo}{}{num}", dir.chars().next().unwrap_or('x')),
        _ => region.to_owned(),
    }
}

/// A policy document as ordered key/value pairs, so the rendered JSON has
/// the provider's key order (Version, Id, Statement; Sid, Effect, ...).
#[derive(Debug, Clone, PartialEq)]
struct Doc {
    version: String,
    id: Option<String>,
    statements: Vec<Vec<(&'static str, Json)>>,
}

fn policy_document(value: &Value) -> anyhow::Result<Doc> {
    let mut doc = Doc {
        version: get_str(value, "version").unwrap_or("2012-10-17").to_owned(),
        id: get_str(value, "policy_id").map(str::to_owned),
        statements: Vec::new(),
    };
    // source documents first; this document's statements replace those with
    // the same Sid; override documents replace or append last.
    for source in strings(get(value, "source_policy_documents")) {
        for statement in parse_statements(&source)? {
            merge(&mut doc.statements, statement);
        }
    }
    if let Some(Value::Array(statements)) = get(value, "statement") {
        for statement in statements {
            merge(&mut doc.statements, statement_of(statement));
        }
    }
    for over in strings(get(value, "override_policy_documents")) {
        for statement in parse_statements(&over)? {
            merge(&mut doc.statements, statement);
        }
    }
    Ok(doc)
}

fn sid_of(statement: &[(&'static str, Json)]) -> Option<String> {
    statement
        .iter()
        .find(|(k, _)| *k == "Sid")
        .and_then(|(_, v)| v.as_str().map(str::to_owned))
        .filter(|s| !s.is_empty())
}

fn merge(statements: &mut Vec<Vec<(&'static str, Json)>>, statement: Vec<(&'static str, Json)>) {
    if let Some(sid) = sid_of(&statement) {
        if let Some(existing) = statements
            .iter_mut()
            .find(|s| sid_of(s).as_deref() == Some(sid.as_str()))
        {
            *existing = statement;
            return;
        }
    }
    statements.push(statement);
}

const KEYS: [&str; 9] = [
    "Sid",
    "Effect",
    "Action",
    "NotAction",
    "Resource",
    "NotResource",
    "Principal",
    "NotPrincipal",
    "Condition",
];

fn parse_statements(text: &str) -> anyhow::Result<Vec<Vec<(&'static str, Json)>>> {
    let json: Json = serde_json::from_str(text)?;
    let list = match json.get("Statement") {
        Some(Json::Array(items)) => items.clone(),
        Some(single @ Json::Object(_)) => vec![single.clone()],
        _ => Vec::new(),
    };
    Ok(list
        .into_iter()
        .map(|s| {
            KEYS.iter()
                .filter_map(|k| s.get(*k).map(|v| (*k, v.clone())))
                .collect()
        })
        .collect())
}

/// One string stays a string, more become a sorted list (sets in the schema).
fn string_or_list(mut items: Vec<String>) -> Json {
    items.sort();
    items.dedup();
    if items.len() == 1 {
        Json::String(items.remove(0))
    } else {
        Json::Array(items.into_iter().map(Json::String).collect())
    }
}

fn principals(value: Option<&Value>) -> Option<Json> {
    let Some(Value::Array(blocks)) = value else {
        return None;
    };
    if blocks.is_empty() {
        return None;
    }
    let mut by_type: Vec<(String, Vec<String>)> = Vec::new();
    for block in blocks {
        let kind = get_str(block, "type").unwrap_or("").to_owned();
        let ids = strings(get(block, "identifiers"));
        if let Some((_, existing)) = by_type.iter_mut().find(|(t, _)| *t == kind) {
            existing.extend(ids);
        } else {
            by_type.push((kind, ids));
        }
    }
    if by_type.len() == 1 && by_type[0].0 == "*" {
        return Some(Json::String("*".to_owned()));
    }
    by_type.sort_by(|a, b| a.0.cmp(&b.0));
    let mut map = Map::new();
    for (kind, ids) in by_type {
        map.insert(kind, string_or_list(ids));
    }
    Some(Json::Object(map))
}

fn statement_of(block: &Value) -> Vec<(&'static str, Json)> {
    let mut out: Vec<(&'static str, Json)> = Vec::new();
    if let Some(sid) = get_str(block, "sid").filter(|s| !s.is_empty()) {
        out.push(("Sid", json!(sid)));
    }
    out.push(("Effect", json!(get_str(block, "effect").unwrap_or("Allow"))));
    for (attr, key) in [
        ("actions", "Action"),
        ("not_actions", "NotAction"),
        ("resources", "Resource"),
        ("not_resources", "NotResource"),
    ] {
        let items = strings(get(block, attr));
        if !items.is_empty() {
            out.push((key, string_or_list(items)));
        }
    }
    if let Some(p) = principals(get(block, "principals")) {
        out.push(("Principal", p));
    }
    if let Some(p) = principals(get(block, "not_principals")) {
        out.push(("NotPrincipal", p));
    }
    if let Some(Value::Array(conditions)) = get(block, "condition") {
        let mut by_test: Vec<(String, Map<String, Json>)> = Vec::new();
        for condition in conditions {
            let test = get_str(condition, "test").unwrap_or("").to_owned();
            let variable = get_str(condition, "variable").unwrap_or("").to_owned();
            let values = strings(get(condition, "values"));
            let rendered = if values.len() == 1 {
                Json::String(values[0].clone())
            } else {
                Json::Array(values.into_iter().map(Json::String).collect())
            };
            if let Some((_, map)) = by_test.iter_mut().find(|(t, _)| *t == test) {
                map.insert(variable, rendered);
            } else {
                let mut map = Map::new();
                map.insert(variable, rendered);
                by_test.push((test, map));
            }
        }
        if !by_test.is_empty() {
            let mut map = Map::new();
            for (test, vars) in by_test {
                map.insert(test, Json::Object(vars));
            }
            out.push(("Condition", Json::Object(map)));
        }
    }
    out
}

fn render(doc: &Doc, pretty: bool) -> String {
    let statements: Vec<String> = doc
        .statements
        .iter()
        .map(|s| object(s.iter().map(|(k, v)| (*k, leaf(v, pretty))), pretty, 2))
        .collect();
    let mut top: Vec<(&str, String)> = vec![("Version", leaf(&json!(doc.version), pretty))];
    if let Some(id) = &doc.id {
        top.push(("Id", leaf(&json!(id), pretty)));
    }
    let list = if pretty {
        if statements.is_empty() {
            "[]".to_owned()
        } else {
            format!("[\n    {}\n  ]", statements.join(",\n    "))
        }
    } else {
        format!("[{}]", statements.join(","))
    };
    top.push(("Statement", list));
    object(top.into_iter(), pretty, 0)
}

fn leaf(value: &Json, pretty: bool) -> String {
    if pretty {
        serde_json::to_string_pretty(value).unwrap_or_default()
    } else {
        value.to_string()
    }
}

fn object<'a>(
    entries: impl Iterator<Item = (&'a str, String)>,
    pretty: bool,
    indent: usize,
) -> String {
    let parts: Vec<String> = entries
        .map(|(k, v)| {
            let key = Json::String(k.to_owned()).to_string();
            if pretty {
                // Re-indent nested multi-line values under their key.
                let pad = " ".repeat(indent + 2);
                format!("{pad}{key}: {}", v.replace('\n', &format!("\n{pad}")))
            } else {
                format!("{key}:{v}")
            }
        })
        .collect();
    if pretty {
        format!("{{\n{}\n{}}}", parts.join(",\n"), " ".repeat(indent))
    } else {
        format!("{{{}}}", parts.join(","))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn obj(pairs: Vec<(&str, Value)>) -> Value {
        Value::Map(
            pairs
                .into_iter()
                .map(|(k, v)| (Value::from(k), v))
                .collect(),
        )
    }

    fn list(items: &[&str]) -> Value {
        Value::Array(items.iter().map(|s| Value::from(*s)).collect())
    }

    #[test]
    fn a_policy_document_renders_the_json_the_provider_would() {
        let statement = obj(vec![
            ("sid", Value::from("Logs")),
            ("effect", Value::Nil),
            ("actions", list(&["s3:PutObject", "s3:GetObject"])),
            ("resources", list(&["arn:aws:s3:::b/*"])),
            (
                "principals",
                Value::Array(vec![obj(vec![
                    ("type", Value::from("Service")),
                    ("identifiers", list(&["cloudtrail.amazonaws.com"])),
                ])]),
            ),
            (
                "condition",
                Value::Array(vec![obj(vec![
                    ("test", Value::from("Bool")),
                    ("variable", Value::from("aws:SecureTransport")),
                    ("values", list(&["true"])),
                ])]),
            ),
        ]);
        let mut value = obj(vec![
            ("statement", Value::Array(vec![statement])),
            ("json", Value::Nil),
            ("minified_json", Value::Nil),
            ("id", Value::Nil),
        ]);
        let place = Place {
            account: "123456789012".into(),
            region: "us-east-1".into(),
            partition: "aws".into(),
        };
        assert!(answer("aws_iam_policy_document", &mut value, &place).unwrap());
        let minified = get_str(&value, "minified_json").unwrap();
        assert_eq!(
            minified,
            r#"{"Version":"2012-10-17","Statement":[{"Sid":"Logs","Effect":"Allow","Action":["s3:GetObject","s3:PutObject"],"Resource":"arn:aws:s3:::b/*","Principal":{"Service":"cloudtrail.amazonaws.com"},"Condition":{"Bool":{"aws:SecureTransport":"true"}}}]}"#
        );
        let pretty: Json = serde_json::from_str(get_str(&value, "json").unwrap()).unwrap();
        let compact: Json = serde_json::from_str(minified).unwrap();
        assert_eq!(pretty, compact, "json and minified_json say the same");
    }

    #[test]
    fn caller_identity_and_zones_answer_from_the_configured_place() {
        let place = Place {
            account: "234567890123".into(),
            region: "eu-west-1".into(),
            partition: "aws".into(),
        };
        let mut me = obj(vec![("account_id", Value::Nil)]);
        answer("aws_caller_identity", &mut me, &place).unwrap();
        assert_eq!(get_str(&me, "account_id"), Some("234567890123"));
        let mut zones = obj(vec![
            ("names", Value::Nil),
            ("exclude_names", list(&["eu-west-1d"])),
        ]);
        answer("aws_availability_zones", &mut zones, &place).unwrap();
        assert_eq!(
            strings(get(&zones, "names")),
            vec!["eu-west-1a", "eu-west-1b", "eu-west-1c"]
        );
    }
}
