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

    /// The id in the store; empty while unknown, which the store refuses as
    /// an invalid id.
    fn store_id(&self) -> &str {
        self.id.as_ref_option().map_or("", String::as_str)
    }

    fn delay(&self) -> Duration {
        let ms = self.apply_delay_ms.as_ref_option().copied().unwrap_or(0);
        Duration::from_millis(u64::try_from(ms).unwrap_or(0))
    }

    fn fails(&self) -> bool {
        self.fail_on_apply.as_ref_option().copied().unwrap_or(false)
    }

    fn display_name(&self) -> &str {
        self.name
            .as_ref_option()
            .map_or("<unknown>", String::as_str)
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

/// What `fail_on_apply` makes create and update report, before the store is
/// touched.
fn injected_failure(diags: &mut Diagnostics, thing: &Thing) {
    diags.root_error_short(format!(
        "ohmctest: injected failure for {}",
        thing.display_name()
    ));
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
        match store.read(thing.store_id()) {
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
            injected_failure(diags, &thing);
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
            injected_failure(diags, &thing);
            // The store was not touched, so the prior object is still the
            // truth; returning it keeps Terraform's state honest.
            return Some((Value::Value(prior), private_state));
        }
        if let Err(err) = store.update(thing.store_id(), &thing.record()) {
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
        if let Err(err) = store.delete(thing.store_id()) {
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

#[cfg(test)]
mod tests {
    use super::*;

    fn resource(dir: &std::path::Path) -> ThingResource {
        let store = Arc::new(OnceLock::new());
        store.set(Store::new(dir)).unwrap();
        ThingResource { store }
    }

    fn thing(name: &str, value: &str) -> Thing {
        Thing {
            name: Value::Value(name.into()),
            value: Value::Value(value.into()),
            ..Default::default()
        }
    }

    async fn created(res: &ThingResource, config: Thing) -> Thing {
        let mut diags = Diagnostics::default();
        let (planned, _) = res
            .plan_create(
                &mut diags,
                Value::Value(config.clone()),
                Value::Value(config.clone()),
                Value::Null,
            )
            .await
            .unwrap();
        let (state, _) = res
            .create(
                &mut diags,
                planned,
                Value::Value(config),
                Value::Null,
                Value::Null,
            )
            .await
            .unwrap();
        assert!(diags.errors.is_empty(), "{diags:?}");
        match state {
            Value::Value(thing) => thing,
            other => panic!("create returned {other:?}"),
        }
    }

    #[tokio::test]
    async fn read_reports_a_deleted_file_as_null_and_an_edited_one_as_drift() {
        let dir = tempfile::tempdir().unwrap();
        let res = resource(dir.path());
        let state = created(&res, thing("a", "one")).await;
        assert_eq!(state.apply_delay_ms, Value::Value(0));
        assert_eq!(state.fail_on_apply, Value::Value(false));
        let path = dir
            .path()
            .join(format!("{}.json", state.id.clone().unwrap()));

        std::fs::write(&path, r#"{"name":"a","value":"edited"}"#).unwrap();
        let mut diags = Diagnostics::default();
        let (read, _) = res
            .read(
                &mut diags,
                Value::Value(state.clone()),
                Value::Null,
                Value::Null,
            )
            .await
            .unwrap();
        assert_eq!(read.unwrap().value, Value::Value("edited".into()));

        std::fs::remove_file(&path).unwrap();
        let (read, _) = res
            .read(&mut diags, Value::Value(state), Value::Null, Value::Null)
            .await
            .unwrap();
        assert_eq!(read, Value::Null);
        // Null must reach Terraform as a null object, not an empty one.
        assert_eq!(
            serde_json::to_value(&read).unwrap(),
            serde_json::Value::Null
        );
        assert!(diags.errors.is_empty(), "{diags:?}");
    }

    #[tokio::test]
    async fn a_new_name_forces_replacement_and_removed_knobs_fall_back_to_defaults() {
        let dir = tempfile::tempdir().unwrap();
        let res = resource(dir.path());
        let mut prior = created(&res, thing("a", "one")).await;
        prior.apply_delay_ms = Value::Value(5000);

        // Terraform proposes the prior value for an optional+computed
        // attribute the configuration no longer sets.
        let config = thing("b", "one");
        let proposed = Thing {
            id: prior.id.clone(),
            apply_delay_ms: prior.apply_delay_ms,
            fail_on_apply: prior.fail_on_apply,
            ..config.clone()
        };
        let mut diags = Diagnostics::default();
        let (planned, _, replace) = res
            .plan_update(
                &mut diags,
                Value::Value(prior),
                Value::Value(proposed),
                Value::Value(config),
                Value::Null,
                Value::Null,
            )
            .await
            .unwrap();
        assert_eq!(replace, vec![AttributePath::new("name")]);
        assert_eq!(planned.unwrap().apply_delay_ms, Value::Value(0));
    }

    #[tokio::test]
    async fn an_injected_update_failure_keeps_the_prior_object() {
        let dir = tempfile::tempdir().unwrap();
        let res = resource(dir.path());
        let prior = created(&res, thing("a", "one")).await;
        let planned = Thing {
            value: Value::Value("two".into()),
            fail_on_apply: Value::Value(true),
            ..prior.clone()
        };
        let mut diags = Diagnostics::default();
        let (state, _) = res
            .update(
                &mut diags,
                Value::Value(prior.clone()),
                Value::Value(planned.clone()),
                Value::Value(planned),
                Value::Null,
                Value::Null,
            )
            .await
            .unwrap();
        assert_eq!(state, Value::Value(prior.clone()));
        assert_eq!(diags.errors.len(), 1);
        assert_eq!(diags.errors[0].summary, "ohmctest: injected failure for a");
        let store = Store::new(dir.path());
        let record = store.read(prior.id.as_ref_option().unwrap()).unwrap();
        assert_eq!(record.unwrap().value.as_deref(), Some("one"));
    }
}
