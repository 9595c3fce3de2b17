//! The three GPU workloads the profile measures, natively (`cargo xtask
//! bench` → `target/bench/profile.json`) and on `/gpu`: a LoRA training
//! step at the page's settings, a LLaMA poem (reported per token), and a
//! DETR pass. Each runs once to warm up (pipelines, pooled buffers, bind
//! groups), then once profiled.

use serde::{Deserialize, Serialize};

use crate::{
    error::ComputeError,
    executor::Executor,
    inputs::SplitMix64,
    models::{
        detr::{gpu::DetrGpu, model::Detr, scenes::CANVAS},
        llama::{
            gpu::GpuLlama,
            lora::{
                data::Batch, gpu::GpuTrainer, Adapter, PAGE_BATCH, PAGE_DEFAULT, PAGE_LR, SEED,
            },
            sampling::{Generation, Sampling},
            Llama,
        },
    },
    profile::Profile,
    reference::backprop::AdamW,
    tang::Form,
};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Workload {
    LoraStep,
    LlamaPoem,
    DetrPass,
}

impl Workload {
    pub const ALL: [Workload; 3] = [Workload::LoraStep, Workload::LlamaPoem, Workload::DetrPass];

    pub fn slug(self) -> &'static str {
        match self {
            Workload::LoraStep => "lora-step",
            Workload::LlamaPoem => "llama-poem",
            Workload::DetrPass => "detr-pass",
        }
    }

    pub fn from_slug(slug: &str) -> Option<Workload> {
        Workload::ALL.into_iter().find(|w| w.slug() == slug)
    }
}

/// One workload's profile, and how many units (tokens, steps, passes) the
/// profiled run did, so costs can be read per unit.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Profiled {
    pub workload: Workload,
    pub units: usize,
    pub profile: Profile,
}

impl Profiled {
    pub fn dispatches_per_unit(&self) -> f64 {
        self.profile.dispatches() as f64 / self.units.max(1) as f64
    }
}

/// A batch of `PAGE_BATCH` 五绝-length rows of seeded token ids past the
/// specials: the page's shape (what a step costs does not depend on which
/// tokens they are).
pub fn page_shaped_batch(vocab: usize) -> Batch {
    let len = Form::Wujue.chars() + 3;
    let mut rng = SplitMix64::new(SEED);
    let tokens = (0..PAGE_BATCH * len)
        .map(|_| 7 + (rng.next_u64() % (vocab as u64 - 8)) as u32)
        .collect();
    Batch {
        form: Form::Wujue,
        rows: PAGE_BATCH,
        len,
        tokens,
    }
}

/// A LoRA step at the page's defaults (rank 4 on W_q and W_v, batch 8).
pub async fn lora_step(exec: &Executor, model: &Llama) -> Result<Profiled, ComputeError> {
    let adapter = Adapter::init(&model.config, PAGE_DEFAULT, SEED);
    let mut trainer = GpuTrainer::new(exec, model, &adapter, AdamW::with_lr(PAGE_LR))?;
    let batch = page_shaped_batch(model.config.vocab_size);
    trainer.step(exec, &batch).await?;
    exec.start_profile();
    let stepped = trainer.step(exec, &batch).await;
    let profile = exec.end_profile().await?;
    stepped?;
    Ok(Profiled {
        workload: Workload::LoraStep,
        units: 1,
        profile,
    })
}

/// A 五绝 drawn with seed 1; units are the tokens drawn.
pub async fn llama_poem(exec: &Executor, model: &Llama) -> Result<Profiled, ComputeError> {
    llama_poem_on(exec, model, true).await
}

/// The same poem with a kernel per operation (`GpuLlama::set_fused`): the
/// benchmark's "before" beside [`llama_poem`].
pub async fn llama_poem_separate(exec: &Executor, model: &Llama) -> Result<Profiled, ComputeError> {
    llama_poem_on(exec, model, false).await
}

async fn llama_poem_on(
    exec: &Executor,
    model: &Llama,
    fused: bool,
) -> Result<Profiled, ComputeError> {
    let gpu = GpuLlama::new(exec, model)?;
    gpu.set_fused(fused);
    let g = Generation::poem(Form::Wujue, Sampling::default(), 1);
    gpu.generate(exec, &g).await?;
    exec.start_profile();
    let trace = gpu.generate(exec, &g).await;
    let profile = exec.end_profile().await?;
    let trace = trace?;
    Ok(Profiled {
        workload: Workload::LlamaPoem,
        units: trace.tokens.len().saturating_sub(g.prompt.len()).max(1),
        profile,
    })
}

/// One pass over a seeded 96 × 96 image.
pub async fn detr_pass(exec: &Executor, model: &Detr) -> Result<Profiled, ComputeError> {
    let gpu = DetrGpu::upload(exec, model)?;
    let mut rng = SplitMix64::new(SEED);
    let image: Vec<f32> = (0..CANVAS * CANVAS)
        .map(|_| (rng.next_u64() % 256) as f32 / 255.0)
        .collect();
    gpu.forward(exec, &image).await?;
    exec.start_profile();
    let pass = gpu.forward(exec, &image).await;
    let profile = exec.end_profile().await?;
    pass?;
    Ok(Profiled {
        workload: Workload::DetrPass,
        units: 1,
        profile,
    })
}
