//! Chapter 1's models in the browser: each weights file is downloaded once
//! (with progress), verified against the manifest, parsed, and uploaded to
//! the live backend once per page; widgets share the result.

use std::{cell::RefCell, collections::HashMap, rc::Rc};

use compute::{
    models::ar::{ArKind, ArModel, ArRunner, Mode, PIXELS, SIDE},
    Backend, ComputeError,
};
use serde::Deserialize;
use thiserror::Error;

use crate::{
    i18n::{td_string, Locale},
    shell::{
        assets::{fetch_asset, manifest, FetchError},
        format::fill,
        in_flight::InFlight,
        live_backend::family_backend,
    },
};

/// Why a model, its metrics or the MNIST test split could not be had.
/// `Display` is the English wording (for logs and callers without a
/// locale); [`ModelLoadError::say`] words it in the page's language. The
/// details that come from other crates (compute, serde, safetensors) stay
/// as those crates wrote them; a download's own error says itself.
#[derive(Debug, Clone, PartialEq, Error)]
pub enum ModelLoadError {
    #[error(transparent)]
    Fetch(#[from] FetchError),
    #[error("the {model} weights are unusable: {source}")]
    Weights {
        model: &'static str,
        source: ComputeError,
    },
    #[error("the {model} metrics file is unreadable: {detail}")]
    Metrics { model: &'static str, detail: String },
    /// A data file (faces, backgrounds) loaded but did not decode.
    #[error("the {what} data is unusable: {detail}")]
    Data { what: &'static str, detail: String },
    /// The committed MNIST test split (`mnist.rs`) is unusable.
    #[error("the MNIST test split is unreadable: {0}")]
    Digits(DigitsProblem),
}

/// What is wrong with the MNIST test split.
#[derive(Debug, Clone, PartialEq, Error)]
pub enum DigitsProblem {
    /// From the safetensors parser.
    #[error("{0}")]
    Parse(String),
    #[error("the images and labels do not match")]
    Mismatch,
    #[error("there is no test digit {0}")]
    NoDigit(usize),
}

impl ModelLoadError {
    /// The error in `locale`'s words (the frame; other crates' details as
    /// they are).
    pub fn say(&self, locale: Locale) -> String {
        match self {
            ModelLoadError::Fetch(e) => e.say(locale),
            ModelLoadError::Weights { model, source } => fill(
                td_string!(locale, autoregressive.err_weights),
                &[("model", model), ("error", source)],
            ),
            ModelLoadError::Metrics { model, detail } => fill(
                td_string!(locale, autoregressive.err_metrics),
                &[("model", model), ("detail", detail)],
            ),
            ModelLoadError::Data { what, detail } => fill(
                td_string!(locale, autoregressive.err_data),
                &[("what", what), ("detail", detail)],
            ),
            ModelLoadError::Digits(problem) => {
                let detail = match problem {
                    DigitsProblem::Parse(detail) => detail.clone(),
                    DigitsProblem::Mismatch => {
                        td_string!(locale, autoregressive.err_digits_mismatch).to_string()
                    }
                    DigitsProblem::NoDigit(index) => fill(
                        td_string!(locale, autoregressive.err_no_digit),
                        &[("index", index)],
                    ),
                };
                fill(
                    td_string!(locale, autoregressive.err_digits),
                    &[("detail", &detail)],
                )
            }
        }
    }
}

thread_local! {
    static RUNNERS: RefCell<HashMap<ArKind, Rc<ArRunner>>> = RefCell::default();
    /// Models being loaded, with the callers waiting for them: the page's
    /// widgets ask for the same model at once, and it loads once.
    static LOADING: InFlight<ArKind> = InFlight::new();
}

/// Drops every loaded model, so the next request uploads again: after a
/// lost GPU, whose buffers went with it.
pub fn forget_loaded() {
    RUNNERS.with(|r| r.borrow_mut().clear());
}

/// The model on `backend`, downloading it if this page has not yet.
/// `on_progress(loaded, total)` sees the download's bytes.
pub async fn runner(
    kind: ArKind,
    backend: &Backend,
    on_progress: impl FnMut(u64, u64),
) -> Result<Rc<ArRunner>, ModelLoadError> {
    crate::shell::live_backend::forget_on_recovery(forget_loaded);
    if let Some(r) = RUNNERS.with(|r| r.borrow().get(&kind).cloned()) {
        return Ok(r);
    }
    if let Some(rx) = LOADING.with(|l| l.join(kind)) {
        let _ = rx.await;
        if let Some(r) = RUNNERS.with(|r| r.borrow().get(&kind).cloned()) {
            return Ok(r);
        }
        // The first load failed; try once more for this caller.
        return Box::pin(runner(kind, backend, on_progress)).await;
    }
    let loaded = load(kind, backend, on_progress).await;
    if let Ok(r) = &loaded {
        RUNNERS.with(|map| map.borrow_mut().insert(kind, r.clone()));
    }
    LOADING.with(|l| l.finish(&kind));
    loaded
}

async fn load(
    kind: ArKind,
    backend: &Backend,
    on_progress: impl FnMut(u64, u64),
) -> Result<Rc<ArRunner>, ModelLoadError> {
    let m = manifest().await?;
    let bytes = fetch_asset(&kind.weights_path(), &m, on_progress).await?;
    let model = ArModel::load(kind, &bytes).map_err(|source| ModelLoadError::Weights {
        model: kind.title(),
        source,
    })?;
    Ok(Rc::new(on_chosen_backend(model, backend).await))
}

/// The model on the backend chosen for it (see `live_backend`): in Auto,
/// the faster at sampling one row of 28 pixels.
async fn on_chosen_backend(model: ArModel, detected: &Backend) -> ArRunner {
    if !detected.on_gpu() {
        return ArRunner::new(model, detected);
    }
    let title = model.kind().title();
    let gpu = ArRunner::new(model.clone(), detected);
    let cpu = ArRunner::new(model, &Backend::Cpu(ComputeError::CpuChosen(String::new())));
    let row = async |runner: &ArRunner| -> Result<(), ComputeError> {
        let zeros = vec![0.0; PIXELS];
        let mut chain = runner.chain(&zeros, 0, Mode::Sample { seed: 0 })?;
        chain.advance(SIDE).await.map(drop)
    };
    let chosen = family_backend(
        detected,
        title,
        "per row of 28 pixels",
        async || row(&cpu).await,
        async || row(&gpu).await,
    )
    .await;
    if chosen.on_gpu() {
        gpu
    } else {
        cpu
    }
}

/// What the trainer measured, from `assets/models/ar/<name>.json`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct TrainedMetrics {
    pub test_nll_nats: f64,
    pub test_nll_nats_f32: f64,
    pub val_nll_nats: f64,
    pub train_nll_nats: f64,
    pub params: u64,
    pub weights_bytes: u64,
    pub epochs: u32,
    pub train_seconds: f64,
    pub seed: u64,
}

pub async fn metrics(kind: ArKind) -> Result<TrainedMetrics, ModelLoadError> {
    let m = manifest().await?;
    let bytes = fetch_asset(&kind.metrics_path(), &m, |_, _| {}).await?;
    serde_json::from_slice(&bytes).map_err(|e| ModelLoadError::Metrics {
        model: kind.title(),
        detail: e.to_string(),
    })
}

/// Test digit `index` of the committed test split (binarised at 0.5), and
/// its label.
pub async fn test_digit(index: usize) -> Result<(Vec<f32>, u8), ModelLoadError> {
    let digits = test_digits().await?;
    let px = compute::models::ar::PIXELS;
    let image = digits
        .images
        .get(index * px..(index + 1) * px)
        .ok_or(ModelLoadError::Digits(DigitsProblem::NoDigit(index)))?;
    Ok((
        image.iter().map(|&p| (p >= 128) as u8 as f32).collect(),
        digits.labels[index],
    ))
}

/// Digits in the committed test split.
pub const TEST_DIGITS: usize = 997;

// The committed MNIST test split, downloaded and parsed once per page:
// chapter 1's "real test digit", chapter 3's scenes and dropped-in digits.

/// The MNIST test split at full intensity (0–255): images [n, 784], labels.
pub struct TestDigits {
    pub images: Vec<u8>,
    pub labels: Vec<u8>,
}

const PATH: &str = "data/mnist-test.safetensors";

thread_local! {
    static DIGITS: RefCell<Option<Rc<TestDigits>>> = const { RefCell::new(None) };
}

pub async fn test_digits() -> Result<Rc<TestDigits>, ModelLoadError> {
    if let Some(d) = DIGITS.with(|d| d.borrow().clone()) {
        return Ok(d);
    }
    let m = manifest().await?;
    let bytes = fetch_asset(PATH, &m, |_, _| {}).await?;
    let bad = |detail: String| ModelLoadError::Digits(DigitsProblem::Parse(detail));
    let st = safetensors::SafeTensors::deserialize(&bytes).map_err(|e| bad(e.to_string()))?;
    let get = |name: &str| {
        st.tensor(name)
            .map(|t| t.data().to_vec())
            .map_err(|e| bad(e.to_string()))
    };
    let digits = Rc::new(TestDigits {
        images: get("images")?,
        labels: get("labels")?,
    });
    if digits.labels.is_empty() || digits.images.len() != digits.labels.len() * 784 {
        return Err(ModelLoadError::Digits(DigitsProblem::Mismatch));
    }
    DIGITS.with(|d| *d.borrow_mut() = Some(digits.clone()));
    Ok(digits)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// In English, `say` is the `Display` text; in Chinese, the frame is
    /// Chinese and another crate's detail is kept.
    #[test]
    fn errors_in_both_languages() {
        let errors = [
            ModelLoadError::Weights {
                model: "NADE",
                source: ComputeError::CpuChosen("detail".into()),
            },
            ModelLoadError::Metrics {
                model: "MADE",
                detail: "expected value at line 1".into(),
            },
            ModelLoadError::Digits(DigitsProblem::Parse("bad header".into())),
            ModelLoadError::Digits(DigitsProblem::Mismatch),
            ModelLoadError::Digits(DigitsProblem::NoDigit(1234)),
        ];
        for e in errors {
            assert_eq!(e.say(Locale::en), e.to_string());
            let zh = e.say(Locale::zh);
            assert_ne!(zh, e.to_string());
            assert!(!zh.contains('{'), "{zh}");
        }
        assert_eq!(
            ModelLoadError::Digits(DigitsProblem::NoDigit(1234)).to_string(),
            "the MNIST test split is unreadable: there is no test digit 1234"
        );
        assert!(ModelLoadError::Digits(DigitsProblem::NoDigit(7))
            .say(Locale::zh)
            .contains("第 7 个"));
    }
}
