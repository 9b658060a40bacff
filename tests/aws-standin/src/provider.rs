//! The provider, its resources and data sources: all driven by one schema.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use async_trait::async_trait;
use rmpv::Value;
use tf_provider::schema::Schema as TfSchema;
use tf_provider::value::ValueEmpty;
use tf_provider::{
    AttributePath, DataSource, Diagnostics, DynamicDataSource, DynamicResource, Provider, Resource,
};

use crate::data::{self, Place};
use crate::schema::{to_tf_schema, Block, ProviderSchema};
use crate::value::{self, get, get_str, missing_required_blocks, strings, FillContext};

/// Read when the provider block names no account (`allowed_account_ids`).
pub const ACCOUNT_ENV: &str = "OHMC_STANDIN_ACCOUNT_ID";
const DEFAULT_ACCOUNT: &str = "123456789012";
const DEFAULT_REGION: &str = "us-east-1";

/// What `configure` learnt. One plugin process serves one provider
/// configuration (Terraform starts one per alias).
#[derive(Debug, Clone)]
pub struct Configured {
    pub place: Place,
    pub default_tags: Vec<(String, String)>,
}

impl Default for Configured {
    fn default() -> Self {
        let region = std::env::var("AWS_REGION")
            .or_else(|_| std::env::var("AWS_DEFAULT_REGION"))
            .unwrap_or_else(|_| DEFAULT_REGION.to_owned());
        Self {
            place: Place {
                account: std::env::var(ACCOUNT_ENV).unwrap_or_else(|_| DEFAULT_ACCOUNT.to_owned()),
                partition: partition_of(&region).to_owned(),
                region,
            },
            default_tags: Vec::new(),
        }
    }
}

fn partition_of(region: &str) -> &'static str {
    if region.starts_with("cn-") {
        "aws-cn"
    } else if region.starts_with("us-gov-") {
        "aws-us-gov"
    } else {
        "aws"
    }
}

type Shared = Arc<RwLock<Configured>>;

pub struct StandinProvider {
    name: String,
    schema: Arc<ProviderSchema>,
    configured: Shared,
}

impl StandinProvider {
    pub fn new(name: &str, schema: ProviderSchema) -> Self {
        Self {
            name: name.to_owned(),
            schema: Arc::new(schema),
            configured: Arc::default(),
        }
    }
}

/// tf-provider names every type `<provider>_<key>`; the schema file names
/// them in full.
fn keyed<T>(provider: &str, map: impl Iterator<Item = (String, T)>) -> HashMap<String, T> {
    let prefix = format!("{provider}_");
    map.map(|(name, v)| (name.strip_prefix(&prefix).unwrap_or(&name).to_owned(), v))
        .collect()
}

#[async_trait]
impl Provider for StandinProvider {
    // The values are taken as msgpack trees and walked along the schema:
    // one implementation serves every type.
    type Config<'a> = Value;
    type MetaState<'a> = ValueEmpty;

    fn schema(&self, _diags: &mut Diagnostics) -> Option<TfSchema> {
        Some(to_tf_schema(&self.schema.provider))
    }

    async fn configure<'a>(
        &self,
        _diags: &mut Diagnostics,
        _terraform_version: String,
        config: Value,
    ) -> Option<()> {
        let mut configured = Configured::default();
        if let Some(region) = get_str(&config, "region") {
            configured.place.region = region.to_owned();
            configured.place.partition = partition_of(region).to_owned();
        }
        if let Some(account) = strings(get(&config, "allowed_account_ids")).first() {
            configured.place.account = account.clone();
        }
        if let Some(Value::Array(blocks)) = get(&config, "default_tags") {
            for block in blocks {
                if let Some(Value::Map(tags)) = get(block, "tags") {
                    for (k, v) in tags {
                        if let (Some(k), Some(v)) = (k.as_str(), v.as_str()) {
                            configured.default_tags.push((k.to_owned(), v.to_owned()));
                        }
                    }
                }
            }
        }
        *self.configured.write().unwrap_or_else(|e| e.into_inner()) = configured;
        Some(())
    }

    fn get_resources(
        &self,
        _diags: &mut Diagnostics,
    ) -> Option<HashMap<String, Box<dyn DynamicResource>>> {
        Some(keyed(
            &self.name,
            self.schema.resources.iter().map(|(type_name, block)| {
                let r: Box<dyn DynamicResource> = Box::new(StandinResource {
                    type_name: type_name.clone(),
                    block: block.clone(),
                    configured: self.configured.clone(),
                });
                (type_name.clone(), r)
            }),
        ))
    }

    fn get_data_sources(
        &self,
        _diags: &mut Diagnostics,
    ) -> Option<HashMap<String, Box<dyn DynamicDataSource>>> {
        Some(keyed(
            &self.name,
            self.schema.data_sources.iter().map(|(type_name, block)| {
                let d: Box<dyn DynamicDataSource> = Box::new(StandinDataSource {
                    type_name: type_name.clone(),
                    block: block.clone(),
                    configured: self.configured.clone(),
                });
                (type_name.clone(), d)
            }),
        ))
    }
}

