//! The provider block: where the store lives.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, OnceLock};

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use tf_provider::schema::{
    Attribute, AttributeConstraint, AttributeType, Block, Description, Schema,
};
use tf_provider::value::{Value, ValueEmpty};
use tf_provider::{map, AttributePath, Diagnostics, DynamicDataSource, DynamicResource, Provider};

use crate::store::Store;
use crate::thing::ThingResource;

/// Read when the provider block leaves `store_dir` out, so one variable can
/// point every Terraform run of a test at its temp dir.
pub const STORE_DIR_ENV: &str = "OHMCTEST_STORE_DIR";

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct ProviderConfig {
    pub store_dir: Value<String>,
}

#[derive(Debug, Clone, Default)]
pub struct OhmcTestProvider {
    store: Arc<OnceLock<Store>>,
}

#[async_trait]
impl Provider for OhmcTestProvider {
    type Config<'a> = ProviderConfig;
    type MetaState<'a> = ValueEmpty;

    fn schema(&self, _diags: &mut Diagnostics) -> Option<Schema> {
        Some(Schema {
            version: 1,
            block: Block {
                description: Description::plain(
                    "ohmc's test provider: things stored as JSON files",
                ),
                attributes: map! {
                    "store_dir" => Attribute {
                        attr_type: AttributeType::String,
                        description: Description::plain(format!(
                            "Directory holding one <id>.json per thing; defaults to ${STORE_DIR_ENV}."
                        )),
                        constraint: AttributeConstraint::Optional,
                        ..Default::default()
                    }
                },
                ..Default::default()
            },
        })
    }

    async fn configure<'a>(
        &self,
        diags: &mut Diagnostics,
        _terraform_version: String,
        config: Self::Config<'a>,
    ) -> Option<()> {
        let dir = match config.store_dir {
            Value::Value(dir) if !dir.is_empty() => PathBuf::from(dir),
            Value::Unknown => {
                diags.error_short(
                    "store_dir must be known before apply",
                    AttributePath::new("store_dir"),
                );
                return None;
            }
            _ => match std::env::var_os(STORE_DIR_ENV) {
                Some(dir) if !dir.is_empty() => PathBuf::from(dir),
                _ => {
                    // No attribute path: the attribute is absent, and the
                    // fix may as well be the environment variable.
                    diags.root_error_short(format!(
                        "ohmctest: set store_dir in the provider block or {STORE_DIR_ENV}"
                    ));
                    return None;
                }
            },
        };
        // Anchored now so the store cannot move if something later changes
        // the process's working directory.
        let dir = std::path::absolute(&dir).unwrap_or(dir);
        // One process serves one provider configuration, so a second
        // configure cannot carry a different directory.
        let _ = self.store.set(Store::new(dir));
        Some(())
    }

    fn get_resources(
        &self,
        _diags: &mut Diagnostics,
    ) -> Option<HashMap<String, Box<dyn DynamicResource>>> {
        Some(map! {
            "thing" => ThingResource { store: self.store.clone() }
        })
    }

    fn get_data_sources(
        &self,
        _diags: &mut Diagnostics,
    ) -> Option<HashMap<String, Box<dyn DynamicDataSource>>> {
        Some(HashMap::new())
    }
}
