//! `ohmctest_thing`: a resource whose every Terraform operation touches the
//! file store, plus two knobs (`apply_delay_ms`, `fail_on_apply`) that let a
//! test make an apply slow or make it fail.

use std::sync::{Arc, OnceLock};
use std::time::Duration;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use tf_provider::schema::{
    Attribute, AttributeConstraint, AttributeType, Block, Description, Schema,
};
use tf_provider::value::{Value, ValueBool, ValueEmpty, ValueNumber};
use tf_provider::{map, AttributePath, Diagnostics, Resource};

use crate::store::{Record, Store};

/// Terraform's view of one thing. The whole object is wrapped in [`Value`]
/// because Read must be able to answer "null" for a thing whose file is gone;
/// that is how Terraform learns to plan a re-create.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Thing {
    pub id: Value<String>,
    pub name: Value<String>,
    pub value: Value<String>,
    pub secret: Value<String>,
    pub apply_delay_ms: ValueNumber,
    pub fail_on_apply: ValueBool,
}

impl Thing {
    fn record(&self) -> Record {
        Record {
            name: self.name.clone().unwrap_or_default(),
            value: self.value.clone().as_option(),
            secret: self.secret.clone().as_option(),
        }
    }

    /// The store holds only what a remote API would; the test knobs live in
    /// state alone, so drift can only ever show up in name, value or secret.
    fn with_record(mut self, record: Record) -> Self {
        self.name = Value::Value(record.name);
        self.value = record.value.into();
        self.secret = record.secret.into();
        self
    }

    fn delay(&self) -> Duration {
        let ms = self.apply_delay_ms.as_ref_option().copied().unwrap_or(0);
        Duration::from_millis(u64::try_from(ms).unwrap_or(0))
    }

    fn fails(&self) -> bool {
        self.fail_on_apply.as_ref_option().copied().unwrap_or(false)
    }

    fn display_name(&self) -> &str {
        self.name.as_ref_option().map_or("<unknown>", String::as_str)
    }

    /// Terraform 1.0.3's protocol has no schema defaults, so the provider
    /// fills them in at plan time. Only a null in the *configuration* means
    /// "use the default": for an optional+computed attribute Terraform's
    /// proposed state carries the prior value forward, which would otherwise
    /// keep an old `apply_delay_ms = 5000` alive after it is removed.
    fn apply_defaults(&mut self, config: &Thing) {
        if config.apply_delay_ms.is_null() {
            self.apply_delay_ms = Value::Value(0);
        }
        if config.fail_on_apply.is_null() {
            self.fail_on_apply = Value::Value(false);
        }
    }
}

/// The store is only known once Terraform has configured the provider, but
/// tf-provider asks for the resources before that; the cell is shared with
/// [`crate::provider::OhmcTestProvider`], which fills it in.
#[derive(Debug, Clone)]
pub struct ThingResource {
    pub store: Arc<OnceLock<Store>>,
}

impl ThingResource {
    fn store(&self, diags: &mut Diagnostics) -> Option<&Store> {
        let store = self.store.get();
        if store.is_none() {
            diags.root_error_short("ohmctest: the provider has not been configured");
        }
        store
    }
}

fn expect_object(diags: &mut Diagnostics, state: Value<Thing>, what: &str) -> Option<Thing> {
    match state {
        Value::Value(thing) => Some(thing),
        _ => {
            diags.root_error_short(format!("ohmctest: {what} is unexpectedly null or unknown"));
            None
        }
    }
}

fn attribute(
    attr_type: AttributeType,
    constraint: AttributeConstraint,
    description: &str,
) -> Attribute {
    Attribute {
        attr_type,
        description: Description::plain(description),
        constraint,
        ..Default::default()
    }
}

#[async_trait]
impl Resource for ThingResource {
    type State<'a> = Value<Thing>;
    type PrivateState<'a> = ValueEmpty;
    type ProviderMetaState<'a> = ValueEmpty;