fn validate_blocks(diags: &mut Diagnostics, block: &Block, config: &Value) {
    let mut missing = Vec::new();
    missing_required_blocks(config, block, "", &mut missing);
    // Terraform's own words for a list block below its min_items.
    for (path, min) in missing {
        let name = path.rsplit('.').next().unwrap_or(&path).to_owned();
        diags.root_error(
            format!("Insufficient {name} blocks"),
            format!("At least {min} \"{path}\" blocks are required."),
        );
    }
}

/// The real provider plans `domain_validation_options` of a new certificate
/// with one element per name it covers (its CustomizeDiff), `domain_name`
/// known and the record unknown, so that configurations can `for_each` over
/// them on a fresh account (HashiCorp's own ACM example does).
/// The names come from the configuration: subject_alternative_names left
/// unset there is none (the plan marks it unknown, being computed).
fn plan_domain_validation_options(state: &mut rmpv::Value, config: &rmpv::Value) {
    if value::get(config, "domain_name").is_some_and(value::is_unknown) {
        return;
    }
    let mut names = value::strings(value::get(config, "domain_name"));
    match value::get(config, "subject_alternative_names") {
        Some(sans) if value::is_unknown(sans) => return,
        sans => names.extend(value::strings(sans)),
    }
    if names.is_empty() {
        return;
    }
    names.sort();
    names.dedup();
    let options = names
        .into_iter()
        .map(|name| {
            rmpv::Value::Map(vec![
                ("domain_name".into(), name.into()),
                ("resource_record_name".into(), value::unknown()),
                ("resource_record_type".into(), value::unknown()),
                ("resource_record_value".into(), value::unknown()),
            ])
        })
        .collect();
    value::set(
        state,
        "domain_validation_options",
        rmpv::Value::Array(options),
    );
}

struct StandinResource {
    type_name: String,
    block: Block,
    configured: Shared,
}

impl StandinResource {
    fn filled(&self, mut value: Value) -> Value {
        let configured = self
            .configured
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone();
        let ctx = FillContext::new(
            &self.type_name,
            &value,
            &configured.place.partition,
            &configured.place.region,
            &configured.place.account,
            configured.default_tags.clone(),
        );
        value::fill(&mut value, &self.block, &ctx, true);
        value
    }
}

#[async_trait]
impl Resource for StandinResource {
    type State<'a> = Value;
    type PrivateState<'a> = ValueEmpty;
    type ProviderMetaState<'a> = ValueEmpty;

    fn schema(&self, _diags: &mut Diagnostics) -> Option<TfSchema> {
        Some(to_tf_schema(&self.block))
    }

