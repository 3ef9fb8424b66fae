//! `wechat_configs`: STUB, to be completed.

use serde::{Deserialize, Serialize};

use crate::config::error::ConfigError;
use crate::config::global::GlobalConfig;

/// One entry of `wechat_configs`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WeChatConfig {}

impl WeChatConfig {
    /// Fills defaults from `global` and checks the fields; error paths are relative to this entry.
    pub fn resolve(&mut self, _global: &GlobalConfig) -> Result<(), ConfigError> {
        Ok(())
    }
}
