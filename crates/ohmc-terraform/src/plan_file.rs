//! Reads a saved plan file directly into the plan model, so `plan` needs no
//! second Terraform process: `terraform show -json` loads every provider's
//! schema and costs about as much as a small plan itself.
//!
//! A saved plan is a zip whose `tfplan` entry is a protobuf (`planfile.proto`,
//! format 3) holding msgpack-encoded values. Its layout changes between
//! Terraform minor releases without a format bump (1.2 added `addr`, 1.1
//! changed drift), so only plans written by the releases it was checked against
//! are read here (1.0.x and 1.15.x, see [`Layout`]); anything else is
//! [`TerraformError::SavedPlanLayoutUnsupported`] and the caller asks
//! `terraform show -json` instead.
//!
//! The result matches what `show -json` gives for what the plan summary uses:
//! resource addresses, actions and reasons, and output changes with their
//! values and sensitivity. Resource values are withheld (their sensitivity is
//! in the provider schema, not the file), and the plan's `variables`
//! (plaintext values of sensitive variables) are deliberately not decoded.

use std::collections::BTreeMap;
use std::path::Path;

use serde_json::{Map, Value};

use crate::error::TerraformError;
use crate::plan::{Change, DeferredChange, Importing, PlanDocument, ResourceChange};
use crate::Result;

/// The only `tfplan` format number Terraform 0.12 through 1.x write.
const TFPLAN_FORMAT: u64 = 3;

/// The plan file layouts read here, by the Terraform release that wrote them.
/// Each was pinned against `show -json` of the same plans (tests/it/saved_plan.rs).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Layout {
    /// 1.0.x: addresses stored in parts; an output that is partly unknown is
    /// shown as wholly unknown; drift is not in the file.
    V1_0,
    /// 1.15.x: addresses stored as strings; partly unknown values stay partly
    /// known; drift, moves, imports, forgets and deferrals are in the file.
    V1_15,
}

impl Layout {
    fn of(terraform_version: &str) -> Option<Layout> {
        let v = crate::Version::parse(terraform_version)?;
        match (v.major, v.minor) {
            (1, 0) => Some(Layout::V1_0),
            (1, 15) => Some(Layout::V1_15),
            _ => None,
        }
    }

    /// The plan format version `show -json` reports for this release.
    fn json_format_version(self) -> &'static str {
        match self {
            Layout::V1_0 => "0.2",
            Layout::V1_15 => "1.2",
        }
    }
}

/// Reads the saved plan at `path`.
pub fn read(path: &Path) -> Result<PlanDocument> {
    let zip = std::fs::read(path)?;
    let tfplan = zip_entry(&zip, "tfplan")
        .map_err(|detail| corrupt(path, &detail))?
        .ok_or_else(|| corrupt(path, "it has no tfplan entry"))?;
    decode(&tfplan, path)
}

/// Lineage and serial of the state a saved plan was made against: the
/// `tfstate` entry every plan file carries, in the state file format, which
/// all releases write alike. Exactly what Terraform itself compares at apply,
/// and no backend round trip.
pub fn prior_state_identity(path: &Path) -> Result<crate::commands::state::StateIdentity> {
    let zip = std::fs::read(path)?;
    let tfstate = zip_entry(&zip, "tfstate")
        .map_err(|detail| corrupt(path, &detail))?
        .ok_or_else(|| corrupt(path, "it has no tfstate entry"))?;
    serde_json::from_slice(&tfstate)
        .map_err(|e| corrupt(path, &format!("its tfstate entry is not a state: {e}")))
}

fn corrupt(path: &Path, detail: &str) -> TerraformError {
    TerraformError::Parse(format!(
        "saved plan {} is not a plan file Terraform wrote: {detail}",
        path.display()
    ))
}

