//! Chapter 5's runs: LoRA adapters for the shipped Tang LLaMA, trained
//! on one held-out poet's poems, natively (candle on the CPU, or the WGSL
//! kernels on whatever GPU wgpu finds: lavapipe here).
//!
//! `lora` trains one adapter and writes it and its metrics under
//! target/lora/. `lora-table` runs the grid (3 poets × ranks 1–16 × q+v
//! or every matrix, one fixed budget), fine-tunes every parameter once per
//! poet as the reference point, and writes assets/models/lora/table.json
//! and the shipped adapters (rank 4 on W_q and W_v, one per poet).

use std::{path::Path, time::Instant};

use candle_core::{Device, Tensor};
use candle_nn::{AdamW as CandleAdamW, Optimizer, ParamsAdamW};
use compute::{
    models::llama::{
        lora::{
            cpu::{CpuTrainer, Frozen},
            data::{Batch, PoemSet, PoetData},
            gpu::GpuTrainer,
            shipped_path, Adapter, LoraConfig, Targets, SEED, TABLE_PATH,
        },
        Llama, LlamaConfig, CONFIG_PATH, TOKENIZER_PATH, WEIGHTS_PATH,
    },
    reference::backprop::AdamW,
    tang::{parse_corpus, CharTokenizer, HELD_OUT_POETS},
    weights::load,
    Executor, GpuContext,
};
use glassbox_train::llama::LlamaTrain;
use serde::Serialize;
use serde_json::json;

type Res<T> = Result<T, String>;

fn e(err: impl std::fmt::Display) -> String {
    err.to_string()
}

/// The recipe every run shares: batch, learning rate, α, seed. α stays 8
/// at every rank, as the LoRA paper keeps α fixed rather than retuning it.
pub const BATCH: usize = 16;
pub const LR: f32 = compute::models::llama::lora::PAGE_LR;
pub const ALPHA: f32 = 8.0;
/// The grid's budget: steps per run.
pub const TABLE_STEPS: usize = 300;
pub const RANKS: [usize; 5] = [1, 2, 4, 8, 16];
/// Full fine-tuning's learning rate: the base's own peak.
pub const FULL_LR: f64 = 1e-3;

/// The poets' ASCII names, for file names and the command line.
pub const POET_KEYS: [&str; 3] = ["baijuyi", "dufu", "libai"];

pub fn poet_index(name: &str) -> Res<usize> {
    HELD_OUT_POETS
        .iter()
        .position(|&p| p == name)
        .or_else(|| POET_KEYS.iter().position(|&p| p == name))
        .ok_or_else(|| {
            format!("--poet must be one of {HELD_OUT_POETS:?} or {POET_KEYS:?}, not {name:?}")
        })
}

pub struct Setup {
    pub model: Llama,
    pub poets: Vec<PoetData>,
}

