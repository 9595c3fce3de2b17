//! Chapter 3's detector in the browser: the weights downloaded once per page
//! (with progress), verified, parsed, and uploaded to the live backend once;
//! and the trainer's metrics.

use std::{cell::RefCell, rc::Rc};

use compute::{
    models::detr::{
        config::{METRICS_PATH, WEIGHTS_PATH},
        gpu::DetrGpu,
        model::{Detr, DetrTrace, Pipeline},
        scenes::CANVAS,
    },
    Backend, ComputeError, Executor,
};
use serde::Deserialize;

use crate::{
    chapters::autoregressive::session::ModelLoadError,
    i18n::{td_string, Locale},
    shell::{
        assets::{fetch_asset, manifest},
        in_flight::InFlight,
        live_backend::family_backend,
    },
};

/// The detector on the page's backend.
pub enum DetrRunner {
    Gpu {
        exec: Rc<Executor>,
        model: Box<DetrGpu>,
    },
    Cpu(Box<Detr>),
}

impl DetrRunner {
    /// One forward pass, and how long it took in milliseconds (on the GPU:
    /// upload, submission and the single readback).
    pub async fn detect(&self, image: &[f32]) -> Result<(DetrTrace, f64), ComputeError> {
        let start = now_ms();
        let trace = match self {
            DetrRunner::Gpu { exec, model } => model.forward(exec, image).await?,
            DetrRunner::Cpu(model) => model.forward_ref(image)?,
        };
        Ok((trace, now_ms() - start))
    }

    /// One forward pass that also keeps every stage's activations (still
    /// one readback on the GPU), and how long it took.
    pub async fn detect_stages(
        &self,
        image: &[f32],
    ) -> Result<(DetrTrace, Pipeline, f64), ComputeError> {
        let start = now_ms();
        let (trace, pipeline) = match self {
            DetrRunner::Gpu { exec, model } => model.forward_stages(exec, image).await?,
            DetrRunner::Cpu(model) => model.forward_stages(image)?,
        };
        Ok((trace, pipeline, now_ms() - start))
    }

    /// The WebGPU adapter it runs on, or None on the CPU; see [`backend_name`].
    pub fn adapter_name(&self) -> Option<String> {
        match self {
            DetrRunner::Gpu { exec, .. } => Some(exec.ctx().summary().adapter_name),
            DetrRunner::Cpu(_) => None,
        }
    }
}

/// Where a pass ran, in the page's language: "WebGPU (adapter)", or the CPU.
pub fn backend_name(adapter: Option<&str>, locale: Locale) -> String {
    match adapter {
        Some(a) => format!("WebGPU ({a})"),
        None => td_string!(locale, detr.backend_cpu).to_string(),
    }
}

pub fn now_ms() -> f64 {
    web_sys::window()
        .and_then(|w| w.performance())
        .map_or(0.0, |p| p.now())
}

thread_local! {
    static RUNNER: RefCell<Option<Rc<DetrRunner>>> = const { RefCell::new(None) };
    static LOADING: InFlight<()> = InFlight::new();
}

/// Drops the loaded detector, so the next request uploads again (after a
/// lost GPU).
pub fn forget_loaded() {
    RUNNER.with(|r| *r.borrow_mut() = None);
}

/// The detector, loading it if this page has not yet; the page's widgets
/// ask at once and it loads once.
pub async fn detr_runner(
    backend: &Backend,
    on_progress: impl FnMut(u64, u64),
) -> Result<Rc<DetrRunner>, ModelLoadError> {
    crate::shell::live_backend::forget_on_recovery(forget_loaded);
    if let Some(r) = RUNNER.with(|r| r.borrow().clone()) {
        return Ok(r);
    }
    if let Some(rx) = LOADING.with(|l| l.join(())) {
        let _ = rx.await;
        if let Some(r) = RUNNER.with(|r| r.borrow().clone()) {
            return Ok(r);
        }
        return Box::pin(detr_runner(backend, on_progress)).await;
    }
    let loaded = load(backend, on_progress).await;
    if let Ok(r) = &loaded {
        RUNNER.with(|slot| *slot.borrow_mut() = Some(r.clone()));
    }
    LOADING.with(|l| l.finish(&()));
    loaded
}

async fn load(
    backend: &Backend,
    on_progress: impl FnMut(u64, u64),
) -> Result<Rc<DetrRunner>, ModelLoadError> {
    let m = manifest().await?;
    let bytes = fetch_asset(WEIGHTS_PATH, &m, on_progress).await?;
    let model = Detr::load(&bytes).map_err(|source| ModelLoadError::Weights {
        model: "DETR",
        source,
    })?;
    let Backend::Gpu(exec) = backend else {
        return Ok(Rc::new(DetrRunner::Cpu(Box::new(model))));
    };
    // In Auto, the faster at one pass over a blank canvas (see live_backend).
    let on_gpu = DetrGpu::upload(exec, &model).map_err(|source| ModelLoadError::Weights {
        model: "DETR",
        source,
    })?;
    let blank = vec![0.0; CANVAS * CANVAS];
    let chosen = family_backend(
        backend,
        "DETR",
        "per pass",
        async || model.forward_ref(&blank).map(drop),
        async || on_gpu.forward(exec, &blank).await.map(drop),
    )
    .await;
    Ok(Rc::new(if chosen.on_gpu() {
        DetrRunner::Gpu {
            model: Box::new(on_gpu),
            exec: exec.clone(),
        }
    } else {
        DetrRunner::Cpu(Box::new(model))
    }))
}

/// What the trainer measured, from `assets/models/detr/detr.json`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct DetrMetrics {
    pub test_ap: f64,
    pub test_ap50: f64,
    pub test_ap75: f64,
    pub test_scenes: u64,
    pub params: u64,
    pub weights_bytes: u64,
    pub steps: u64,
    pub scenes_seen: u64,
    pub train_seconds: f64,
}

pub async fn detr_metrics() -> Result<DetrMetrics, ModelLoadError> {
    let m = manifest().await?;
    let bytes = fetch_asset(METRICS_PATH, &m, |_, _| {}).await?;
    serde_json::from_slice(&bytes).map_err(|e| ModelLoadError::Metrics {
        model: "DETR",
        detail: e.to_string(),
    })
}