fn decode(tfplan: &[u8], path: &Path) -> Result<PlanDocument> {
    use prost::Message;
    let plan =
        proto::Plan::decode(tfplan).map_err(|e| corrupt(path, &format!("tfplan protobuf: {e}")))?;
    let layout = match Layout::of(&plan.terraform_version) {
        Some(layout) if plan.version == TFPLAN_FORMAT => layout,
        _ => {
            return Err(TerraformError::SavedPlanLayoutUnsupported {
                terraform_version: plan.terraform_version,
                format: plan.version,
            })
        }
    };
    let changes = |list: &[proto::ResourceInstanceChange]| {
        list.iter()
            .map(|rc| resource_change(rc, layout))
            .collect::<std::result::Result<Vec<_>, _>>()
            .map_err(|detail| corrupt(path, &detail))
    };
    let resource_changes = changes(&plan.resource_changes)?;
    let mut resource_drift = changes(&plan.resource_drift)?;
    // As show -json does: outside refresh-only mode a move with nothing
    // else drifted is a planned change, not drift.
    if plan.ui_mode != proto::MODE_REFRESH_ONLY {
        resource_drift.retain(|rc| rc.change.actions != ["no-op"]);
    }
    let mut deferred_changes = Vec::new();
    for deferred in &plan.deferred_changes {
        let change = deferred
            .change
            .as_ref()
            .ok_or_else(|| corrupt(path, "a deferred change has no change"))?;
        deferred_changes.push(DeferredChange {
            reason: deferred_reason(deferred.deferred.as_ref().map_or(0, |d| d.reason)).into(),
            resource_change: resource_change(change, layout)
                .map_err(|detail| corrupt(path, &detail))?,
        });
    }
    let mut output_changes = BTreeMap::new();
    for oc in &plan.output_changes {
        output_changes.insert(
            oc.name.clone(),
            output_change(oc, layout).map_err(|detail| corrupt(path, &detail))?,
        );
    }
    Ok(PlanDocument {
        format_version: layout.json_format_version().into(),
        terraform_version: plan.terraform_version,
        resource_changes,
        resource_drift,
        output_changes,
        deferred_changes,
    })
}

fn resource_change(
    rc: &proto::ResourceInstanceChange,
    layout: Layout,
) -> std::result::Result<ResourceChange, String> {
    let (address, mode, type_name, name) = match layout {
        Layout::V1_0 => {
            let mode = if rc.mode == proto::MODE_DATA {
                "data"
            } else {
                "managed"
            };
            let mut address = String::new();
            if !rc.module_path.is_empty() {
                address.push_str(&rc.module_path);
                address.push('.');
            }
            if mode == "data" {
                address.push_str("data.");
            }
            address.push_str(&rc.type_name);
            address.push('.');
            address.push_str(&rc.name);
            if let Some(key) = &rc.key_str {
                address.push_str(&format!("[{}]", go_quote(key)));
            } else if let Some(key) = rc.key_int {
                address.push_str(&format!("[{key}]"));
            }
            (address, mode, rc.type_name.clone(), rc.name.clone())
        }
        Layout::V1_15 => {
            let parts = AddressParts::parse(&rc.addr)?;
            (
                rc.addr.clone(),
                parts.mode,
                parts.type_name.to_string(),
                parts.name.to_string(),
            )
        }
    };
    let proto_change = rc.change.clone().unwrap_or_default();
    Ok(ResourceChange {
        address,
        mode: mode.into(),
        resource_type: type_name,
        name,
        change: Change {
            actions: actions(proto_change.action)?,
            // Resource values are not read: which attributes are sensitive
            // comes from the provider's schema, which only Terraform has, so
            // the values are withheld and marked wholly sensitive.
            before: Value::Null,
            after: Value::Null,
            after_unknown: Value::Bool(false),
            before_sensitive: Value::Bool(true),
            after_sensitive: Value::Bool(true),
            importing: proto_change.importing.map(|i| Importing {
                id: (!i.id.is_empty()).then_some(i.id),
                unknown: i.unknown,
            }),
        },
        action_reason: action_reason(rc.action_reason, layout).map(str::to_string),
        previous_address: (!rc.prev_run_addr.is_empty()).then(|| rc.prev_run_addr.clone()),
    })
}

