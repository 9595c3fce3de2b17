//! Chapter 2's four trained transformers in the browser: downloaded once per
//! page (the asset cache keeps the bytes), verified against the manifest,
//! and parsed by compute's loader.

use std::sync::Arc;

use compute::{
    kv_cache::Variant,
    models::digit_transformer::{Config, DigitTransformer},
};
use serde::Deserialize;

use crate::{
    chapters::autoregressive::session::ModelLoadError,
    shell::assets::{fetch_asset, manifest},
};

pub async fn digit_model(
    variant: Variant,
    on_progress: impl FnMut(u64, u64),
) -> Result<Arc<DigitTransformer>, ModelLoadError> {
    let config = Config::new(variant);
    let m = manifest().await?;
    let bytes = fetch_asset(&config.weights_path(), &m, on_progress).await?;
    DigitTransformer::load(config, &bytes)
        .map(Arc::new)
        .map_err(|source| ModelLoadError::Weights {
            model: variant.label(),
            source,
        })
}

/// What the trainer measured, from `assets/models/attention/<variant>.json`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct DigitMetrics {
    pub test_nll_nats: f64,
    pub test_bits_per_dim: f64,
    pub params: u64,
    pub kv_bytes_per_token: u64,
    pub weights_bytes: u64,
    pub epochs: u32,
    pub train_seconds: f64,
}

pub async fn digit_metrics(variant: Variant) -> Result<DigitMetrics, ModelLoadError> {
    let config = Config::new(variant);
    let m = manifest().await?;
    let bytes = fetch_asset(&config.metrics_path(), &m, |_, _| {}).await?;
    serde_json::from_slice(&bytes).map_err(|e| ModelLoadError::Metrics {
        model: variant.label(),
        detail: e.to_string(),
    })
}