    async fn validate<'a>(&self, diags: &mut Diagnostics, config: Value) -> Option<()> {
        validate_blocks(diags, &self.block, &config);
        Some(())
    }

    /// Nothing exists outside Terraform's state, so there is nothing to
    /// drift: the state is read back as it is.
    async fn read<'a>(
        &self,
        _diags: &mut Diagnostics,
        state: Value,
        private_state: ValueEmpty,
        _provider_meta_state: ValueEmpty,
    ) -> Option<(Value, ValueEmpty)> {
        Some((state, private_state))
    }

    async fn plan_create<'a>(
        &self,
        _diags: &mut Diagnostics,
        mut proposed_state: Value,
        config_state: Value,
        _provider_meta_state: ValueEmpty,
    ) -> Option<(Value, ValueEmpty)> {
        value::mark_unknown(&mut proposed_state, &self.block);
        if self.type_name == "aws_acm_certificate" {
            plan_domain_validation_options(&mut proposed_state, &config_state);
        }
        Some((proposed_state, ValueEmpty::default()))
    }

    /// Terraform's proposal, with unset optional-and-computed values kept
    /// from the state where Terraform could not match set elements.
    async fn plan_update<'a>(
        &self,
        _diags: &mut Diagnostics,
        prior_state: Value,
        mut proposed_state: Value,
        _config_state: Value,
        prior_private_state: ValueEmpty,
        _provider_meta_state: ValueEmpty,
    ) -> Option<(Value, ValueEmpty, Vec<AttributePath>)> {
        value::keep_prior_optional_computed(&mut proposed_state, &prior_state, &self.block);
        Some((proposed_state, prior_private_state, Vec::new()))
    }

    async fn plan_destroy<'a>(
        &self,
        _diags: &mut Diagnostics,
        _prior_state: Value,
        prior_private_state: ValueEmpty,
        _provider_meta_state: ValueEmpty,
    ) -> Option<ValueEmpty> {
        Some(prior_private_state)
    }

    async fn create<'a>(
        &self,
        _diags: &mut Diagnostics,
        planned_state: Value,
        _config_state: Value,
        planned_private_state: ValueEmpty,
        _provider_meta_state: ValueEmpty,
    ) -> Option<(Value, ValueEmpty)> {
        Some((self.filled(planned_state), planned_private_state))
    }

    async fn update<'a>(
        &self,
        _diags: &mut Diagnostics,
        _prior_state: Value,
        planned_state: Value,
        _config_state: Value,
        planned_private_state: ValueEmpty,
        _provider_meta_state: ValueEmpty,
    ) -> Option<(Value, ValueEmpty)> {
        Some((self.filled(planned_state), planned_private_state))
    }

    /// `import` blocks (the state-bootstrap stack adopts what `ohmc-infra
    /// bootstrap` made): the object with its id and generated computed
    /// values; the arguments stay null, so the next plan updates them to the
    /// configuration.
    async fn import<'a>(
        &self,
        _diags: &mut Diagnostics,
        id: String,
    ) -> Option<(Value, ValueEmpty)> {
        let mut value = value::empty_object(&self.block);
        value::set(&mut value, "id", Value::from(id));
        value::mark_unknown(&mut value, &self.block);
        Some((self.filled(value), ValueEmpty::default()))
    }

    async fn destroy<'a>(
        &self,
        _diags: &mut Diagnostics,
        _prior_state: Value,
        _planned_private_state: ValueEmpty,
        _provider_meta_state: ValueEmpty,
    ) -> Option<()> {
        Some(())
    }
}

struct StandinDataSource {
    type_name: String,
    block: Block,
    configured: Shared,
}

#[async_trait]
impl DataSource for StandinDataSource {
    type State<'a> = Value;
    type ProviderMetaState<'a> = ValueEmpty;

    fn schema(&self, _diags: &mut Diagnostics) -> Option<TfSchema> {
        Some(to_tf_schema(&self.block))
    }

    async fn validate<'a>(&self, diags: &mut Diagnostics, config: Value) -> Option<()> {
        validate_blocks(diags, &self.block, &config);
        Some(())
    }

    async fn read<'a>(
        &self,
        diags: &mut Diagnostics,
        mut value: Value,
        _provider_meta_state: ValueEmpty,
    ) -> Option<Value> {
        let configured = self
            .configured
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone();
        if let Err(err) = data::answer(&self.type_name, &mut value, &configured.place) {
            diags.root_error(
                format!("schema stand-in: {} could not be answered", self.type_name),
                err.to_string(),
            );
            return None;
        }
        // What is still null and computed gets the generic fill.
        value::mark_unknown(&mut value, &self.block);
        let ctx = FillContext::new(
            &self.type_name,
            &value,
            &configured.place.partition,
            &configured.place.region,
            &configured.place.account,
            configured.default_tags.clone(),
        );
        value::fill(&mut value, &self.block, &ctx, false);
        Some(value)
    }
}