/// The parts of a resource instance address Terraform 1.2+ stores as one
/// string: `module.a["k"].module.b.data.TYPE.NAME[KEY]`.
struct AddressParts<'a> {
    mode: &'static str,
    type_name: &'a str,
    name: &'a str,
}

impl<'a> AddressParts<'a> {
    fn parse(addr: &'a str) -> std::result::Result<AddressParts<'a>, String> {
        // Split on dots outside brackets and quoted keys: a key may hold dots.
        let mut segments = Vec::new();
        let (mut start, mut depth, mut quoted, mut escaped) = (0, 0usize, false, false);
        for (i, c) in addr.char_indices() {
            match c {
                _ if escaped => escaped = false,
                '\\' if quoted => escaped = true,
                '"' => quoted = !quoted,
                '[' if !quoted => depth += 1,
                ']' if !quoted => depth = depth.saturating_sub(1),
                '.' if !quoted && depth == 0 => {
                    segments.push(&addr[start..i]);
                    start = i + 1;
                }
                _ => {}
            }
        }
        segments.push(&addr[start..]);
        let mut rest = segments.as_slice();
        while let ["module", _, tail @ ..] = rest {
            rest = tail;
        }
        let bad = || format!("resource address {addr:?} is not one Terraform writes");
        let (mode, rest) = match rest {
            ["data", tail @ ..] => ("data", tail),
            _ => ("managed", rest),
        };
        match rest {
            [type_name, name] => Ok(AddressParts {
                mode,
                type_name,
                name: name.split('[').next().ok_or_else(bad)?,
            }),
            _ => Err(bad()),
        }
    }
}

fn output_change(oc: &proto::OutputChange, layout: Layout) -> std::result::Result<Change, String> {
    let proto_change = oc.change.clone().unwrap_or_default();
    let (before, after) = before_after(&proto_change, &format!("output {}", oc.name))?;
    let (after, after_unknown) = match layout {
        // As `show -json` does for 1.0 outputs: a partly unknown value is
        // shown as wholly unknown.
        Layout::V1_0 if after.unknown() => (Value::Null, Value::Bool(true)),
        // 1.15 keeps the known parts and marks each unknown one.
        Layout::V1_15 if after.unknown() => (after.value, after.unknown_mask),
        _ => (after.value, Value::Bool(false)),
    };
    // An output's sensitivity is all or nothing: an output holding a
    // sensitive value must be declared sensitive.
    Ok(Change {
        actions: actions(proto_change.action)?,
        before: before.value,
        after,
        after_unknown,
        before_sensitive: Value::Bool(oc.sensitive),
        after_sensitive: Value::Bool(oc.sensitive),
        importing: None,
    })
}

/// Terraform stores one value for create (after), delete and no-op (before)
/// and two (before, after) for everything else.
fn before_after(
    change: &proto::Change,
    what: &str,
) -> std::result::Result<(Decoded, Decoded), String> {
    let values: Vec<Decoded> = change
        .values
        .iter()
        .map(|v| decode_msgpack(&v.msgpack).map_err(|e| format!("{what}: {e}")))
        .collect::<std::result::Result<_, _>>()?;
    let value = |i: usize| {
        values
            .get(i)
            .cloned()
            .ok_or_else(|| format!("{what}: change has {} values", values.len()))
    };
    Ok(match change.action {
        proto::ACTION_NOOP => (value(0)?, value(0)?),
        proto::ACTION_CREATE => (Decoded::default(), value(0)?),
        proto::ACTION_DELETE => (value(0)?, Decoded::default()),
        _ => (value(0)?, value(1)?),
    })
}

fn actions(action: i32) -> std::result::Result<Vec<String>, String> {
    let names: &[&str] = match action {
        proto::ACTION_NOOP => &["no-op"],
        proto::ACTION_CREATE => &["create"],
        proto::ACTION_READ => &["read"],
        proto::ACTION_UPDATE => &["update"],
        proto::ACTION_DELETE => &["delete"],
        proto::ACTION_DELETE_THEN_CREATE => &["delete", "create"],
        proto::ACTION_CREATE_THEN_DELETE => &["create", "delete"],
        proto::ACTION_FORGET => &["forget"],
        proto::ACTION_CREATE_THEN_FORGET => &["create", "forget"],
        other => return Err(format!("unknown change action {other}")),
    };
    Ok(names.iter().map(|s| s.to_string()).collect())
}

/// `show -json`'s `action_reason`. 1.0 reports only the replace reasons.
fn action_reason(reason: i32, layout: Layout) -> Option<&'static str> {
    let name = match reason {
        1 => "replace_because_tainted",
        2 => "replace_by_request",
        3 => "replace_because_cannot_update",
        _ if layout == Layout::V1_0 => return None,
        4 => "delete_because_no_resource_config",
        5 => "delete_because_wrong_repetition",
        6 => "delete_because_count_index",
        7 => "delete_because_each_key",
        8 => "delete_because_no_module",
        9 => "replace_by_triggers",
        10 => "read_because_config_unknown",
        11 => "read_because_dependency_pending",
        12 => "delete_because_no_move_target",
        13 => "read_because_check_nested",
        _ => return None,
    };
    Some(name)
}

