//! Chapter 7 in the browser: chapter 4's model (shared with its page's
//! loader) and the instruction-tuned one beside it, on the same backend;
//! the instruction vocabulary, built here from chapter 4's, the seed
//! phrasings and OpenCC's table exactly as the trainer built it; and the
//! trainer's measurements, held-out instructions and self-instruct pool.

use std::{cell::RefCell, rc::Rc, sync::Arc};

use compute::{
    instruct::{
        model::{
            parse_held_out, parse_pool, seed_pool, tuned_config, CONFIG_PATH, HELD_OUT_PATH,
            METRICS_PATH, POOL_PATH, WEIGHTS_PATH,
        },
        rouge::tokens,
        seeds::{parse_seeds, SEEDS_PATH},
        vocab::InstructVocab,
        Kind, Scripts,
    },
    models::llama::{
        gpu::GpuLlama,
        sampling::{generate_cpu, Generation, GenerationTrace},
        Llama, LlamaConfig,
    },
    Backend, ComputeError, Executor,
};
use serde::Deserialize;

use crate::{
    chapters::{
        autoregressive::session::ModelLoadError,
        llama::session::{llama_session, LlamaSession, S2T_PATH},
    },
    shell::{
        assets::{fetch_asset, manifest},
        in_flight::InFlight,
    },
};

pub struct InstructSession {
    /// Chapter 4's model, as its own page loads it.
    pub base: Rc<LlamaSession>,
    pub tuned: Arc<Llama>,
    tuned_gpu: Option<(Rc<Executor>, GpuLlama)>,
    pub vocab: InstructVocab,
    pub scripts: Scripts,
    pub held_out: Vec<(Kind, String)>,
}

impl InstructSession {
    /// The tuned model's draw on the page's backend: the GPU when chapter
    /// 4's model is there too.
    pub async fn tuned(&self, g: &Generation) -> Result<GenerationTrace, ComputeError> {
        match &self.tuned_gpu {
            Some((exec, model)) => model.generate(exec, g).await,
            None => generate_cpu(&self.tuned, g),
        }
    }

    pub fn on_gpu(&self) -> bool {
        self.tuned_gpu.is_some()
    }
}

thread_local! {
    static SESSION: RefCell<Option<Rc<InstructSession>>> = const { RefCell::new(None) };
    static LOADING: InFlight<()> = InFlight::new();
}

/// Drops the loaded models, so the next request uploads again (after a
/// lost GPU).
pub fn forget_loaded() {
    SESSION.with(|s| *s.borrow_mut() = None);
}

pub async fn instruct_session(
    backend: &Backend,
    mut on_progress: impl FnMut(u64, u64),
) -> Result<Rc<InstructSession>, ModelLoadError> {
    crate::shell::live_backend::forget_on_recovery(forget_loaded);
    if let Some(s) = SESSION.with(|s| s.borrow().clone()) {
        return Ok(s);
    }
    if let Some(rx) = LOADING.with(|l| l.join(())) {
        let _ = rx.await;
        if let Some(s) = SESSION.with(|s| s.borrow().clone()) {
            return Ok(s);
        }
        return Box::pin(instruct_session(backend, on_progress)).await;
    }
    let loaded = load(backend, &mut on_progress).await;
    if let Ok(s) = &loaded {
        SESSION.with(|slot| *slot.borrow_mut() = Some(s.clone()));
    }
    LOADING.with(|l| l.finish(&()));
    loaded
}

