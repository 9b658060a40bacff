//! The provider schema, read from `terraform/schema/providers-schema.json`
//! (the format of `terraform providers schema -json`), as a small model the
//! planner walks, and as the `tf-provider` schema served to Terraform.

use std::collections::{BTreeMap, HashMap};

use anyhow::{anyhow, bail, Context, Result};
use serde_json::Value as Json;
use tf_provider::schema::{
    Attribute as TfAttribute, AttributeConstraint, AttributeType, Block as TfBlock, Description,
    NestedBlock, Schema as TfSchema,
};

/// The schema file, embedded so the installed plugin is self-contained and a
/// rebuild follows every regeneration of the file.
pub const SCHEMA_JSON: &str = include_str!("../../../terraform/schema/providers-schema.json");

/// A cty type.
#[derive(Debug, Clone, PartialEq)]
pub enum Ty {
    String,
    Number,
    Bool,
    Dynamic,
    List(Box<Ty>),
    Set(Box<Ty>),
    Map(Box<Ty>),
    Object(BTreeMap<String, Ty>),
    Tuple(Vec<Ty>),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Nesting {
    Single,
    Group,
    List,
    Set,
    Map,
}

#[derive(Debug, Clone)]
pub struct Attr {
    pub ty: Ty,
    /// Framework-style nested attributes (`nested_type`).
    pub nested: Option<(Nesting, BTreeMap<String, Attr>)>,
    pub required: bool,
    pub optional: bool,
    pub computed: bool,
    pub sensitive: bool,
}

#[derive(Debug, Clone)]
pub struct BlockType {
    pub nesting: Nesting,
    pub block: Block,
    pub min_items: u64,
    pub max_items: u64,
}

#[derive(Debug, Clone, Default)]
pub struct Block {
    pub attributes: BTreeMap<String, Attr>,
    pub blocks: BTreeMap<String, BlockType>,
}

/// One provider's part of the schema file.
#[derive(Debug, Clone)]
pub struct ProviderSchema {
    pub provider: Block,
    pub resources: BTreeMap<String, Block>,
    pub data_sources: BTreeMap<String, Block>,
}

impl ProviderSchema {
    /// Reads `registry.terraform.io/hashicorp/<name>` from the schema file.
    pub fn load(text: &str, name: &str) -> Result<Self> {
        let root: Json = serde_json::from_str(text).context("parsing the schema file")?;
        let address = format!("registry.terraform.io/hashicorp/{name}");
        let entry = root
            .get("provider_schemas")
            .and_then(|p| p.get(&address))
            .ok_or_else(|| anyhow!("{address} is not in the schema file"))?;
        let blocks = |key: &str| -> Result<BTreeMap<String, Block>> {
            let mut out = BTreeMap::new();
            if let Some(map) = entry.get(key).and_then(Json::as_object) {
                for (type_name, schema) in map {
                    let block = parse_block(&schema["block"]).with_context(|| type_name.clone())?;
                    out.insert(type_name.clone(), block);
                }
            }
            Ok(out)
        };
        Ok(Self {
            provider: parse_block(&entry["provider"]["block"]).context("provider block")?,
            resources: blocks("resource_schemas")?,
            data_sources: blocks("data_source_schemas")?,
        })
    }
}

fn parse_block(json: &Json) -> Result<Block> {
    let mut block = Block::default();
    if let Some(attrs) = json.get("attributes").and_then(Json::as_object) {
        for (name, attr) in attrs {
            block.attributes.insert(
                name.clone(),
                parse_attr(attr).with_context(|| name.clone())?,
            );
        }
    }
    if let Some(types) = json.get("block_types").and_then(Json::as_object) {
        for (name, nb) in types {
            let nesting = parse_nesting(nb["nesting_mode"].as_str().unwrap_or(""))?;
            block.blocks.insert(
                name.clone(),
                BlockType {
                    nesting,
                    block: parse_block(&nb["block"]).with_context(|| name.clone())?,
                    min_items: nb.get("min_items").and_then(Json::as_u64).unwrap_or(0),
                    max_items: nb.get("max_items").and_then(Json::as_u64).unwrap_or(0),
                },
            );
        }
    }
    Ok(block)
}

fn parse_nesting(text: &str) -> Result<Nesting> {
    Ok(match text {
        "single" => Nesting::Single,
        "group" => Nesting::Group,
        "list" => Nesting::List,
        "set" => Nesting::Set,
        "map" => Nesting::Map,
        other => bail!("unknown nesting mode {other:?}"),
    })
}

fn parse_attr(json: &Json) -> Result<Attr> {
    let flag = |key: &str| json.get(key).and_then(Json::as_bool).unwrap_or(false);
    let (ty, nested) = if let Some(nested) = json.get("nested_type") {
        let nesting = parse_nesting(nested["nesting_mode"].as_str().unwrap_or(""))?;
        let mut attrs = BTreeMap::new();
        if let Some(map) = nested.get("attributes").and_then(Json::as_object) {
            for (name, attr) in map {
                attrs.insert(
                    name.clone(),
                    parse_attr(attr).with_context(|| name.clone())?,
                );
            }
        }
        let object = Ty::Object(
            attrs
                .iter()
                .map(|(k, a)| (k.clone(), a.ty.clone()))
                .collect(),
        );
        let ty = match nesting {
            Nesting::Single | Nesting::Group => object,
            Nesting::List => Ty::List(Box::new(object)),
            Nesting::Set => Ty::Set(Box::new(object)),
            Nesting::Map => Ty::Map(Box::new(object)),
        };
        (ty, Some((nesting, attrs)))
    } else {
        (parse_type(&json["type"])?, None)
    };
    Ok(Attr {
        ty,
        nested,
        required: flag("required"),
        optional: flag("optional"),
        computed: flag("computed"),
        sensitive: flag("sensitive"),
    })
}

pub fn parse_type(json: &Json) -> Result<Ty> {
    Ok(match json {
        Json::String(s) => match s.as_str() {
            "string" => Ty::String,
            "number" => Ty::Number,
            "bool" => Ty::Bool,
            "dynamic" => Ty::Dynamic,
            other => bail!("unknown primitive type {other:?}"),
        },
        Json::Array(parts) if parts.len() == 2 => {
            let kind = parts[0].as_str().unwrap_or("");
            match kind {
                "list" => Ty::List(Box::new(parse_type(&parts[1])?)),
                "set" => Ty::Set(Box::new(parse_type(&parts[1])?)),
                "map" => Ty::Map(Box::new(parse_type(&parts[1])?)),
                "object" => {
                    let mut fields = BTreeMap::new();
                    for (k, v) in parts[1].as_object().into_iter().flatten() {
                        fields.insert(k.clone(), parse_type(v)?);
                    }
                    Ty::Object(fields)
                }
                "tuple" => Ty::Tuple(
                    parts[1]
                        .as_array()
                        .into_iter()
                        .flatten()
                        .map(parse_type)
                        .collect::<Result<_>>()?,
                ),
                other => bail!("unknown type constructor {other:?}"),
            }
        }
        other => bail!("unreadable type {other}"),
    })
}

/// The schema as `tf-provider` serves it.
pub fn to_tf_schema(block: &Block) -> TfSchema {
    TfSchema {
        version: 0,
        block: to_tf_block(block),
    }
}

fn to_tf_block(block: &Block) -> TfBlock {
    TfBlock {
        version: 0,
        attributes: block
            .attributes
            .iter()
            .map(|(name, attr)| (name.clone(), to_tf_attr(attr)))
            .collect(),
        blocks: block
            .blocks
            .iter()
            .map(|(name, nb)| {
                let inner = to_tf_block(&nb.block);
                // tf-provider serves list blocks with max_items unlimited and
                // Single blocks with min_items 1 (i.e. required). So: a list
                // of at most one item is its "Optional" (a list block, 0..1);
                // an optional single block becomes a group (never null,
                // attributes null when absent). Required list blocks lose
                // their min_items here and are checked in validate instead.
                let nested = match nb.nesting {
                    Nesting::List if nb.max_items == 1 => NestedBlock::Optional(inner),
                    Nesting::List => NestedBlock::List(inner),
                    Nesting::Set => NestedBlock::Set(inner),
                    Nesting::Map => NestedBlock::Map(inner),
                    Nesting::Single if nb.min_items == 1 => NestedBlock::Single(inner),
                    Nesting::Single | Nesting::Group => NestedBlock::Group(inner),
                };
                (name.clone(), nested)
            })
            .collect(),
        description: Description::plain("served by the schema stand-in; it creates nothing"),
        deprecated: false,
    }
}

fn to_tf_attr(attr: &Attr) -> TfAttribute {
    let constraint = match (attr.required, attr.optional, attr.computed) {
        (true, _, _) => AttributeConstraint::Required,
        (false, true, true) => AttributeConstraint::OptionalComputed,
        (false, true, false) => AttributeConstraint::Optional,
        _ => AttributeConstraint::Computed,
    };
    let attr_type = match &attr.nested {
        Some((nesting, attrs)) => {
            let inner: HashMap<String, TfAttribute> = attrs
                .iter()
                .map(|(k, a)| (k.clone(), to_tf_attr(a)))
                .collect();
            match nesting {
                Nesting::Single | Nesting::Group => AttributeType::AttributeSingle(inner),
                Nesting::List => AttributeType::AttributeList(inner),
                Nesting::Set => AttributeType::AttributeSet(inner),
                Nesting::Map => AttributeType::AttributeMap(inner),
            }
        }
        None => to_tf_type(&attr.ty),
    };
    TfAttribute {
        attr_type,
        description: Description::plain(""),
        constraint,
        sensitive: attr.sensitive,
        deprecated: false,
    }
}

fn to_tf_type(ty: &Ty) -> AttributeType {
    match ty {
        Ty::String => AttributeType::String,
        Ty::Number => AttributeType::Number,
        Ty::Bool => AttributeType::Bool,
        Ty::Dynamic => AttributeType::Any,
        Ty::List(t) => AttributeType::List(Box::new(to_tf_type(t))),
        Ty::Set(t) => AttributeType::Set(Box::new(to_tf_type(t))),
        Ty::Map(t) => AttributeType::Map(Box::new(to_tf_type(t))),
        Ty::Object(fields) => AttributeType::Object(
            fields
                .iter()
                .map(|(k, t)| (k.clone(), to_tf_type(t)))
                .collect(),
        ),
        Ty::Tuple(items) => AttributeType::Tuple(items.iter().map(to_tf_type).collect()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn aws() -> ProviderSchema {
        ProviderSchema::load(SCHEMA_JSON, "aws").unwrap()
    }

    #[test]
    fn the_embedded_schema_loads_for_each_provider() {
        let aws = aws();
        assert!(aws.resources.contains_key("aws_db_instance"));
        assert!(aws.data_sources.contains_key("aws_iam_policy_document"));
        let random = ProviderSchema::load(SCHEMA_JSON, "random").unwrap();
        assert!(random.resources["random_password"].attributes["result"].sensitive);
        let tls = ProviderSchema::load(SCHEMA_JSON, "tls").unwrap();
        assert!(tls.data_sources.contains_key("tls_certificate"));
    }

    #[test]
    fn a_list_block_of_at_most_one_is_served_as_a_list_of_zero_or_one() {
        let aws = aws();
        let schema = to_tf_schema(&aws.resources["aws_eks_cluster"]);
        assert!(matches!(
            schema.block.blocks["vpc_config"],
            NestedBlock::Optional(_)
        ));
        let plan = to_tf_schema(&aws.resources["aws_backup_plan"]);
        assert!(matches!(plan.block.blocks["rule"], NestedBlock::Set(_)));
    }
}