/// `show -json`'s reason for a deferred change.
fn deferred_reason(reason: i32) -> &'static str {
    match reason {
        1 => "instance_count_unknown",
        2 => "resource_config_unknown",
        3 => "provider_config_unknown",
        4 => "absent_prereq",
        5 => "deferred_prereq",
        _ => "unknown",
    }
}

/// `addrs.StringKey.String()` quotes with Go's `%q`.
fn go_quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 || c == '\u{7f}' => {
                out.push_str(&format!("\\x{:02x}", c as u32))
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// A msgpack value as cty encodes it, as `show -json` writes a planned value:
/// the known parts as JSON (an unknown object attribute or map element is
/// left out, an unknown list element is null), and the unknown parts marked
/// in a mask shaped as `after_unknown` is.
#[derive(Debug, Clone, PartialEq)]
struct Decoded {
    value: Value,
    /// `true` where a part is unknown; `false` (or a structure of falses) where
    /// it is known. Object and map masks leave out their known members.
    unknown_mask: Value,
}

impl Default for Decoded {
    fn default() -> Decoded {
        Decoded {
            value: Value::Null,
            unknown_mask: Value::Bool(false),
        }
    }
}

impl Decoded {
    /// Whether any part of the value is unknown until apply.
    fn unknown(&self) -> bool {
        fn any_true(mask: &Value) -> bool {
            match mask {
                Value::Bool(b) => *b,
                Value::Array(items) => items.iter().any(any_true),
                Value::Object(members) => members.values().any(any_true),
                _ => false,
            }
        }
        any_true(&self.unknown_mask)
    }
}

fn decode_msgpack(bytes: &[u8]) -> std::result::Result<Decoded, String> {
    let mut reader = bytes;
    let raw = rmpv::decode::read_value(&mut reader).map_err(|e| format!("msgpack value: {e}"))?;
    from_rmpv(raw)
}

/// cty's msgpack extension for an unknown value, and (cty 1.13+, Terraform
/// 1.6+) for an unknown value with refinements such as "not null".
const UNKNOWN: i8 = 0;
const UNKNOWN_REFINED: i8 = 0x0c;

fn from_rmpv(value: rmpv::Value) -> std::result::Result<Decoded, String> {
    use rmpv::Value as V;
    let known = |value: Value| Decoded {
        value,
        unknown_mask: Value::Bool(false),
    };
    Ok(match value {
        V::Nil => known(Value::Null),
        V::Ext(UNKNOWN | UNKNOWN_REFINED, _) => Decoded {
            value: Value::Null,
            unknown_mask: Value::Bool(true),
        },
        V::Ext(kind, _) => return Err(format!("unexpected msgpack extension {kind}")),
        V::Boolean(b) => known(Value::Bool(b)),
        V::Integer(i) => {
            if let Some(n) = i.as_i64() {
                known(Value::from(n))
            } else if let Some(n) = i.as_u64() {
                known(Value::from(n))
            } else {
                return Err("msgpack integer out of range".into());
            }
        }
        V::F32(f) => known(json_float(f64::from(f))?),
        V::F64(f) => known(json_float(f)?),
        V::String(s) => known(Value::String(
            s.into_str()
                .ok_or_else(|| "msgpack string is not UTF-8".to_string())?,
        )),
        // cty writes a value of dynamic type as [type JSON, value]; no other
        // value is binary.
        V::Array(mut items) if items.len() == 2 && matches!(items[0], V::Binary(_)) => {
            from_rmpv(items.pop().unwrap_or(V::Nil))?
        }
        V::Array(items) => {
            let mut values = Vec::with_capacity(items.len());
            let mut masks = Vec::with_capacity(items.len());
            for item in items {
                let decoded = from_rmpv(item)?;
                values.push(decoded.value);
                masks.push(decoded.unknown_mask);
            }
            Decoded {
                value: Value::Array(values),
                unknown_mask: Value::Array(masks),
            }
        }
        V::Map(entries) => {
            let mut values = Map::new();
            let mut masks = Map::new();
            for (k, v) in entries {
                let V::String(k) = k else {
                    return Err(format!("msgpack map key {k} is not a string"));
                };
                let k = k
                    .into_str()
                    .ok_or_else(|| "msgpack key is not UTF-8".to_string())?;
                let decoded = from_rmpv(v)?;
                if decoded.unknown_mask != Value::Bool(true) {
                    values.insert(k.clone(), decoded.value);
                }
                if decoded.unknown_mask != Value::Bool(false) {
                    masks.insert(k, decoded.unknown_mask);
                }
            }
            Decoded {
                value: Value::Object(values),
                unknown_mask: Value::Object(masks),
            }
        }
        V::Binary(_) => return Err("unexpected msgpack binary value".into()),
    })
}

fn json_float(f: f64) -> std::result::Result<Value, String> {
    serde_json::Number::from_f64(f)
        .map(Value::Number)
        .ok_or_else(|| format!("number {f} has no JSON form"))
}

/// The bytes of one entry of a zip archive (stored or deflated), checked
/// against its CRC. Plan files are small and never zip64.
fn zip_entry(zip: &[u8], name: &str) -> std::result::Result<Option<Vec<u8>>, String> {
    const END_OF_DIRECTORY: u32 = 0x0605_4b50;
    const DIRECTORY_ENTRY: u32 = 0x0201_4b50;
    const LOCAL_HEADER: u32 = 0x0403_4b50;
    let u16_at = |at: usize| -> std::result::Result<usize, String> {
        zip.get(at..at + 2)
            .map(|b| usize::from(u16::from_le_bytes([b[0], b[1]])))
            .ok_or_else(|| "truncated zip".to_string())
    };
    let u32_at = |at: usize| -> std::result::Result<u32, String> {
        zip.get(at..at + 4)
            .map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
            .ok_or_else(|| "truncated zip".to_string())
    };
    let search_from = zip.len().saturating_sub(22 + usize::from(u16::MAX));
    let end = (search_from..zip.len().saturating_sub(21))
        .rev()
        .find(|&at| u32_at(at) == Ok(END_OF_DIRECTORY))
        .ok_or_else(|| "not a zip archive".to_string())?;
    let entries = u16_at(end + 10)?;
    let mut at = u32_at(end + 16)? as usize;
    for _ in 0..entries {
        if u32_at(at)? != DIRECTORY_ENTRY {
            return Err("bad zip central directory".into());
        }
        let method = u16_at(at + 10)?;
        let crc = u32_at(at + 16)?;
        let compressed = u32_at(at + 20)? as usize;
        let size = u32_at(at + 24)? as usize;
        let name_len = u16_at(at + 28)?;
        let extra_len = u16_at(at + 30)?;
        let comment_len = u16_at(at + 32)?;
        let local = u32_at(at + 42)? as usize;
        let entry_name = zip
            .get(at + 46..at + 46 + name_len)
            .ok_or_else(|| "truncated zip".to_string())?;
        at += 46 + name_len + extra_len + comment_len;
        if entry_name != name.as_bytes() {
            continue;
        }
        if u32_at(local)? != LOCAL_HEADER {
            return Err("bad zip local header".into());
        }
        let start = local + 30 + u16_at(local + 26)? + u16_at(local + 28)?;
        let data = zip
            .get(start..start + compressed)
            .ok_or_else(|| "truncated zip entry".to_string())?;
        let bytes = match method {
            0 => data.to_vec(),
            8 => miniz_oxide::inflate::decompress_to_vec_with_limit(data, size)
                .map_err(|e| format!("inflating {name}: {e}"))?,
            other => return Err(format!("zip compression method {other}")),
        };
        if bytes.len() != size || crc32fast::hash(&bytes) != crc {
            return Err(format!("{name} fails its zip checksum"));
        }
        return Ok(Some(bytes));
    }
    Ok(None)
}

/// The parts of `planfile.proto` (format 3, as Terraform 1.0 and 1.15 write
/// it) this module reads. Field numbers are Terraform's; unknown fields are skipped.
mod proto {
    pub const MODE_DATA: i32 = 1;
    /// `Plan.ui_mode` of a `-refresh-only` plan.
    pub const MODE_REFRESH_ONLY: i32 = 2;
    pub const ACTION_NOOP: i32 = 0;
    pub const ACTION_CREATE: i32 = 1;
    pub const ACTION_READ: i32 = 2;
    pub const ACTION_UPDATE: i32 = 3;
    pub const ACTION_DELETE: i32 = 5;
    pub const ACTION_DELETE_THEN_CREATE: i32 = 6;
    pub const ACTION_CREATE_THEN_DELETE: i32 = 7;
    pub const ACTION_FORGET: i32 = 8;
    pub const ACTION_CREATE_THEN_FORGET: i32 = 9;

    #[derive(Clone, PartialEq, prost::Message)]
    pub struct Plan {
        #[prost(uint64, tag = "1")]
        pub version: u64,
        #[prost(message, repeated, tag = "3")]
        pub resource_changes: Vec<ResourceInstanceChange>,
        #[prost(message, repeated, tag = "4")]
        pub output_changes: Vec<OutputChange>,
        #[prost(string, tag = "14")]
        pub terraform_version: String,
        #[prost(int32, tag = "17")]
        pub ui_mode: i32,
        /// 1.1+ (not written by 1.0).
        #[prost(message, repeated, tag = "18")]
        pub resource_drift: Vec<ResourceInstanceChange>,
        /// 1.9+.
        #[prost(message, repeated, tag = "27")]
        pub deferred_changes: Vec<DeferredResourceInstanceChange>,
    }

    #[derive(Clone, PartialEq, prost::Message)]
    pub struct DeferredResourceInstanceChange {
        #[prost(message, optional, tag = "1")]
        pub deferred: Option<Deferred>,
        #[prost(message, optional, tag = "2")]
        pub change: Option<ResourceInstanceChange>,
    }

    #[derive(Clone, PartialEq, prost::Message)]
    pub struct Deferred {
        #[prost(int32, tag = "1")]
        pub reason: i32,
    }

    /// Fields 1 to 6 are 1.0's address parts; 1.2+ writes `addr` instead.
    #[derive(Clone, PartialEq, prost::Message)]
    pub struct ResourceInstanceChange {
        #[prost(string, tag = "13")]
        pub addr: String,
        #[prost(string, tag = "14")]
        pub prev_run_addr: String,
        #[prost(string, tag = "1")]
        pub module_path: String,
        #[prost(int32, tag = "2")]
        pub mode: i32,
        #[prost(string, tag = "3")]
        pub type_name: String,
        #[prost(string, tag = "4")]
        pub name: String,
        /// `instance_key` is a oneof of these two.
        #[prost(string, optional, tag = "5")]
        pub key_str: Option<String>,
        #[prost(int64, optional, tag = "6")]
        pub key_int: Option<i64>,
        #[prost(message, optional, tag = "9")]
        pub change: Option<Change>,
        #[prost(int32, tag = "12")]
        pub action_reason: i32,
    }

    #[derive(Clone, PartialEq, prost::Message)]
    pub struct Change {
        #[prost(int32, tag = "1")]
        pub action: i32,
        #[prost(message, repeated, tag = "2")]
        pub values: Vec<DynamicValue>,
        #[prost(message, optional, tag = "5")]
        pub importing: Option<Importing>,
    }

    #[derive(Clone, PartialEq, prost::Message)]
    pub struct Importing {
        #[prost(string, tag = "1")]
        pub id: String,
        #[prost(bool, tag = "2")]
        pub unknown: bool,
    }

    #[derive(Clone, PartialEq, prost::Message)]
    pub struct OutputChange {
        #[prost(string, tag = "1")]
        pub name: String,
        #[prost(message, optional, tag = "2")]
        pub change: Option<Change>,
        #[prost(bool, tag = "3")]
        pub sensitive: bool,
    }

    #[derive(Clone, PartialEq, prost::Message)]
    pub struct DynamicValue {
        #[prost(bytes = "vec", tag = "1")]
        pub msgpack: Vec<u8>,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn quotes_instance_keys_as_go_does() {
        assert_eq!(go_quote("plain"), r#""plain""#);
        assert_eq!(go_quote("with \"quote\""), r#""with \"quote\"""#);
        assert_eq!(go_quote("tab\there\\"), r#""tab\there\\""#);
        assert_eq!(go_quote("ünïcode\u{1}"), "\"ünïcode\\x01\"");
    }

    #[test]
    fn decodes_cty_msgpack() {
        // [type JSON, value] wrapping of a dynamic value, as outputs are stored.
        let wrapped = b"\x92\xc4\x08\"string\"\xa9us-east-1";
        assert_eq!(
            decode_msgpack(wrapped).unwrap(),
            Decoded {
                value: json!("us-east-1"),
                unknown_mask: json!(false)
            }
        );
        // {"a": unknown, "b": 1.5, "c": [true, nil]}: the unknown attribute is
        // left out of the value and marked in the mask, as show -json does.
        let object =
            b"\x83\xa1a\xd4\x00\x00\xa1b\xcb\x3f\xf8\x00\x00\x00\x00\x00\x00\xa1c\x92\xc3\xc0";
        let msg = decode_msgpack(object).unwrap();
        assert!(msg.unknown());
        assert_eq!(msg.value, json!({"b": 1.5, "c": [true, null]}));
        assert_eq!(msg.unknown_mask, json!({"a": true, "c": [false, false]}));
        // ["x", refined unknown]: list elements keep their place as null.
        let list = b"\x92\xa1x\xd4\x0c\x00";
        let msg = decode_msgpack(list).unwrap();
        assert_eq!(msg.value, json!(["x", null]));
        assert_eq!(msg.unknown_mask, json!([false, true]));
        assert!(
            decode_msgpack(b"\xc7\x01\x05\x00").is_err(),
            "unknown extension"
        );
        assert!(decode_msgpack(b"\xa5ab").is_err(), "truncated");
    }

    #[test]
    fn splits_string_addresses_into_parts() {
        let parts = |a: &str| {
            AddressParts::parse(a)
                .map(|p| (p.mode, p.type_name.to_string(), p.name.to_string()))
                .unwrap()
        };
        assert_eq!(
            parts(r#"module.boxes["x.y"].module.inner.ohmctest_thing.this["k.[\"]"]"#),
            ("managed", "ohmctest_thing".into(), "this".into())
        );
        assert_eq!(
            parts("data.terraform_remote_state.net"),
            ("data", "terraform_remote_state".into(), "net".into())
        );
        assert_eq!(
            parts("module.m[0].data.aws_region.current[2]"),
            ("data", "aws_region".into(), "current".into())
        );
        assert!(AddressParts::parse("module.m").is_err());
    }

    #[test]
    fn reads_stored_and_deflated_zip_entries_and_checks_crc() {
        fn zip_with(name: &str, method: u16, data: &[u8], size: usize, crc: u32) -> Vec<u8> {
            let mut zip = Vec::new();
            let put16 = |v: &mut Vec<u8>, x: u16| v.extend_from_slice(&x.to_le_bytes());
            let put32 = |v: &mut Vec<u8>, x: u32| v.extend_from_slice(&x.to_le_bytes());
            put32(&mut zip, 0x0403_4b50);
            zip.extend_from_slice(&[20, 0, 0, 0]);
            put16(&mut zip, method);
            zip.extend_from_slice(&[0; 4]);
            put32(&mut zip, crc);
            put32(&mut zip, data.len() as u32);
            put32(&mut zip, size as u32);
            put16(&mut zip, name.len() as u16);
            put16(&mut zip, 0);
            zip.extend_from_slice(name.as_bytes());
            zip.extend_from_slice(data);
            let directory = zip.len();
            put32(&mut zip, 0x0201_4b50);
            zip.extend_from_slice(&[20, 0, 20, 0, 0, 0]);
            put16(&mut zip, method);
            zip.extend_from_slice(&[0; 4]);
            put32(&mut zip, crc);
            put32(&mut zip, data.len() as u32);
            put32(&mut zip, size as u32);
            put16(&mut zip, name.len() as u16);
            zip.extend_from_slice(&[0; 12]);
            put32(&mut zip, 0);
            zip.extend_from_slice(name.as_bytes());
            let directory_len = zip.len() - directory;
            put32(&mut zip, 0x0605_4b50);
            zip.extend_from_slice(&[0; 4]);
            put16(&mut zip, 1);
            put16(&mut zip, 1);
            put32(&mut zip, directory_len as u32);
            put32(&mut zip, directory as u32);
            put16(&mut zip, 0);
            zip
        }
        let content = b"the tfplan protobuf, repeated, repeated, repeated";
        let crc = crc32fast::hash(content);
        let stored = zip_with("tfplan", 0, content, content.len(), crc);
        assert_eq!(zip_entry(&stored, "tfplan").unwrap().unwrap(), content);
        assert_eq!(zip_entry(&stored, "tfstate").unwrap(), None);
        let deflated = miniz_oxide::deflate::compress_to_vec(content, 6);
        let zip = zip_with("tfplan", 8, &deflated, content.len(), crc);
        assert_eq!(zip_entry(&zip, "tfplan").unwrap().unwrap(), content);
        let corrupted = zip_with("tfplan", 0, content, content.len(), crc ^ 1);
        assert!(zip_entry(&corrupted, "tfplan")
            .unwrap_err()
            .contains("checksum"));
        assert!(zip_entry(b"not a zip at all, just text", "tfplan").is_err());
    }

    #[test]
    fn refuses_layouts_it_was_not_checked_against() {
        use prost::Message;
        for (format, version) in [(3, "1.1.0"), (2, "1.0.3"), (3, "0.15.5"), (3, "1.14.0")] {
            let plan = proto::Plan {
                version: format,
                terraform_version: version.into(),
                ..Default::default()
            };
            assert!(matches!(
                decode(&plan.encode_to_vec(), Path::new("p.tfplan")),
                Err(TerraformError::SavedPlanLayoutUnsupported { .. })
            ));
        }
        for version in ["1.0.3", "1.15.5"] {
            let plan = proto::Plan {
                version: 3,
                terraform_version: version.into(),
                ..Default::default()
            };
            assert!(decode(&plan.encode_to_vec(), Path::new("p.tfplan")).is_ok());
        }
    }
}