impl Setup {
    pub fn load(root: &Path) -> Res<Setup> {
        let assets = root.join("assets");
        let read = |p: &str| std::fs::read(assets.join(p)).map_err(|x| format!("{p}: {x}"));
        let config: LlamaConfig = serde_json::from_slice(&read(CONFIG_PATH)?).map_err(e)?;
        let model = Llama::load(config, &read(WEIGHTS_PATH)?).map_err(e)?;
        let tokenizer = CharTokenizer::from_json(&read(TOKENIZER_PATH)?).map_err(e)?;
        let tsv = std::fs::read_to_string(assets.join("data/tang/poems.tsv"))
            .map_err(|x| format!("poems.tsv: {x}; run `cargo xtask data tang`"))?;
        let poems = parse_corpus(&tsv).map_err(e)?;
        let poets = HELD_OUT_POETS
            .iter()
            .map(|p| PoetData::new(&tokenizer, &poems, p))
            .collect();
        Ok(Setup { model, poets })
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct Run {
    pub poet: String,
    pub rank: usize,
    pub targets: String,
    pub trainable_params: usize,
    pub poet_nll_before: f64,
    pub poet_nll_after: f64,
    pub others_nll_before: f64,
    pub others_nll_after: f64,
    pub steps: usize,
    pub backend: String,
    pub seconds: f64,
    pub steps_per_second: f64,
    pub tokens_per_second: f64,
    pub first_loss: f32,
    pub last_loss: f32,
}

pub enum Backend {
    Cpu,
    Gpu(Box<Executor>),
}

impl Backend {
    pub fn parse(name: &str) -> Res<Backend> {
        match name {
            "cpu" => Ok(Backend::Cpu),
            "gpu" => {
                let ctx = pollster::block_on(GpuContext::new()).map_err(e)?;
                Ok(Backend::Gpu(Box::new(Executor::new(ctx))))
            }
            other => Err(format!("--backend takes cpu or gpu, not {other:?}")),
        }
    }

    fn name(&self) -> &'static str {
        match self {
            Backend::Cpu => "cpu (candle)",
            Backend::Gpu(_) => "gpu (wgpu)",
        }
    }
}

/// Held-out NLL before and after: (poet before, others before).
pub fn base_nll(setup: &Setup, frozen: &Frozen, poet: usize) -> Res<(f64, f64)> {
    let p = &setup.poets[poet];
    Ok((
        frozen.mean_nll(None, &p.test).map_err(e)?,
        frozen.mean_nll(None, &p.others_test).map_err(e)?,
    ))
}

/// Trains one adapter; the NLLs are the CPU's on the test splits.
#[allow(clippy::too_many_arguments)]
pub fn train_one(
    setup: &Setup,
    frozen: &Frozen,
    before: (f64, f64),
    poet: usize,
    lora: LoraConfig,
    steps: usize,
    lr: f32,
    backend: &Backend,
    mut log: impl FnMut(usize, f32),
) -> Res<(Run, Adapter)> {
    let data = &setup.poets[poet];
    let plan = data.train.plan(BATCH, steps, SEED);
    let fresh = Adapter::init(&setup.model.config, lora, SEED);
    let hyper = AdamW::with_lr(lr);
    let start = Instant::now();
    let mut losses = Vec::with_capacity(steps);
    let tokens: usize = plan.iter().map(Batch::scored).sum();
    let adapter = match backend {
        Backend::Cpu => {
            let mut t = CpuTrainer::new(Frozen::new(&setup.model).map_err(e)?, fresh, hyper);
            for (i, b) in plan.iter().enumerate() {
                let l = t.step(b).map_err(e)?;
                log(i + 1, l);
                losses.push(l);
            }
            t.adapter
        }
        Backend::Gpu(exec) => {
            let mut t = GpuTrainer::new(exec, &setup.model, &fresh, hyper).map_err(e)?;
            for (i, b) in plan.iter().enumerate() {
                let l = pollster::block_on(t.step(exec, b)).map_err(e)?;
                log(i + 1, l);
                losses.push(l);
            }
            pollster::block_on(t.adapter(exec)).map_err(e)?
        }
    };
    let seconds = start.elapsed().as_secs_f64();
    let run = Run {
        poet: data.poet.clone(),
        rank: lora.rank,
        targets: lora.targets.key().into(),
        trainable_params: lora.trainable_params(&setup.model.config),
        poet_nll_before: before.0,
        poet_nll_after: frozen.mean_nll(Some(&adapter), &data.test).map_err(e)?,
        others_nll_before: before.1,
        others_nll_after: frozen
            .mean_nll(Some(&adapter), &data.others_test)
            .map_err(e)?,
        steps,
        backend: backend.name().into(),
        seconds,
        steps_per_second: steps as f64 / seconds,
        tokens_per_second: tokens as f64 / seconds,
        first_loss: losses.first().copied().unwrap_or(0.0),
        last_loss: losses.last().copied().unwrap_or(0.0),
    };
    Ok((run, adapter))
}

/// `lora --poet P --rank R --targets qv|attn|all --steps N [--backend cpu|gpu] [--lr L] [--alpha A]`.
#[allow(clippy::too_many_arguments)]
pub fn lora(
    root: &Path,
    poet: &str,
    rank: usize,
    targets: &str,
    steps: usize,
    backend: &str,
    lr: f32,
    alpha: f32,
) -> Res<()> {
    let poet = poet_index(poet)?;
    let targets = Targets::from_key(targets)
        .ok_or_else(|| format!("--targets takes qv, attn or all, not {targets:?}"))?;
    let backend = Backend::parse(backend)?;
    let setup = Setup::load(root)?;
    let frozen = Frozen::new(&setup.model).map_err(e)?;
    let p = &setup.poets[poet];
    println!(
        "lora: {}: {} training poems, {} test, {} other poets' test poems",
        p.poet, p.train.poems, p.test.poems, p.others_test.poems
    );
    let before = base_nll(&setup, &frozen, poet)?;
    let lora = LoraConfig {
        rank,
        alpha,
        targets,
    };
    let (run, adapter) = train_one(
        &setup,
        &frozen,
        before,
        poet,
        lora,
        steps,
        lr,
        &backend,
        |s, l| {
            if s % 25 == 0 || s == 1 {
                println!("  step {s:>4}: loss {l:.4}");
            }
        },
    )?;
    let out = root.join("target/lora");
    std::fs::create_dir_all(&out).map_err(e)?;
    let name = format!("{}-r{rank}-{}", POET_KEYS[poet], targets.key());
    std::fs::write(
        out.join(format!("{name}.safetensors")),
        adapter.to_safetensors().map_err(e)?,
    )
    .map_err(e)?;
    let text = serde_json::to_string_pretty(&run).map_err(e)?;
    std::fs::write(out.join(format!("{name}.json")), &text).map_err(e)?;
    println!("{text}");
    Ok(())
}

/// Mean −log p per scored token of a fully trainable model over `set`.
fn full_nll(model: &LlamaTrain, set: &PoemSet) -> Res<f64> {
    let mut total = 0.0;
    for b in set.all_batches(32) {
        let t = Tensor::from_vec(b.tokens.clone(), (b.rows, b.len), &Device::Cpu).map_err(e)?;
        total += model
            .nll(&t)
            .and_then(|n| n.sum_all())
            .and_then(|n| n.to_scalar::<f32>())
            .map_err(e)? as f64;
    }
    Ok(total / set.scored_tokens as f64)
}

/// Every parameter trained on the same batches: the reference point.
fn full_fine_tune(setup: &Setup, poet: usize, steps: usize) -> Res<serde_json::Value> {
    let c = setup.model.config;
    let file = load(
        WEIGHTS_PATH,
        &std::fs::read(
            Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("../assets")
                .join(WEIGHTS_PATH),
        )
        .map_err(e)?,
        &c.specs(),
    )
    .map_err(e)?;
    let model = LlamaTrain::from_export(c, &file.tensors).map_err(e)?;
    let data = &setup.poets[poet];
    let before = (
        full_nll(&model, &data.test)?,
        full_nll(&model, &data.others_test)?,
    );
    let mut opt = CandleAdamW::new(
        model.vars(),
        ParamsAdamW {
            lr: FULL_LR,
            weight_decay: 0.0,
            ..Default::default()
        },
    )
    .map_err(e)?;
    let start = Instant::now();
    for b in data.train.plan(BATCH, steps, SEED) {
        let t = Tensor::from_vec(b.tokens.clone(), (b.rows, b.len), &Device::Cpu).map_err(e)?;
        let loss =
            (model.nll(&t).and_then(|n| n.sum_all()).map_err(e)? / b.scored() as f64).map_err(e)?;
        opt.backward_step(&loss).map_err(e)?;
    }
    let seconds = start.elapsed().as_secs_f64();
    Ok(json!({
        "poet": data.poet,
        "trainable_params": c.params(),
        "poet_nll_before": before.0,
        "poet_nll_after": full_nll(&model, &data.test)?,
        "others_nll_before": before.1,
        "others_nll_after": full_nll(&model, &data.others_test)?,
        "steps": steps,
        "learning_rate": FULL_LR,
        "seconds": seconds,
    }))
}

/// The grid, the full fine-tunes, the shipped adapters and the table.
pub fn table(root: &Path) -> Res<()> {
    let setup = Setup::load(root)?;
    let frozen = Frozen::new(&setup.model).map_err(e)?;
    let cpu = Backend::Cpu;
    std::fs::create_dir_all(root.join("assets").join(compute::models::llama::lora::DIR))
        .map_err(e)?;
    let mut rows = Vec::new();
    let mut full = Vec::new();
    for poet in 0..3 {
        let p = &setup.poets[poet];
        println!(
            "lora-table: {}: {} training poems, {} test poems, {} other poets' test poems",
            p.poet, p.train.poems, p.test.poems, p.others_test.poems
        );
        let before = base_nll(&setup, &frozen, poet)?;
        for targets in [Targets::Qv, Targets::All] {
            for rank in RANKS {
                let lora = LoraConfig {
                    rank,
                    alpha: ALPHA,
                    targets,
                };
                let (run, adapter) = train_one(
                    &setup,
                    &frozen,
                    before,
                    poet,
                    lora,
                    TABLE_STEPS,
                    LR,
                    &cpu,
                    |_, _| {},
                )?;
                println!(
                    "  r {rank:>2} {:<4}: {} params, poet {:.4} → {:.4}, others {:.4} → {:.4} ({:.0} s)",
                    targets.key(),
                    run.trainable_params,
                    run.poet_nll_before,
                    run.poet_nll_after,
                    run.others_nll_before,
                    run.others_nll_after,
                    run.seconds
                );
                if rank == 4 && targets == Targets::Qv {
                    std::fs::write(
                        root.join("assets").join(shipped_path(poet)),
                        adapter.to_safetensors().map_err(e)?,
                    )
                    .map_err(e)?;
                }
                rows.push(run);
            }
        }
        let f = full_fine_tune(&setup, poet, TABLE_STEPS)?;
        println!("  full fine-tune: {f}");
        full.push(f);
    }
    let table = json!({
        "about": format!(
            "Chapter 5's rank table: LoRA adapters on the shipped Tang LLaMA, each trained on one held-out poet's train and validation poems for {TABLE_STEPS} steps of {BATCH} poems (AdamW, lr {LR}, no weight decay, α = {ALPHA} at every rank, seed {SEED}), on the CPU with candle. NLLs are nats per scored token (characters and <eos>) on the test split (j % 20 == 19): the poet's own test poems, and every other poet's. targets: qv = W_q and W_v; all = every matrix of every block. full_fine_tune trains every parameter on the same batches (lr {FULL_LR}). Written by `cargo xtask train lora-table`."
        ),
        "recipe": {
            "batch": BATCH,
            "learning_rate": LR,
            "alpha": ALPHA,
            "steps": TABLE_STEPS,
            "seed": SEED,
            "weight_decay": 0.0,
        },
        "runs": rows,
        "full_fine_tune": full,
    });
    std::fs::create_dir_all(root.join("assets/models/lora")).map_err(e)?;
    std::fs::write(
        root.join("assets").join(TABLE_PATH),
        serde_json::to_string_pretty(&table).map_err(e)? + "\n",
    )
    .map_err(e)?;
    Ok(())
}