fn unusable(source: ComputeError) -> ModelLoadError {
    ModelLoadError::Weights {
        model: "instruction-tuned LLaMA",
        source,
    }
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

async fn load(
    backend: &Backend,
    on_progress: &mut impl FnMut(u64, u64),
) -> Result<Rc<InstructSession>, ModelLoadError> {
    // Both models' bytes count toward one bar: chapter 4's first.
    let m = manifest().await?;
    let size = |p: &str| m.entry(p).map_or(0, |e| e.bytes);
    let (base_bytes, tuned_bytes) = (
        size(compute::models::llama::WEIGHTS_PATH),
        size(WEIGHTS_PATH),
    );
    let total = base_bytes + tuned_bytes;
    let base = llama_session(backend, |l, _| on_progress(l, total)).await?;
    let scripts = Scripts::from_opencc(&text(&fetch_asset(S2T_PATH, &m, |_, _| {}).await?));
    let seeds =
        parse_seeds(&text(&fetch_asset(SEEDS_PATH, &m, |_, _| {}).await?)).map_err(unusable)?;
    let vocab = InstructVocab::build((*base.tokenizer).clone(), &seeds, &scripts);
    let config: LlamaConfig =
        serde_json::from_slice(&fetch_asset(CONFIG_PATH, &m, |_, _| {}).await?).map_err(|e| {
            ModelLoadError::Metrics {
                model: "instruction-tuned LLaMA",
                detail: e.to_string(),
            }
        })?;
    if config != tuned_config(base.model.config, &vocab) {
        return Err(unusable(ComputeError::Cpu(format!(
            "the config does not fit chapter 4's model and the {} instruction tokens",
            vocab.len()
        ))));
    }
    let bytes = fetch_asset(WEIGHTS_PATH, &m, |l, _| on_progress(base_bytes + l, total)).await?;
    let tuned = Arc::new(Llama::load(config, &bytes).map_err(unusable)?);
    let held_out = parse_held_out(&text(&fetch_asset(HELD_OUT_PATH, &m, |_, _| {}).await?))
        .map_err(unusable)?;
    let tuned_gpu = match backend {
        Backend::Gpu(exec) if base.on_gpu() => match GpuLlama::new(exec, &tuned) {
            Ok(g) => Some((exec.clone(), g)),
            Err(e) => {
                leptos::logging::warn!("the tuned LLaMA stays on the CPU: {e}");
                None
            }
        },
        _ => None,
    };
    Ok(Rc::new(InstructSession {
        base,
        tuned,
        tuned_gpu,
        vocab,
        scripts,
        held_out,
    }))
}

/// Self-instruct's pool: the seeds filled once, then round 1's kept
/// instructions. A few kilobytes, so the nearest-instruction list needs
/// neither model.
pub struct Pool {
    pub texts: Vec<String>,
    pub tokens: Vec<Vec<char>>,
    /// How many of `texts` are seeds.
    pub seeds: usize,
}

thread_local! {
    static POOL: RefCell<Option<Rc<Pool>>> = const { RefCell::new(None) };
}

pub async fn instruct_pool() -> Result<Rc<Pool>, ModelLoadError> {
    if let Some(p) = POOL.with(|p| p.borrow().clone()) {
        return Ok(p);
    }
    let m = manifest().await?;
    let seeds =
        parse_seeds(&text(&fetch_asset(SEEDS_PATH, &m, |_, _| {}).await?)).map_err(unusable)?;
    let mut texts = seed_pool(&seeds);
    let seeds = texts.len();
    texts.extend(parse_pool(&text(
        &fetch_asset(POOL_PATH, &m, |_, _| {}).await?,
    )));
    let pool = Rc::new(Pool {
        tokens: texts.iter().map(|t| tokens(t)).collect(),
        texts,
        seeds,
    });
    POOL.with(|p| *p.borrow_mut() = Some(pool.clone()));
    Ok(pool)
}

/// One type's row of the accuracy table.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct KindAccuracy {
    pub n: usize,
    pub base: f64,
    pub tuned: f64,
    /// Chapter 4's forced decoding; none for an exclusion.
    pub forced: Option<f64>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct AccuracyTable {
    pub per_kind: std::collections::BTreeMap<String, KindAccuracy>,
    pub average_base: f64,
    pub average_tuned: f64,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct Accuracy {
    pub temperature: f64,
    pub seed: u64,
    pub table: AccuracyTable,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct Forgetting {
    pub test_poems: usize,
    pub base_nats_per_token: f64,
    pub tuned_nats_per_token: f64,
    pub difference: f64,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct Funnel {
    pub attempts: usize,
    pub generated: usize,
    pub length_and_blacklist: usize,
    pub parsed: usize,
    pub novel: usize,
    pub answered_correctly: usize,
    pub kept: usize,
    pub seeds_in_pool: usize,
    pub dropped_examples: std::collections::BTreeMap<String, Vec<String>>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct Round0 {
    pub poems: usize,
    pub pairs: usize,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct Recipe {
    pub lora_rank: usize,
    pub lora_alpha: f64,
    pub batch: usize,
    pub learning_rate: f64,
    pub round0_steps: usize,
    pub round1_steps: usize,
    pub trainable_lora_params: usize,
    pub trainable_new_row_params: usize,
    pub trainable_params: usize,
    pub base_params: usize,
    pub new_tokens: usize,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct Training {
    pub training_seconds: f64,
}

/// What the trainer measured, from `assets/models/instruct/metrics.json`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct InstructMetrics {
    pub recipe: Recipe,
    pub round0: Round0,
    pub funnel: Funnel,
    pub accuracy: Accuracy,
    pub forgetting: Forgetting,
    pub training: Training,
}

pub async fn instruct_metrics() -> Result<InstructMetrics, ModelLoadError> {
    let m = manifest().await?;
    let bytes = fetch_asset(METRICS_PATH, &m, |_, _| {}).await?;
    serde_json::from_slice(&bytes).map_err(|e| ModelLoadError::Metrics {
        model: "instruction-tuned LLaMA",
        detail: e.to_string(),
    })
}
