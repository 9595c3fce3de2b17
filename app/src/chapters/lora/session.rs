//! Chapter 5's session: chapter 4's model (shared with its page), the Tang
//! corpus cut into the three held-out poets' poems, the shipped adapters
//! and the rank table; the trainer on the page's backend; and the adapter
//! the visitor trained or uploaded, which every widget on the page sees.

use std::{cell::RefCell, rc::Rc, sync::Arc};

use compute::{
    models::llama::lora::{
        cpu::{CpuTrainer, Frozen},
        data::{Batch, PoemSet, PoetData},
        gpu::GpuTrainer,
        report::RankTable,
        shipped_path, Adapter, TABLE_PATH,
    },
    reference::backprop::AdamW,
    tang::{decode_corpus, CORPUS_PATH, HELD_OUT_POETS},
    Backend, ComputeError, Executor,
};
use leptos::prelude::*;

use crate::{
    chapters::{
        autoregressive::session::ModelLoadError,
        llama::session::{llama_session, LlamaSession},
    },
    shell::{
        assets::{fetch_asset, manifest},
        in_flight::InFlight,
    },
};

pub use compute::models::llama::lora::{PAGE_BATCH, SEED};
/// Held-out poems per form the page evaluates on: the first this many of
/// each form, so the curve's points are comparable and quick.
pub const EVAL_PER_FORM: usize = 4;

pub struct LoraSession {
    pub llama: Rc<LlamaSession>,
    /// Per held-out poet (in `HELD_OUT_POETS` order).
    pub poets: Vec<PoetData>,
    /// The shipped adapters, one per poet.
    pub shipped: Vec<Arc<Adapter>>,
    /// The base on the CPU as candle tensors, for NLLs and the merge check.
    pub frozen: Frozen,
}

impl LoraSession {
    /// The poet's held-out poems the page scores, and the other poets'.
    pub fn eval_sets(&self, poet: usize) -> (PoemSet, PoemSet) {
        let p = &self.poets[poet];
        (
            p.test.first(EVAL_PER_FORM),
            p.others_test.first(EVAL_PER_FORM),
        )
    }
}

thread_local! {
    static SESSION: RefCell<Option<Rc<LoraSession>>> = const { RefCell::new(None) };
    static LOADING: InFlight<()> = InFlight::new();
}

/// The adapter the visitor trained or uploaded: one per tab, shared by the
/// widgets (training writes it, the others read it). Widgets are siblings,
/// so a context would not reach across them; the signal lives here and each
/// widget holds a handle owned by itself.
#[derive(Clone, Copy)]
pub struct Yours(pub RwSignal<Option<Arc<Adapter>>>);

thread_local! {
    static YOURS: ArcRwSignal<Option<Arc<Adapter>>> = ArcRwSignal::new(None);
}

impl Yours {
    pub fn provide() -> Yours {
        Yours(YOURS.with(|y| y.clone()).into())
    }
}

pub async fn lora_session(
    backend: &Backend,
    on_progress: impl FnMut(u64, u64) + Clone,
) -> Result<Rc<LoraSession>, ModelLoadError> {
    if let Some(s) = SESSION.with(|s| s.borrow().clone()) {
        return Ok(s);
    }
    if let Some(rx) = LOADING.with(|l| l.join(())) {
        let _ = rx.await;
        if let Some(s) = SESSION.with(|s| s.borrow().clone()) {
            return Ok(s);
        }
        return Err(ModelLoadError::Weights {
            model: "LoRA",
            source: ComputeError::Cpu("the chapter's data did not load".into()),
        });
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
        model: "LoRA",
        source,
    }
}

async fn load(
    backend: &Backend,
    on_progress: impl FnMut(u64, u64) + Clone,
) -> Result<Rc<LoraSession>, ModelLoadError> {
    let llama = llama_session(backend, on_progress.clone()).await?;
    let m = manifest().await?;
    let corpus =
        decode_corpus(&fetch_asset(CORPUS_PATH, &m, on_progress).await?).map_err(unusable)?;
    let poets = HELD_OUT_POETS
        .iter()
        .map(|p| PoetData::new(&llama.tokenizer, &corpus, p))
        .collect();
    let mut shipped = Vec::new();
    for poet in 0..HELD_OUT_POETS.len() {
        let path = shipped_path(poet);
        let bytes = fetch_asset(&path, &m, |_, _| {}).await?;
        let adapter = Adapter::from_safetensors(&path, &llama.model.config, &bytes)
            .map_err(|e| unusable(ComputeError::Cpu(e.to_string())))?;
        shipped.push(Arc::new(adapter));
    }
    let frozen = Frozen::new(&llama.model).map_err(unusable)?;
    Ok(Rc::new(LoraSession {
        llama,
        poets,
        shipped,
        frozen,
    }))
}

pub async fn rank_table() -> Result<RankTable, ModelLoadError> {
    let m = manifest().await?;
    let bytes = fetch_asset(TABLE_PATH, &m, |_, _| {}).await?;
    serde_json::from_slice(&bytes).map_err(|e| ModelLoadError::Metrics {
        model: "LoRA",
        detail: e.to_string(),
    })
}

/// Training on the page's backend: the WGSL kernels on WebGPU, candle's
/// autodiff on the CPU.
pub enum Trainer {
    Gpu(Rc<Executor>, Box<GpuTrainer>),
    Cpu(Box<CpuTrainer>),
}

impl Trainer {
    /// On `exec` when given (the page's WebGPU device), else on the CPU.
    /// Training does not follow decoding's calibration: a software GPU
    /// that loses at writing one poem still trains here, which is the
    /// chapter's point.
    pub fn new(
        session: &LoraSession,
        exec: Option<Rc<Executor>>,
        adapter: &Adapter,
        hyper: AdamW,
    ) -> Result<Trainer, ComputeError> {
        let model = &session.llama.model;
        match exec {
            Some(exec) => {
                let t = GpuTrainer::new(&exec, model, adapter, hyper)?;
                Ok(Trainer::Gpu(exec, Box::new(t)))
            }
            None => Ok(Trainer::Cpu(Box::new(CpuTrainer::new(
                Frozen::new(model)?,
                adapter.clone(),
                hyper,
            )))),
        }
    }

    pub fn on_gpu(&self) -> bool {
        matches!(self, Trainer::Gpu(..))
    }

    /// One AdamW step; the batch's mean loss before it.
    pub async fn step(&mut self, batch: &Batch) -> Result<f32, ComputeError> {
        match self {
            Trainer::Gpu(exec, t) => t.step(exec, batch).await,
            Trainer::Cpu(t) => t.step(batch),
        }
    }

    pub async fn mean_nll(&mut self, set: &PoemSet) -> Result<f64, ComputeError> {
        match self {
            Trainer::Gpu(exec, t) => t.mean_nll(exec, set).await,
            Trainer::Cpu(t) => {
                let adapter = t.adapter.clone();
                t.frozen.mean_nll(Some(&adapter), set)
            }
        }
    }

    pub async fn adapter(&self) -> Result<Adapter, ComputeError> {
        match self {
            Trainer::Gpu(exec, t) => t.adapter(exec).await,
            Trainer::Cpu(t) => Ok(t.adapter.clone()),
        }
    }
}
