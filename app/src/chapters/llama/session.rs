//! Chapter 4's LLaMA in the browser: config, vocabulary, OpenCC's
//! simplified-to-traditional table and the weights, downloaded once per
//! page (with progress), verified, and put on the live backend once; and
//! the trainer's metrics and scaling grid.

use std::{cell::RefCell, collections::BTreeMap, rc::Rc, sync::Arc};

use compute::{
    models::llama::{
        gpu::GpuLlama,
        lora::Adapter,
        sampling::{generate_cpu, generate_cpu_adapted, Generation, GenerationTrace},
        scaling::ScalingFit,
        Llama, LlamaConfig, CONFIG_PATH, METRICS_PATH, SCALING_PATH, TOKENIZER_PATH, WEIGHTS_PATH,
    },
    tang::{CharTokenizer, Form, SimplifiedToTraditional},
    Backend, ComputeError, Executor,
};
use serde::Deserialize;

use crate::{
    chapters::{autoregressive::session::ModelLoadError, detr::session::now_ms},
    shell::{
        assets::{fetch_asset, manifest},
        in_flight::InFlight,
        live_backend::family_backend,
    },
};

/// The OpenCC table the acrostic reads simplified characters with.
pub const S2T_PATH: &str = "tokenizer/opencc-st-characters.txt";

pub struct LlamaSession {
    pub model: Arc<Llama>,
    pub tokenizer: Arc<CharTokenizer>,
    pub s2t: SimplifiedToTraditional,
    /// The GPU copy, when the page's backend for this model is WebGPU.
    gpu: Option<(Rc<Executor>, GpuLlama)>,
    /// A GPU copy made only to time WebGPU when Auto chose the CPU for this
    /// model: uploaded on the first request and kept for the next.
    timing_gpu: RefCell<Option<Rc<GpuLlama>>>,
}

impl LlamaSession {
    pub fn on_gpu(&self) -> bool {
        self.gpu.is_some()
    }

    pub fn adapter_name(&self) -> Option<String> {
        self.gpu
            .as_ref()
            .map(|(exec, _)| exec.ctx().summary().adapter_name)
    }

    /// A generation on the session's backend, and how long it took in ms
    /// (on the GPU: submission and the one readback).
    pub async fn generate(&self, g: &Generation) -> Result<(GenerationTrace, f64), ComputeError> {
        self.generate_on(g, self.on_gpu()).await
    }

    /// A generation with a LoRA adapter beside the base (chapter 5): on the
    /// GPU only the adapter is uploaded, and taken away again after.
    pub async fn generate_adapted(
        &self,
        g: &Generation,
        adapter: Option<Arc<Adapter>>,
    ) -> Result<(GenerationTrace, f64), ComputeError> {
        let start = now_ms();
        let trace = match &self.gpu {
            Some((exec, model)) => {
                model.set_adapter(exec, adapter.as_deref());
                let trace = model.generate(exec, g).await;
                model.set_adapter(exec, None);
                trace?
            }
            None => generate_cpu_adapted(&self.model, adapter, g)?,
        };
        Ok((trace, now_ms() - start))
    }

    /// A generation timed on WebGPU whatever Auto chose: on the session's
    /// GPU copy, or on one uploaded now (`uploading` is told first, so the
    /// page can say so) and kept for the next timing.
    pub async fn generate_on_webgpu(
        &self,
        exec: &Rc<Executor>,
        g: &Generation,
        uploading: impl FnOnce(),
    ) -> Result<(GenerationTrace, f64), ComputeError> {
        if self.gpu.is_some() {
            return self.generate_on(g, true).await;
        }
        let existing = self.timing_gpu.borrow().clone();
        let model = match existing {
            Some(model) => model,
            None => {
                uploading();
                let model = Rc::new(GpuLlama::new(exec, &self.model)?);
                *self.timing_gpu.borrow_mut() = Some(model.clone());
                model
            }
        };
        let start = now_ms();
        let trace = model.generate(exec, g).await?;
        Ok((trace, now_ms() - start))
    }

    /// The same on a chosen backend (the GPU only if the session has one).
    pub async fn generate_on(
        &self,
        g: &Generation,
        gpu: bool,
    ) -> Result<(GenerationTrace, f64), ComputeError> {
        let start = now_ms();
        let trace = match (&self.gpu, gpu) {
            (Some((exec, model)), true) => model.generate(exec, g).await?,
            _ => generate_cpu(&self.model, g)?,
        };
        Ok((trace, now_ms() - start))
    }
}

thread_local! {
    static SESSION: RefCell<Option<Rc<LlamaSession>>> = const { RefCell::new(None) };
    static LOADING: InFlight<()> = InFlight::new();
}

/// Drops the loaded model, so the next request uploads again (after a lost
/// GPU).
pub fn forget_loaded() {
    SESSION.with(|s| *s.borrow_mut() = None);
}

