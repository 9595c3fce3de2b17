//! Chapter 8 in the browser: the rules' tables (平水韵, OpenCC), the
//! trainer's measurements, and, for writing and labelling, chapter 4's
//! model (shared with its page), the shipped DPO and PPO adapters, and the
//! base on the CPU as candle tensors (π_ref's log-probabilities for the
//! visitor's pairs). The tables and metrics load without the model, so the
//! checker and the charts come up fast.

use std::{cell::RefCell, rc::Rc, sync::Arc};

use compute::{
    align::{
        metrics::{adapter_path, Metrics, RmReport, METRICS_PATH, RM_REPORT_PATH},
        rules::{ToneTable, TABLE_PATH},
    },
    models::llama::lora::{cpu::Frozen, Adapter},
    tang::{decode_corpus, Poem, SimplifiedToTraditional, CORPUS_PATH},
    Backend, ComputeError,
};

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

/// The rules' tables: light, for the checker.
pub struct Rules {
    pub table: ToneTable,
    pub s2t: SimplifiedToTraditional,
}

pub struct AlignSession {
    pub llama: Rc<LlamaSession>,
    pub rules: Rc<Rules>,
    pub metrics: Rc<Metrics>,
    /// The best DPO and PPO runs within the KL budget, if trained.
    pub dpo: Option<Arc<Adapter>>,
    pub ppo: Option<Arc<Adapter>>,
    pub frozen: Rc<Frozen>,
}

thread_local! {
    static RULES: RefCell<Option<Rc<Rules>>> = const { RefCell::new(None) };
    static METRICS: RefCell<Option<Rc<Metrics>>> = const { RefCell::new(None) };
    static CORPUS: RefCell<Option<Rc<Vec<Poem>>>> = const { RefCell::new(None) };
    static SESSION: RefCell<Option<Rc<AlignSession>>> = const { RefCell::new(None) };
    static LOADING: InFlight<()> = InFlight::new();
}

fn unusable(what: &'static str, detail: String) -> ModelLoadError {
    ModelLoadError::Metrics {
        model: what,
        detail,
    }
}

pub async fn rules() -> Result<Rc<Rules>, ModelLoadError> {
    if let Some(r) = RULES.with(|r| r.borrow().clone()) {
        return Ok(r);
    }
    let m = manifest().await?;
    let table = fetch_asset(TABLE_PATH, &m, |_, _| {}).await?;
    let s2t = fetch_asset(S2T_PATH, &m, |_, _| {}).await?;
    let table = ToneTable::parse(&String::from_utf8_lossy(&table))
        .map_err(|e| unusable("平水韵 table", e.to_string()))?;
    let rules = Rc::new(Rules {
        table,
        s2t: SimplifiedToTraditional::parse(&String::from_utf8_lossy(&s2t)),
    });
    RULES.with(|r| *r.borrow_mut() = Some(rules.clone()));
    Ok(rules)
}

pub async fn align_metrics() -> Result<Rc<Metrics>, ModelLoadError> {
    if let Some(m) = METRICS.with(|m| m.borrow().clone()) {
        return Ok(m);
    }
    let manifest = manifest().await?;
    let bytes = fetch_asset(METRICS_PATH, &manifest, |_, _| {}).await?;
    let metrics = Rc::new(Metrics::parse(&bytes).map_err(|e| unusable("alignment", e))?);
    METRICS.with(|m| *m.borrow_mut() = Some(metrics.clone()));
    Ok(metrics)
}

pub async fn rm_report() -> Result<RmReport, ModelLoadError> {
    let m = manifest().await?;
    let bytes = fetch_asset(RM_REPORT_PATH, &m, |_, _| {}).await?;
    RmReport::parse(&bytes).map_err(|e| unusable("reward model", e))
}

/// The kept Tang poems, for the checker's "from the corpus".
pub async fn corpus(on_progress: impl FnMut(u64, u64)) -> Result<Rc<Vec<Poem>>, ModelLoadError> {
    if let Some(c) = CORPUS.with(|c| c.borrow().clone()) {
        return Ok(c);
    }
    let m = manifest().await?;
    let bytes = fetch_asset(CORPUS_PATH, &m, on_progress).await?;
    let poems = Rc::new(decode_corpus(&bytes).map_err(|e| unusable("Tang corpus", e.to_string()))?);
    CORPUS.with(|c| *c.borrow_mut() = Some(poems.clone()));
    Ok(poems)
}

/// Drops the loaded models, so the next request uploads again (after a
/// lost GPU).
pub fn forget_loaded() {
    SESSION.with(|s| *s.borrow_mut() = None);
}

pub async fn align_session(
    backend: &Backend,
    on_progress: impl FnMut(u64, u64) + Clone,
) -> Result<Rc<AlignSession>, ModelLoadError> {
    crate::shell::live_backend::forget_on_recovery(forget_loaded);
    if let Some(s) = SESSION.with(|s| s.borrow().clone()) {
        return Ok(s);
    }
    if let Some(rx) = LOADING.with(|l| l.join(())) {
        let _ = rx.await;
        if let Some(s) = SESSION.with(|s| s.borrow().clone()) {
            return Ok(s);
        }
        return Err(unusable(
            "alignment",
            "the chapter's models did not load".into(),
        ));
    }
    let loaded = load(backend, on_progress).await;
    if let Ok(s) = &loaded {
        SESSION.with(|slot| *slot.borrow_mut() = Some(s.clone()));
    }
    LOADING.with(|l| l.finish(&()));
    loaded
}

async fn load(
    backend: &Backend,
    on_progress: impl FnMut(u64, u64) + Clone,
) -> Result<Rc<AlignSession>, ModelLoadError> {
    let llama = llama_session(backend, on_progress).await?;
    let rules = rules().await?;
    let metrics = align_metrics().await?;
    let m = manifest().await?;
    let mut best = Vec::new();
    for method in ["dpo", "ppo"] {
        best.push(match metrics.best(method) {
            Some(run) => {
                let path = adapter_path(&run.key);
                let bytes = fetch_asset(&path, &m, |_, _| {}).await?;
                let adapter = Adapter::from_safetensors(&path, &llama.model.config, &bytes)
                    .map_err(|e| ModelLoadError::Weights {
                        model: "alignment adapter",
                        source: ComputeError::Cpu(e.to_string()),
                    })?;
                Some(Arc::new(adapter))
            }
            None => None,
        });
    }
    let frozen = Frozen::new(&llama.model).map_err(|source| ModelLoadError::Weights {
        model: "LLaMA",
        source,
    })?;
    let ppo = best.pop().flatten();
    let dpo = best.pop().flatten();
    Ok(Rc::new(AlignSession {
        llama,
        rules,
        metrics,
        dpo,
        ppo,
        frozen: Rc::new(frozen),
    }))
}