    fn schema(&self, _diags: &mut Diagnostics) -> Option<Schema> {
        use AttributeConstraint::{Computed, OptionalComputed, Required};
        use AttributeType::{Bool, Number, String};
        Some(Schema {
            version: 1,
            block: Block {
                description: Description::plain(
                    "A thing stored as <store_dir>/<id>.json. Edit or delete the file to simulate drift.",
                ),
                attributes: map! {
                    "id" => attribute(String, Computed, "File name (without .json) in the store: <name>-<8 hex digits>."),
                    "name" => attribute(String, Required, "Changing it replaces the thing."),
                    "value" => attribute(String, AttributeConstraint::Optional, "Updated in place."),
                    "secret" => Attribute {
                        sensitive: true,
                        ..attribute(String, AttributeConstraint::Optional, "Sensitive; updated in place.")
                    },
                    "apply_delay_ms" => attribute(Number, OptionalComputed, "Create, update and delete wait this long after touching the store (default 0)."),
                    "fail_on_apply" => attribute(Bool, OptionalComputed, "Create and update fail before touching the store (default false).")
                },
                ..Default::default()
            },
        })
    }

    async fn validate<'a>(&self, diags: &mut Diagnostics, config: Self::State<'a>) -> Option<()> {
        if let Value::Value(config) = config {
            if let Value::Value(ms) = config.apply_delay_ms {
                if ms < 0 {
                    diags.error_short(
                        format!("apply_delay_ms must not be negative, got {ms}"),
                        AttributePath::new("apply_delay_ms"),
                    );
                }
            }
            if let Value::Value(name) = &config.name {
                if name.is_empty() {
                    diags.error_short("name must not be empty", AttributePath::new("name"));
                }
            }
        }
        Some(())
    }

    async fn read<'a>(
        &self,
        diags: &mut Diagnostics,
        state: Self::State<'a>,
        private_state: Self::PrivateState<'a>,
        _provider_meta_state: Self::ProviderMetaState<'a>,
    ) -> Option<(Self::State<'a>, Self::PrivateState<'a>)> {
        let store = self.store(diags)?;
        let thing = expect_object(diags, state, "the prior state")?;
        let id = thing.id.as_ref_option().cloned().unwrap_or_default();
        match store.read(&id) {
            Ok(Some(record)) => Some((Value::Value(thing.with_record(record)), private_state)),
            Ok(None) => Some((Value::Null, private_state)),
            Err(err) => {
                diags.root_error("ohmctest: reading a thing failed", err.to_string());
                None
            }
        }
    }

    async fn plan_create<'a>(
        &self,
        diags: &mut Diagnostics,
        proposed_state: Self::State<'a>,
        config_state: Self::State<'a>,
        _provider_meta_state: Self::ProviderMetaState<'a>,
    ) -> Option<(Self::State<'a>, Self::PrivateState<'a>)> {
        let mut planned = expect_object(diags, proposed_state, "the proposed state")?;
        let config = expect_object(diags, config_state, "the configuration")?;
        planned.id = Value::Unknown;
        planned.apply_defaults(&config);
        Some((Value::Value(planned), Default::default()))
    }

    async fn plan_update<'a>(
        &self,
        diags: &mut Diagnostics,
        prior_state: Self::State<'a>,
        proposed_state: Self::State<'a>,
        config_state: Self::State<'a>,
        prior_private_state: Self::PrivateState<'a>,
        _provider_meta_state: Self::ProviderMetaState<'a>,
    ) -> Option<(Self::State<'a>, Self::PrivateState<'a>, Vec<AttributePath>)> {
        let prior = expect_object(diags, prior_state, "the prior state")?;
        let mut planned = expect_object(diags, proposed_state, "the proposed state")?;
        let config = expect_object(diags, config_state, "the configuration")?;
        planned.apply_defaults(&config);
        let mut replace = Vec::new();
        if planned.name != prior.name {
            replace.push(AttributePath::new("name"));
        }
        Some((Value::Value(planned), prior_private_state, replace))
    }

    async fn plan_destroy<'a>(
        &self,
        _diags: &mut Diagnostics,
        _prior_state: Self::State<'a>,
        prior_private_state: Self::PrivateState<'a>,
        _provider_meta_state: Self::ProviderMetaState<'a>,
    ) -> Option<Self::PrivateState<'a>> {
        Some(prior_private_state)
    }

    async fn create<'a>(
        &self,
        diags: &mut Diagnostics,
        planned_state: Self::State<'a>,
        _config_state: Self::State<'a>,
        private_state: Self::PrivateState<'a>,
        _provider_meta_state: Self::ProviderMetaState<'a>,
    ) -> Option<(Self::State<'a>, Self::PrivateState<'a>)> {
        let store = self.store(diags)?;
        let mut thing = expect_object(diags, planned_state, "the planned state")?;
        if thing.fails() {
            diags.root_error_short(format!(
                "ohmctest: injected failure for {}",
                thing.display_name()
            ));
            return None;
        }
        match store.create(&thing.record()) {
            Ok(id) => thing.id = Value::Value(id),
            Err(err) => {
                diags.root_error("ohmctest: creating a thing failed", err.to_string());
                return None;
            }
        }
        // After the write, like a cloud API that returns an id at once and is
        // then polled until ready: an apply cut short here leaves a real
        // object behind, which is exactly what interrupt tests need to see.
        tokio::time::sleep(thing.delay()).await;
        Some((Value::Value(thing), private_state))
    }

    async fn update<'a>(
        &self,
        diags: &mut Diagnostics,
        prior_state: Self::State<'a>,
        planned_state: Self::State<'a>,
        _config_state: Self::State<'a>,
        private_state: Self::PrivateState<'a>,
        _provider_meta_state: Self::ProviderMetaState<'a>,
    ) -> Option<(Self::State<'a>, Self::PrivateState<'a>)> {
        let store = self.store(diags)?;
        let prior = expect_object(diags, prior_state, "the prior state")?;
        let thing = expect_object(diags, planned_state, "the planned state")?;
        if thing.fails() {
            diags.root_error_short(format!(
                "ohmctest: injected failure for {}",
                thing.display_name()
            ));
            // The store was not touched, so the prior object is still the
            // truth; returning it keeps Terraform's state honest.
            return Some((Value::Value(prior), private_state));
        }
        let id = thing.id.as_ref_option().cloned().unwrap_or_default();
        if let Err(err) = store.update(&id, &thing.record()) {
            diags.root_error("ohmctest: updating a thing failed", err.to_string());
            return Some((Value::Value(prior), private_state));
        }
        tokio::time::sleep(thing.delay()).await;
        Some((Value::Value(thing), private_state))
    }

    async fn destroy<'a>(
        &self,
        diags: &mut Diagnostics,
        prior_state: Self::State<'a>,
        _planned_private_state: Self::PrivateState<'a>,
        _provider_meta_state: Self::ProviderMetaState<'a>,
    ) -> Option<()> {
        let store = self.store(diags)?;
        let thing = expect_object(diags, prior_state, "the prior state")?;
        let id = thing.id.as_ref_option().cloned().unwrap_or_default();
        if let Err(err) = store.delete(&id) {
            diags.root_error("ohmctest: deleting a thing failed", err.to_string());
            return None;
        }
        tokio::time::sleep(thing.delay()).await;
        Some(())
    }

    async fn import<'a>(
        &self,
        diags: &mut Diagnostics,
        id: String,
    ) -> Option<(Self::State<'a>, Self::PrivateState<'a>)> {
        let store = self.store(diags)?;
        match store.read(&id) {
            Ok(Some(record)) => {
                let thing = Thing {
                    id: Value::Value(id),
                    apply_delay_ms: Value::Value(0),
                    fail_on_apply: Value::Value(false),
                    ..Default::default()
                }
                .with_record(record);
                Some((Value::Value(thing), Default::default()))
            }
            Ok(None) => {
                diags.root_error_short(format!(
                    "ohmctest: no thing {id} in {}",
                    store.dir().display()
                ));
                None
            }
            Err(err) => {
                diags.root_error("ohmctest: importing a thing failed", err.to_string());
                None
            }
        }
    }
}