/// The model, loading it if this page has not yet; the widgets ask at once
/// and it loads once.
pub async fn llama_session(
    backend: &Backend,
    on_progress: impl FnMut(u64, u64),
) -> Result<Rc<LlamaSession>, ModelLoadError> {
    crate::shell::live_backend::forget_on_recovery(forget_loaded);
    if let Some(s) = SESSION.with(|s| s.borrow().clone()) {
        return Ok(s);
    }
    if let Some(rx) = LOADING.with(|l| l.join(())) {
        let _ = rx.await;
        if let Some(s) = SESSION.with(|s| s.borrow().clone()) {
            return Ok(s);
        }
        return Box::pin(llama_session(backend, on_progress)).await;
    }
    let loaded = load(backend, on_progress).await;
    if let Ok(s) = &loaded {
        SESSION.with(|slot| *slot.borrow_mut() = Some(s.clone()));
    }
    LOADING.with(|l| l.finish(&()));
    loaded
}

fn unusable(source: ComputeError) -> ModelLoadError {
    ModelLoadError::Weights {
        model: "LLaMA",
        source,
    }
}

async fn load(
    backend: &Backend,
    on_progress: impl FnMut(u64, u64),
) -> Result<Rc<LlamaSession>, ModelLoadError> {
    let m = manifest().await?;
    let config_bytes = fetch_asset(CONFIG_PATH, &m, |_, _| {}).await?;
    let config: LlamaConfig =
        serde_json::from_slice(&config_bytes).map_err(|e| ModelLoadError::Metrics {
            model: "LLaMA",
            detail: e.to_string(),
        })?;
    let tokenizer = CharTokenizer::from_json(&fetch_asset(TOKENIZER_PATH, &m, |_, _| {}).await?)
        .map_err(unusable)?;
    if tokenizer.len() != config.vocab_size {
        return Err(unusable(ComputeError::Cpu(format!(
            "the vocabulary has {} tokens, the config {}",
            tokenizer.len(),
            config.vocab_size
        ))));
    }
    let s2t_bytes = fetch_asset(S2T_PATH, &m, |_, _| {}).await?;
    let s2t = SimplifiedToTraditional::parse(&String::from_utf8_lossy(&s2t_bytes));
    let bytes = fetch_asset(WEIGHTS_PATH, &m, on_progress).await?;
    let model = Arc::new(Llama::load(config, &bytes).map_err(unusable)?);
    let mut session = LlamaSession {
        model,
        tokenizer: Arc::new(tokenizer),
        s2t,
        gpu: None,
        timing_gpu: RefCell::new(None),
    };
    let Backend::Gpu(exec) = backend else {
        return Ok(Rc::new(session));
    };
    let on_gpu = match GpuLlama::new(exec, &session.model) {
        Ok(g) => g,
        Err(e) => {
            // The CPU path still works; say why the GPU is not used.
            leptos::logging::warn!("LLaMA stays on the CPU: {e}");
            return Ok(Rc::new(session));
        }
    };
    // In Auto, the faster at one seeded 五绝 (see live_backend).
    let probe = Generation::poem(Form::Wujue, Default::default(), 0);
    let chosen = family_backend(
        backend,
        "LLaMA",
        "per poem",
        async || generate_cpu(&session.model, &probe).map(drop),
        async || on_gpu.generate(exec, &probe).await.map(drop),
    )
    .await;
    if chosen.on_gpu() {
        session.gpu = Some((exec.clone(), on_gpu));
    }
    Ok(Rc::new(session))
}

/// What the trainer measured, from `assets/models/llama/tang.json`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct LlamaMetrics {
    pub test_nll_nats_per_char: f64,
    pub test_nll_nats_per_char_f32: f64,
    pub baseline_unigram_nats_per_char: f64,
    pub baseline_bigram_nats_per_char: f64,
    pub form_accuracy_t0_8: BTreeMap<String, f64>,
    pub params: u64,
    pub weights_bytes: u64,
    pub epochs: f64,
    pub train_seconds: f64,
    pub train_tokens_per_epoch: u64,
}

pub async fn llama_metrics() -> Result<LlamaMetrics, ModelLoadError> {
    let m = manifest().await?;
    let bytes = fetch_asset(METRICS_PATH, &m, |_, _| {}).await?;
    serde_json::from_slice(&bytes).map_err(|e| ModelLoadError::Metrics {
        model: "LLaMA",
        detail: e.to_string(),
    })
}

/// One run of the scaling grid.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct ScalingRun {
    pub params: f64,
    pub tokens: f64,
    pub test_nll: f64,
    pub flops: f64,
    pub seconds: f64,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct ScalingGrid {
    pub runs: Vec<ScalingRun>,
    pub fit: ScalingFit,
}

pub async fn scaling_grid() -> Result<ScalingGrid, ModelLoadError> {
    let m = manifest().await?;
    let bytes = fetch_asset(SCALING_PATH, &m, |_, _| {}).await?;
    serde_json::from_slice(&bytes).map_err(|e| ModelLoadError::Metrics {
        model: "LLaMA scaling",
        detail: e.to_string(),
    })
}
