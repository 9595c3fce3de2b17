//! Chapter 9's detector in the browser: the weights downloaded once per
//! page (with progress), verified, parsed and uploaded to the live backend
//! once; the held-out faces and the backgrounds that make the scenes; and
//! the trainer's metrics.

use std::rc::Rc;

use compute::{
    faces::{
        scenes::{background_path, scene, Scene, BACKGROUNDS, SIDE},
        Atlas, Grey, HELD_OUT_ATLAS, HELD_OUT_PEOPLE,
    },
    kernels::spp::Window,
    models::spp::{
        config::{feature_side, spp_shape, METRICS_PATH, WEIGHTS_PATH},
        gpu::SppNetGpu,
        model::SppNet,
        race::{run, Lap, Pipeline, Runner},
        windows::{grid, PixelWindow},
    },
    reference::spp::spp_max_ref,
    Backend, ComputeError, Executor,
};
use serde::Deserialize;

use crate::{
    chapters::autoregressive::session::ModelLoadError,
    shell::{
        assets::{fetch_asset, manifest},
        in_flight::LoadOnce,
        live_backend::family_backend,
    },
};

/// The seed of the held-out scenes (`cargo xtask scenes faces`).
pub const SCENE_SEED: u64 = 29;

/// The detector on the page's backend.
pub enum SppRunner {
    Gpu {
        exec: Rc<Executor>,
        model: Box<SppNetGpu>,
    },
    Cpu(Box<SppNet>),
}

impl SppRunner {
    fn runner(&self) -> Runner<'_> {
        match self {
            SppRunner::Gpu { exec, model } => Runner::Gpu(exec, model),
            SppRunner::Cpu(net) => Runner::Cpu(net),
        }
    }

    /// One pipeline over `windows` of a SIDE × SIDE image, timed.
    pub async fn run(
        &self,
        pipeline: Pipeline,
        image: &[f32],
        windows: &[PixelWindow],
    ) -> Result<Lap, ComputeError> {
        run(&self.runner(), pipeline, image, windows).await
    }

    /// The last convolution's map of an image (channels last) and each
    /// window's pyramid, [windows, 21, 32].
    pub async fn pyramids(
        &self,
        image: &[f32],
        width: usize,
        height: usize,
        cells: &[Window],
    ) -> Result<(Vec<f32>, Vec<f32>), ComputeError> {
        match self {
            SppRunner::Gpu { exec, model } => {
                model
                    .features_and_pyramids(exec, image, width, height, cells)
                    .await
            }
            SppRunner::Cpu(net) => {
                compute::models::spp::model::check_image(image, width, height)?;
                let features = net.features_ref(image, 1, height, width)?;
                let shape = spp_shape(feature_side(height), feature_side(width));
                let pooled = spp_max_ref(&features, cells, shape)?;
                Ok((features, pooled))
            }
        }
    }

    /// The WebGPU adapter it runs on, or None on the CPU.
    pub fn adapter_name(&self) -> Option<String> {
        match self {
            SppRunner::Gpu { exec, .. } => Some(exec.ctx().summary().adapter_name),
            SppRunner::Cpu(_) => None,
        }
    }
}

thread_local! {
    static RUNNER: Rc<LoadOnce<SppRunner>> = Rc::new(LoadOnce::new());
    static FACES: Rc<LoadOnce<SceneSource>> = Rc::new(LoadOnce::new());
}

fn forget_loaded() {
    RUNNER.with(|r| r.forget());
}

/// The detector, loading it if this page has not yet.
pub async fn spp_runner(
    backend: &Backend,
    on_progress: impl FnMut(u64, u64),
) -> Result<Rc<SppRunner>, ModelLoadError> {
    crate::shell::live_backend::forget_on_recovery(forget_loaded);
    let once = RUNNER.with(Rc::clone);
    once.get_or_load(async || load(backend, on_progress).await)
        .await
}

async fn load(
    backend: &Backend,
    on_progress: impl FnMut(u64, u64),
) -> Result<SppRunner, ModelLoadError> {
    let weights = |source| ModelLoadError::Weights {
        model: "SPP-net",
        source,
    };
    let m = manifest().await?;
    let bytes = fetch_asset(WEIGHTS_PATH, &m, on_progress).await?;
    let net = SppNet::load(&bytes).map_err(weights)?;
    let Backend::Gpu(exec) = backend else {
        return Ok(SppRunner::Cpu(Box::new(net)));
    };
    let on_gpu = SppNetGpu::upload(exec, &net).map_err(weights)?;
    // In Auto, the faster at one SPP-net pass over a blank scene's grid.
    let blank = vec![0.0; SIDE * SIDE];
    let windows = grid();
    let chosen = family_backend(
        backend,
        "SPP-net",
        "per scene",
        async || net.spp_pipeline_ref(&blank, SIDE, SIDE, &windows).map(drop),
        async || {
            on_gpu
                .spp_pipeline(exec, &blank, SIDE, SIDE, &windows)
                .await
                .map(drop)
        },
    )
    .await;
    Ok(if chosen.on_gpu() {
        SppRunner::Gpu {
            model: Box::new(on_gpu),
            exec: exec.clone(),
        }
    } else {
        SppRunner::Cpu(Box::new(net))
    })
}

/// The held-out people's faces and the backgrounds: what the scenes are
/// made of.
pub struct SceneSource {
    pub atlas: Atlas,
    pub backgrounds: Vec<Grey>,
}

impl SceneSource {
    /// Held-out scene `k` of the test seed, as `cargo xtask scenes faces`
    /// writes it.
    pub fn scene(&self, k: u64) -> Result<Scene, ModelLoadError> {
        scene(&self.atlas, &self.backgrounds, SCENE_SEED, k).map_err(faces_error)
    }
}

fn faces_error(e: compute::faces::FacesError) -> ModelLoadError {
    ModelLoadError::Data {
        what: "ORL faces",
        detail: e.to_string(),
    }
}

pub async fn scene_source() -> Result<Rc<SceneSource>, ModelLoadError> {
    let once = FACES.with(Rc::clone);
    once.get_or_load(async || {
        let m = manifest().await?;
        let atlas = Atlas::from_png(
            &fetch_asset(HELD_OUT_ATLAS, &m, |_, _| {}).await?,
            *HELD_OUT_PEOPLE.start(),
        )
        .map_err(faces_error)?;
        let mut backgrounds = Vec::new();
        for name in BACKGROUNDS {
            let bytes = fetch_asset(&background_path(name), &m, |_, _| {}).await?;
            backgrounds.push(Grey::from_png(&bytes).map_err(faces_error)?);
        }
        Ok(SceneSource { atlas, backgrounds })
    })
    .await
}

/// What the trainer measured, from `assets/models/spp/spp.json`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct SppMetrics {
    pub test_scenes: u64,
    pub spp: PipelineMetrics,
    pub rcnn: PipelineMetrics,
    pub params: u64,
    pub weights_bytes: u64,
    pub steps: u64,
    pub scenes_seen: u64,
    pub train_seconds: f64,
    pub windows_per_scene: u64,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct PipelineMetrics {
    pub ap: f64,
    pub ap50: f64,
    pub ap75: f64,
}

pub async fn spp_metrics() -> Result<SppMetrics, ModelLoadError> {
    let m = manifest().await?;
    let bytes = fetch_asset(METRICS_PATH, &m, |_, _| {}).await?;
    serde_json::from_slice(&bytes).map_err(|e| ModelLoadError::Metrics {
        model: "SPP-net",
        detail: e.to_string(),
    })
}
