//! Chapter 8's runs: `glassbox-train align --method base|rm|dpo|ppo|best-of-n`.
//! Each aligns chapter 4's model (frozen; π_ref, the SFT stage) toward the
//! tone rules with a LoRA adapter, and every run is scored the same way
//! against the true reward (`compute::align::rules`): 800 seeded samples at
//! T = 0.8, 200 per form, and KL(π‖π_ref) per poem estimated from them.
//! Each run writes its adapter and its entry in
//! `assets/models/align/metrics.json`.
//!
//! - Preference pairs: K poems per form prompt from the base at T = 1,
//!   ranked by the true reward; every pair with different rewards. Cached
//!   under the target directory (seeded, so the cache only saves minutes).
//! - `rm`: a Bradley–Terry reward model: the base's trunk with a LoRA and a
//!   scalar head on the `<eos>` position.
//! - `dpo --beta B`: compute's `CpuDpo` (the page's CPU path) on the pairs.
//! - `ppo --kl C [--oracle] [--iterations N]`: PPO against the reward model (or, as the
//!   oracle, the true reward), a per-token KL penalty to π_ref and a value
//!   head on the policy's trunk.
//! - `best-of-n`: the base's best of N by the reward model; KL log N − (N−1)/N.

use std::{
    path::{Path, PathBuf},
    sync::Arc,
    time::Instant,
};

use candle_core::{Device, Tensor, Var};
use candle_nn::{AdamW as NnAdamW, Optimizer, ParamsAdamW};
use compute::{
    align::{
        dpo::{
            best_of_n_kl, implicit_reward, padded, reference_logps, scored_logps, sequence_logps,
            CpuDpo, Preference,
        },
        rules::{self, FormScores, ToneTable},
    },
    inputs::SplitMix64,
    models::llama::{
        lora::{
            cpu::{Branches, Frozen},
            Adapter, LoraConfig, LoraPair, Targets,
        },
        sampling::{generate_cpu_adapted, Generation, Sampling},
        Llama, LlamaConfig, CONFIG_PATH, TOKENIZER_PATH, WEIGHTS_PATH,
    },
    reference::backprop::AdamW,
    tang::{CharTokenizer, Form, EOS},
};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use crate::align_rules::load_table;
use compute::align::poem_seed;

type Res<T> = Result<T, String>;

fn e(err: impl std::fmt::Display) -> String {
    err.to_string()
}

pub use compute::align::metrics::METRICS_PATH;
pub const RM_PATH: &str = "models/align/rm.safetensors";
pub const RM_HEAD_PATH: &str = "models/align/rm.json";

pub const SEED: u64 = 17;
/// Every adapter here: rank 4 on every matrix of every block, α = 8.
pub const LORA: LoraConfig = LoraConfig {
    rank: 4,
    alpha: 8.0,
    targets: Targets::All,
};
/// Training samples the policies as they are.
pub const TRAIN_SAMPLING: Sampling = Sampling {
    temperature: 1.0,
    top_k: 0,
    top_p: 1.0,
};
/// Evaluation, as the issue measures the base and the page writes.
pub const EVAL: Sampling = compute::align::EVAL_SAMPLING;
pub const EVAL_SEED: u64 = 1;
pub const EVAL_PER_FORM: usize = 200;

/// Pairs: prompts per form, poems per prompt; every tenth prompt held out.
pub const PAIR_PROMPTS_PER_FORM: usize = 1000;
pub const PAIR_K: usize = 4;

pub const RM_STEPS: usize = 800;
pub const RM_BATCH: usize = 32;
pub const RM_LR: f64 = 2e-3;
pub const RM_WEIGHT_DECAY: f64 = 0.01;

pub const DPO_STEPS: usize = 500;
pub const DPO_BATCH: usize = 32;
pub const DPO_LR: f32 = 1e-3;

pub const PPO_ITERATIONS: usize = 120;
/// Rollouts per iteration (a quarter per form), PPO epochs over them, and
/// the minibatch.
pub const PPO_ROLLOUTS: usize = 64;
pub const PPO_EPOCHS: usize = 2;
pub const PPO_MINIBATCH: usize = 32;
pub const PPO_LR: f64 = 5e-4;
pub const PPO_CLIP: f64 = 0.2;
pub const PPO_VALUE_COEF: f64 = 0.5;
pub const GAE_LAMBDA: f64 = 0.95;

pub const BEST_OF: [usize; 5] = [1, 2, 4, 8, 16];

/// Sampling threads: the decoder is one token at a time, one core each.
const THREADS: usize = 2;

pub struct Setup {
    pub root: PathBuf,
    pub config: LlamaConfig,
    pub base: Arc<Llama>,
    pub frozen: Frozen,
    pub tokenizer: CharTokenizer,
    pub table: ToneTable,
}

impl Setup {
    pub fn load(root: &Path) -> Res<Setup> {
        let assets = root.join("assets");
        let read = |p: &str| std::fs::read(assets.join(p)).map_err(|x| format!("{p}: {x}"));
        let config: LlamaConfig = serde_json::from_slice(&read(CONFIG_PATH)?).map_err(e)?;
        let base = Arc::new(Llama::load(config, &read(WEIGHTS_PATH)?).map_err(e)?);
        Ok(Setup {
            root: root.to_path_buf(),
            config,
            frozen: Frozen::new(&base).map_err(e)?,
            base,
            tokenizer: CharTokenizer::from_json(&read(TOKENIZER_PATH)?).map_err(e)?,
            table: load_table(root)?,
        })
    }

    fn write(&self, path: &str, bytes: &[u8]) -> Res<()> {
        let out = self.root.join("assets").join(path);
        std::fs::create_dir_all(out.parent().unwrap()).map_err(e)?;
        std::fs::write(&out, bytes).map_err(|x| format!("{}: {x}", out.display()))
    }
}

/// One drawn poem, scored by the true reward.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Sample {
    pub form: Form,
    /// `<bos> <form> …` up to and including `<eos>` (or the context's end).
    pub tokens: Vec<u32>,
    pub text: String,
    pub reward: f64,
    pub failed: usize,
    /// π_ref's log-probability at T = 1 (filled where needed).
    #[serde(default)]
    pub ref_logp: f64,
}

fn draw(
    setup: &Setup,
    adapter: Option<Arc<Adapter>>,
    form: Form,
    s: Sampling,
    seed: u64,
) -> Res<Sample> {
    let trace =
        generate_cpu_adapted(&setup.base, adapter, &Generation::poem(form, s, seed)).map_err(e)?;
    let mut tokens = trace.tokens;
    let end = tokens[2..].iter().position(|&t| t == EOS).map(|p| p + 2);
    if let Some(end) = end {
        tokens.truncate(end + 1);
    }
    let text = setup
        .tokenizer
        .decode(&tokens[2..end.unwrap_or(tokens.len())]);
    Ok(Sample {
        form,
        reward: rules::reward(&setup.table, form, &text),
        failed: rules::failed(&setup.table, form, &text),
        tokens,
        text,
        ref_logp: 0.0,
    })
}

/// `jobs` (form, seed) drawn on two threads, in order.
pub fn draw_many(
    setup: &Setup,
    adapter: Option<&Adapter>,
    jobs: &[(Form, u64)],
    s: Sampling,
) -> Res<Vec<Sample>> {
    let adapter = adapter.map(|a| Arc::new(a.clone()));
    let mut out: Vec<(usize, Sample)> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..THREADS)
            .map(|t| {
                let adapter = adapter.clone();
                scope.spawn(move || -> Res<Vec<(usize, Sample)>> {
                    jobs.iter()
                        .enumerate()
                        .filter(|(i, _)| i % THREADS == t)
                        .map(|(i, &(form, seed))| {
                            Ok((i, draw(setup, adapter.clone(), form, s, seed)?))
                        })
                        .collect()
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| {
                h.join()
                    .map_err(|_| "a sampling thread panicked".to_string())?
            })
            .collect::<Res<Vec<Vec<_>>>>()
    })?
    .into_iter()
    .flatten()
    .collect();
    out.sort_by_key(|(i, _)| *i);
    Ok(out.into_iter().map(|(_, s)| s).collect())
}

fn seqs(samples: &[Sample]) -> Vec<&[u32]> {
    samples.iter().map(|s| s.tokens.as_slice()).collect()
}

// ---------------------------------------------------------------------------
// Preference pairs

pub struct Pairs {
    pub samples: Vec<Sample>,
    pub train: Vec<Preference>,
    pub held: Vec<Preference>,
    /// Indices into `samples` of the held-out prompts' poems.
    pub held_samples: Vec<usize>,
}

fn cache_dir(root: &Path) -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| root.join("target"))
        .join("align")
}

/// The recipe's constants that fix the pairs: a cache with others is
/// redrawn. Poem k's form and seed do not depend on the number of prompts,
/// so a smaller cache is extended.
fn pairs_recipe() -> String {
    format!("seed {SEED}, K {PAIR_K}, T 1")
}

pub fn pairs(setup: &Setup) -> Res<Pairs> {
    let cache = cache_dir(&setup.root).join("pairs.json");
    let cached: Option<Vec<Sample>> = std::fs::read(&cache)
        .ok()
        .and_then(|b| serde_json::from_slice::<Value>(&b).ok())
        .filter(|v| v["recipe"] == pairs_recipe())
        .and_then(|v| serde_json::from_value(v["samples"].clone()).ok());
    let total = 4 * PAIR_PROMPTS_PER_FORM * PAIR_K;
    let mut cached = cached.unwrap_or_default();
    cached.truncate(total);
    let samples = match cached.len() == total {
        true => {
            eprintln!(
                "align: {} pair samples from {}",
                cached.len(),
                cache.display()
            );
            cached
        }
        false => {
            let start = Instant::now();
            let jobs: Vec<(Form, u64)> = (cached.len()..total)
                .map(|k| (Form::ALL[(k / PAIR_K) % 4], poem_seed(SEED, k)))
                .collect();
            let mut samples = draw_many(setup, None, &jobs, TRAIN_SAMPLING)?;
            let refs = reference_logps(&setup.frozen, &seqs(&samples), 64).map_err(e)?;
            for (s, r) in samples.iter_mut().zip(refs) {
                s.ref_logp = r;
            }
            eprintln!(
                "align: drew {} poems for the pairs in {:.0} s ({} cached)",
                samples.len(),
                start.elapsed().as_secs_f64(),
                cached.len()
            );
            cached.extend(samples);
            let samples = cached;
            std::fs::create_dir_all(cache.parent().unwrap()).map_err(e)?;
            std::fs::write(
                &cache,
                serde_json::to_vec(&json!({"recipe": pairs_recipe(), "samples": samples}))
                    .map_err(e)?,
            )
            .map_err(e)?;
            samples
        }
    };
    let (mut train, mut held, mut held_samples) = (Vec::new(), Vec::new(), Vec::new());
    for (prompt, group) in samples.chunks(PAIR_K).enumerate() {
        let is_held = prompt % 10 == 9;
        if is_held {
            held_samples.extend(prompt * PAIR_K..(prompt + 1) * PAIR_K);
        }
        for a in 0..group.len() {
            for b in a + 1..group.len() {
                let (x, y) = (&group[a], &group[b]);
                if x.reward == y.reward {
                    continue;
                }
                let (w, l) = if x.reward > y.reward { (x, y) } else { (y, x) };
                let p = Preference {
                    chosen: w.tokens.clone(),
                    rejected: l.tokens.clone(),
                    ref_chosen: w.ref_logp,
                    ref_rejected: l.ref_logp,
                };
                if is_held {
                    held.push(p);
                } else {
                    train.push(p);
                }
            }
        }
    }
    eprintln!(
        "align: {} training pairs, {} held-out pairs",
        train.len(),
        held.len()
    );
    Ok(Pairs {
        samples,
        train,
        held,
        held_samples,
    })
}

// ---------------------------------------------------------------------------
// LoRA as candle variables

pub struct LoraVars {
    config: LoraConfig,
    vars: Vec<(LoraPair, Var, Var)>,
}

impl LoraVars {
    pub fn new(model: &LlamaConfig, seed: u64) -> Res<LoraVars> {
        let adapter = Adapter::init(model, LORA, seed);
        let r = LORA.rank;
        let vars = adapter
            .pairs
            .into_iter()
            .map(|p| {
                let a = Var::from_vec(p.a.clone(), (r, p.cols), &Device::Cpu)?;
                let b = Var::from_vec(p.b.clone(), (p.rows, r), &Device::Cpu)?;
                Ok((p, a, b))
            })
            .collect::<candle_core::Result<Vec<_>>>()
            .map_err(e)?;
        Ok(LoraVars { config: LORA, vars })
    }

    pub fn all(&self) -> Vec<Var> {
        self.vars
            .iter()
            .flat_map(|(_, a, b)| [a.clone(), b.clone()])
            .collect()
    }

    pub fn branches(&self) -> Branches {
        self.vars
            .iter()
            .map(|(p, a, b)| {
                (
                    (p.layer, p.linear),
                    (a.as_tensor().clone(), b.as_tensor().clone()),
                )
            })
            .collect()
    }

    pub fn scale(&self) -> f64 {
        self.config.scale() as f64
    }

    /// The adapter as it stands, in compute's format.
    pub fn adapter(&self) -> Res<Adapter> {
        let pairs = self
            .vars
            .iter()
            .map(|(p, a, b)| {
                let flat = |v: &Var| v.as_tensor().flatten_all().and_then(|t| t.to_vec1::<f32>());
                Ok(LoraPair {
                    a: flat(a)?,
                    b: flat(b)?,
                    ..p.clone()
                })
            })
            .collect::<candle_core::Result<Vec<_>>>()
            .map_err(e)?;
        Ok(Adapter {
            config: self.config,
            pairs,
        })
    }

    pub fn set(&self, adapter: &Adapter) -> Res<()> {
        for ((_, a, b), p) in self.vars.iter().zip(&adapter.pairs) {
            a.set(&Tensor::from_vec(p.a.clone(), a.shape(), &Device::Cpu).map_err(e)?)
                .map_err(e)?;
            b.set(&Tensor::from_vec(p.b.clone(), b.shape(), &Device::Cpu).map_err(e)?)
                .map_err(e)?;
        }
        Ok(())
    }
}

/// Whole sequences padded with `<eos>` [N, L], and a mask [N, L] that is
/// 1 from position 1 (the form token) to each one's end.
fn full_padded(seqs: &[&[u32]]) -> candle_core::Result<(Tensor, Tensor)> {
    let len = seqs.iter().map(|s| s.len()).max().unwrap_or(1);
    let mut ids = Vec::with_capacity(seqs.len() * len);
    let mut mask = Vec::with_capacity(seqs.len() * len);
    for s in seqs {
        ids.extend_from_slice(s);
        ids.extend(std::iter::repeat_n(EOS, len - s.len()));
        mask.extend((0..len).map(|p| if p >= 1 && p < s.len() { 1f32 } else { 0.0 }));
    }
    Ok((
        Tensor::from_vec(ids, (seqs.len(), len), &Device::Cpu)?,
        Tensor::from_vec(mask, (seqs.len(), len), &Device::Cpu)?,
    ))
}

// ---------------------------------------------------------------------------
// The reward model

pub struct RewardModel {
    pub lora: LoraVars,
    pub head: Var,
    pub bias: Var,
    /// The base's samples' mean and spread of the score, which PPO
    /// subtracts and divides by.
    pub mean: f64,
    pub std: f64,
}

impl RewardModel {
    fn new(setup: &Setup) -> Res<RewardModel> {
        Ok(RewardModel {
            lora: LoraVars::new(&setup.config, SEED + 1)?,
            head: Var::zeros((setup.config.dim, 1), candle_core::DType::F32, &Device::Cpu)
                .map_err(e)?,
            bias: Var::zeros(1, candle_core::DType::F32, &Device::Cpu).map_err(e)?,
            mean: 0.0,
            std: 1.0,
        })
    }

    /// Raw scores [N] (with gradients to the variables): the head on the
    /// mean of the hidden states from the form token to the last character
    /// (a 七律 with its `<eos>` is one token longer than the context). The
    /// rules are local, a line or a couplet at a time, and a mean over
    /// positions lets the score add them up; read at the last position
    /// alone, the first model fitted its training pairs (84%) but not
    /// held-out ones (62%).
    fn raw(&self, frozen: &Frozen, seqs: &[&[u32]]) -> candle_core::Result<Tensor> {
        let max = frozen.config.max_seq_len;
        let seqs: Vec<&[u32]> = seqs
            .iter()
            .map(|s| {
                let s = s.strip_suffix(&[EOS]).unwrap_or(s);
                &s[..s.len().min(max)]
            })
            .collect();
        let (ids, mask) = full_padded(&seqs)?;
        let branches = self.lora.branches();
        let hidden = frozen.hidden(&ids, Some((&branches, self.lora.scale())))?;
        let pooled = hidden
            .broadcast_mul(&mask.unsqueeze(2)?)?
            .sum(1)?
            .broadcast_div(&mask.sum_keepdim(1)?)?;
        pooled
            .matmul(self.head.as_tensor())?
            .squeeze(1)?
            .broadcast_add(self.bias.as_tensor())
    }

    /// Normalised scores, in batches.
    pub fn scores(&self, frozen: &Frozen, seqs: &[&[u32]]) -> Res<Vec<f64>> {
        let mut out = Vec::with_capacity(seqs.len());
        for chunk in seqs.chunks(64) {
            let raw = self
                .raw(frozen, chunk)
                .and_then(|t| t.to_vec1::<f32>())
                .map_err(e)?;
            out.extend(raw.into_iter().map(|r| (r as f64 - self.mean) / self.std));
        }
        Ok(out)
    }

    fn save(&self, setup: &Setup, extra: Value) -> Res<()> {
        let adapter = self.lora.adapter()?;
        setup.write(RM_PATH, &adapter.to_safetensors().map_err(e)?)?;
        let head: Vec<f32> = self
            .head
            .as_tensor()
            .flatten_all()
            .and_then(|t| t.to_vec1())
            .map_err(e)?;
        let bias: Vec<f32> = self.bias.as_tensor().to_vec1().map_err(e)?;
        let doc = json!({
            "head": head, "bias": bias[0], "mean": self.mean, "std": self.std, "report": extra,
        });
        setup.write(
            RM_HEAD_PATH,
            (serde_json::to_string(&doc).map_err(e)? + "\n").as_bytes(),
        )
    }

    pub fn load(setup: &Setup) -> Res<RewardModel> {
        let read = |p: &str| {
            std::fs::read(setup.root.join("assets").join(p))
                .map_err(|x| format!("{p}: {x} (run `cargo xtask train align --method rm` first)"))
        };
        let adapter =
            Adapter::from_safetensors(RM_PATH, &setup.config, &read(RM_PATH)?).map_err(e)?;
        let doc: Value = serde_json::from_slice(&read(RM_HEAD_PATH)?).map_err(e)?;
        let rm = RewardModel::new(setup)?;
        rm.lora.set(&adapter)?;
        let head: Vec<f32> = serde_json::from_value(doc["head"].clone()).map_err(e)?;
        rm.head
            .set(&Tensor::from_vec(head, (setup.config.dim, 1), &Device::Cpu).map_err(e)?)
            .map_err(e)?;
        rm.bias
            .set(
                &Tensor::new(&[doc["bias"].as_f64().unwrap_or(0.0) as f32], &Device::Cpu)
                    .map_err(e)?,
            )
            .map_err(e)?;
        Ok(RewardModel {
            mean: doc["mean"].as_f64().unwrap_or(0.0),
            std: doc["std"].as_f64().unwrap_or(1.0),
            ..rm
        })
    }
}

/// softplus(x) = log(1 + eˣ), finite for any x.
fn softplus(x: &Tensor) -> candle_core::Result<Tensor> {
    x.relu()? + (x.abs()?.neg()?.exp()? + 1.0)?.log()?
}

fn shuffled(n: usize, rng: &mut SplitMix64) -> Vec<usize> {
    let mut v: Vec<usize> = (0..n).collect();
    for i in (1..n).rev() {
        v.swap(i, (rng.next_u64() % (i as u64 + 1)) as usize);
    }
    v
}

/// `steps` batches of `batch` indices: epochs of a seeded shuffle.
fn batches(n: usize, batch: usize, steps: usize, seed: u64) -> Vec<Vec<usize>> {
    let mut rng = SplitMix64::new(seed);
    let mut order = Vec::new();
    let mut out = Vec::with_capacity(steps);
    while out.len() < steps {
        if order.len() < batch {
            order.extend(shuffled(n, &mut rng));
        }
        out.push(order.drain(..batch.min(order.len())).collect());
    }
    out
}

fn cosine(lr: f64, step: usize, steps: usize) -> f64 {
    let progress = step as f64 / steps.max(1) as f64;
    lr * (0.1 + 0.9 * 0.5 * (1.0 + (std::f64::consts::PI * progress).cos()))
}

fn pair_accuracy(rm: &RewardModel, frozen: &Frozen, pairs: &[Preference]) -> Res<f64> {
    let chosen: Vec<&[u32]> = pairs.iter().map(|p| p.chosen.as_slice()).collect();
    let rejected: Vec<&[u32]> = pairs.iter().map(|p| p.rejected.as_slice()).collect();
    let (c, r) = (rm.scores(frozen, &chosen)?, rm.scores(frozen, &rejected)?);
    Ok(c.iter().zip(&r).filter(|(c, r)| c > r).count() as f64 / pairs.len().max(1) as f64)
}

fn pearson(x: &[f64], y: &[f64]) -> f64 {
    let n = x.len().max(1) as f64;
    let (mx, my) = (x.iter().sum::<f64>() / n, y.iter().sum::<f64>() / n);
    let cov: f64 = x.iter().zip(y).map(|(a, b)| (a - mx) * (b - my)).sum();
    let vx: f64 = x.iter().map(|a| (a - mx).powi(2)).sum();
    let vy: f64 = y.iter().map(|b| (b - my).powi(2)).sum();
    cov / (vx * vy).sqrt().max(1e-12)
}

pub fn train_rm(setup: &Setup) -> Res<()> {
    let pairs = pairs(setup)?;
    let mut rm = RewardModel::new(setup)?;
    let mut vars = rm.lora.all();
    vars.extend([rm.head.clone(), rm.bias.clone()]);
    let mut opt = NnAdamW::new(
        vars,
        ParamsAdamW {
            lr: RM_LR,
            weight_decay: RM_WEIGHT_DECAY,
            ..Default::default()
        },
    )
    .map_err(e)?;
    let start = Instant::now();
    let mut curve = Vec::new();
    let (mut window, mut hits, mut seen) = (0.0, 0usize, 0usize);
    for (step, idx) in batches(pairs.train.len(), RM_BATCH, RM_STEPS, SEED + 2)
        .iter()
        .enumerate()
    {
        opt.set_learning_rate(cosine(RM_LR, step, RM_STEPS));
        let ps: Vec<&Preference> = idx.iter().map(|&i| &pairs.train[i]).collect();
        let seqs: Vec<&[u32]> = ps
            .iter()
            .map(|p| p.chosen.as_slice())
            .chain(ps.iter().map(|p| p.rejected.as_slice()))
            .collect();
        let n = ps.len();
        let s = rm.raw(&setup.frozen, &seqs).map_err(e)?;
        let margin = (s.narrow(0, 0, n).map_err(e)? - s.narrow(0, n, n).map_err(e)?).map_err(e)?;
        let loss = softplus(&margin.neg().map_err(e)?)
            .and_then(|l| l.mean_all())
            .map_err(e)?;
        opt.backward_step(&loss).map_err(e)?;
        window += loss.to_scalar::<f32>().map_err(e)? as f64;
        let m = margin.to_vec1::<f32>().map_err(e)?;
        hits += m.iter().filter(|&&v| v > 0.0).count();
        seen += n;
        if (step + 1) % 50 == 0 {
            let acc = hits as f64 / seen as f64;
            eprintln!(
                "  rm step {:>4}/{RM_STEPS}: loss {:.4}, train accuracy {:.3} ({:.0} s)",
                step + 1,
                window / 50.0,
                acc,
                start.elapsed().as_secs_f64()
            );
            curve.push(json!({"step": step + 1, "loss": window / 50.0, "accuracy": acc}));
            (window, hits, seen) = (0.0, 0, 0);
        }
    }
    // Normalise by the base's poems (all pair samples).
    let all = rm.scores(&setup.frozen, &seqs(&pairs.samples))?;
    let n = all.len() as f64;
    let mean = all.iter().sum::<f64>() / n;
    let std = (all.iter().map(|s| (s - mean).powi(2)).sum::<f64>() / n)
        .sqrt()
        .max(1e-6);
    rm.mean = mean;
    rm.std = std;
    let held_acc = pair_accuracy(&rm, &setup.frozen, &pairs.held)?;
    let train_acc = pair_accuracy(
        &rm,
        &setup.frozen,
        &pairs.train[..pairs.held.len().min(pairs.train.len())],
    )?;
    let held: Vec<&Sample> = pairs
        .held_samples
        .iter()
        .map(|&i| &pairs.samples[i])
        .collect();
    let held_seqs: Vec<&[u32]> = held.iter().map(|s| s.tokens.as_slice()).collect();
    let held_scores = rm.scores(&setup.frozen, &held_seqs)?;
    let truth: Vec<f64> = held.iter().map(|s| s.reward).collect();
    let report = json!({
        "held_out_pair_accuracy": held_acc,
        "train_pair_accuracy": train_acc,
        "held_out_pairs": pairs.held.len(),
        "train_pairs": pairs.train.len(),
        "pearson_held_out": pearson(&held_scores, &truth),
        "steps": RM_STEPS, "batch": RM_BATCH, "lr": RM_LR,
        "minutes": start.elapsed().as_secs_f64() / 60.0,
        "curve": curve,
        // The page's scatter: score against the true reward.
        "scatter": held.iter().zip(&held_scores).take(400)
            .map(|(s, r)| json!([s.form.name(), (r * 1000.0).round() / 1000.0, s.reward]))
            .collect::<Vec<_>>(),
    });
    eprintln!(
        "align: reward model held-out pair accuracy {held_acc:.3} (train {train_acc:.3}), Pearson {:.3}",
        report["pearson_held_out"]
    );
    rm.save(setup, report.clone())?;
    let mut r = report;
    r["scatter"] = Value::Null;
    r["curve"] = Value::Null;
    update_metrics(setup, "rm", r)
}

// ---------------------------------------------------------------------------
// Evaluation, the same for every run

/// Summed log p of each sequence under softmax(logits/T), with or without
/// the adapter.
fn tempered_logps(
    frozen: &Frozen,
    adapter: Option<&Adapter>,
    seqs: &[&[u32]],
    t: f64,
) -> Res<Vec<f64>> {
    let branches = adapter
        .map(compute::models::llama::lora::cpu::branch_tensors)
        .transpose()
        .map_err(e)?;
    let scale = adapter.map_or(0.0, |a| a.config.scale() as f64);
    let mut out = Vec::with_capacity(seqs.len());
    for chunk in seqs.chunks(64) {
        let (inputs, targets, mask) = padded(chunk).map_err(e)?;
        let logits = frozen
            .logits(&inputs, branches.as_ref().map(|b| (b, scale)))
            .map_err(e)?;
        let l = scored_logps(&logits, &targets, &mask, t)
            .and_then(|l| l.sum(1))
            .and_then(|l| l.to_vec1::<f32>())
            .map_err(e)?;
        out.extend(l.into_iter().map(f64::from));
    }
    Ok(out)
}

/// The 800 evaluation samples and their scores.
pub fn evaluate(setup: &Setup, adapter: Option<&Adapter>) -> Res<(Value, Vec<Sample>)> {
    let jobs: Vec<(Form, u64)> = Form::ALL
        .iter()
        .flat_map(|&f| (0..EVAL_PER_FORM).map(move |i| (f, poem_seed(EVAL_SEED, i))))
        .collect();
    let samples = draw_many(setup, adapter, &jobs, EVAL)?;
    let kl = match adapter {
        None => vec![0.0; samples.len()],
        Some(a) => {
            let s = seqs(&samples);
            let pol = tempered_logps(&setup.frozen, Some(a), &s, EVAL.temperature as f64)?;
            let base = tempered_logps(&setup.frozen, None, &s, EVAL.temperature as f64)?;
            pol.iter().zip(&base).map(|(p, b)| p - b).collect()
        }
    };
    Ok((summary(setup, &samples, &kl, None), samples))
}

/// The scores of samples (per form and overall), their KL and examples.
fn summary(setup: &Setup, samples: &[Sample], kl: &[f64], rm: Option<&[f64]>) -> Value {
    let forms: Vec<FormScores> = Form::ALL
        .iter()
        .map(|&f| {
            FormScores::of(
                &setup.table,
                f,
                samples
                    .iter()
                    .filter(|s| s.form == f)
                    .map(|s| s.text.as_str()),
            )
        })
        .collect();
    let n = samples.len().max(1) as f64;
    let mean = |v: &[f64]| v.iter().sum::<f64>() / v.len().max(1) as f64;
    let examples: Vec<Value> = Form::ALL
        .iter()
        .flat_map(|&f| {
            samples
                .iter()
                .filter(move |s| s.form == f)
                .take(3)
                .map(|s| json!({"form": s.form.name(), "text": s.text, "reward": s.reward, "failed": s.failed}))
        })
        .collect();
    json!({
        "samples": samples.len(),
        "mean_reward": samples.iter().map(|s| s.reward).sum::<f64>() / n,
        "failed_per_poem": samples.iter().map(|s| s.failed as f64).sum::<f64>() / n,
        "all_passed": samples.iter().filter(|s| s.failed == 0).count() as f64 / n,
        "kl": mean(kl),
        "rm_score": rm.map(mean),
        "forms": forms,
        "examples": examples,
    })
}

fn update_metrics(setup: &Setup, key: &str, value: Value) -> Res<()> {
    let path = setup.root.join("assets").join(METRICS_PATH);
    let mut doc: Value = std::fs::read(&path)
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok())
        .unwrap_or_else(|| json!({}));
    doc[key] = value;
    setup.write(
        METRICS_PATH,
        (serde_json::to_string_pretty(&doc).map_err(e)? + "\n").as_bytes(),
    )?;
    eprintln!("align: {METRICS_PATH}[{key}] written");
    Ok(())
}

pub fn base(setup: &Setup) -> Res<()> {
    let start = Instant::now();
    let (eval, _) = evaluate(setup, None)?;
    eprintln!(
        "align: base failed {:.3} per poem, all passed {:.3} ({:.0} s)",
        eval["failed_per_poem"],
        eval["all_passed"],
        start.elapsed().as_secs_f64()
    );
    update_metrics(setup, "base", eval)
}

// ---------------------------------------------------------------------------
// DPO

pub use compute::align::metrics::adapter_path;

pub fn dpo(setup: &Setup, beta: f64) -> Res<()> {
    let pairs = pairs(setup)?;
    let start = Instant::now();
    let adapter = Adapter::init(&setup.config, LORA, SEED + 3);
    let mut trainer = CpuDpo::new(
        Frozen::new(&setup.base).map_err(e)?,
        adapter,
        AdamW::with_lr(DPO_LR),
        beta,
    );
    let mut curve = Vec::new();
    let (mut loss, mut acc, mut margin) = (0.0, 0.0, 0.0);
    for (step, idx) in batches(pairs.train.len(), DPO_BATCH, DPO_STEPS, SEED + 4)
        .iter()
        .enumerate()
    {
        trainer.hyper.lr = cosine(DPO_LR as f64, step, DPO_STEPS) as f32;
        let batch: Vec<Preference> = idx.iter().map(|&i| pairs.train[i].clone()).collect();
        let s = trainer.step(&batch).map_err(e)?;
        (loss, acc, margin) = (loss + s.loss, acc + s.accuracy, margin + s.margin);
        if (step + 1) % 25 == 0 {
            eprintln!(
                "  dpo β={beta} step {:>4}/{DPO_STEPS}: loss {:.4}, implicit accuracy {:.3}, margin {:.3} ({:.0} s)",
                step + 1,
                loss / 25.0,
                acc / 25.0,
                margin / 25.0,
                start.elapsed().as_secs_f64()
            );
            curve.push(json!({"step": step + 1, "loss": loss / 25.0, "accuracy": acc / 25.0, "margin": margin / 25.0}));
            (loss, acc, margin) = (0.0, 0.0, 0.0);
        }
    }
    let minutes = start.elapsed().as_secs_f64() / 60.0;
    let adapter = trainer.adapter.clone();
    let key = format!("dpo-beta{beta}");
    setup.write(&adapter_path(&key), &adapter.to_safetensors().map_err(e)?)?;
    // The implicit reward on held-out poems, against the truth.
    let held: Vec<&Sample> = pairs
        .held_samples
        .iter()
        .map(|&i| &pairs.samples[i])
        .collect();
    let held_seqs: Vec<&[u32]> = held.iter().map(|s| s.tokens.as_slice()).collect();
    let branches = compute::models::llama::lora::cpu::branch_tensors(&adapter).map_err(e)?;
    let mut pol = Vec::new();
    for chunk in held_seqs.chunks(64) {
        pol.extend(
            sequence_logps(
                &setup.frozen,
                Some((&branches, adapter.config.scale() as f64)),
                chunk,
            )
            .and_then(|t| t.to_vec1::<f32>())
            .map_err(e)?,
        );
    }
    let implicit: Vec<f64> = held
        .iter()
        .zip(&pol)
        .map(|(s, &p)| implicit_reward(beta, p as f64, s.ref_logp))
        .collect();
    let truth: Vec<f64> = held.iter().map(|s| s.reward).collect();
    let (eval, _) = evaluate(setup, Some(&adapter))?;
    eprintln!(
        "align: dpo β={beta}: failed {:.3} per poem, all passed {:.3}, KL {:.2} ({:.1} min training)",
        eval["failed_per_poem"], eval["all_passed"], eval["kl"], minutes
    );
    let mut entry = json!({
        "method": "dpo", "beta": beta, "steps": DPO_STEPS, "batch": DPO_BATCH, "lr": DPO_LR,
        "minutes": minutes, "curve": curve,
        "implicit_pearson": pearson(&implicit, &truth),
        "implicit_scatter": held.iter().zip(&implicit).take(400)
            .map(|(s, r)| json!([s.form.name(), (r * 1000.0).round() / 1000.0, s.reward]))
            .collect::<Vec<_>>(),
    });
    entry["eval"] = eval;
    update_metrics(setup, &key, entry)
}

// ---------------------------------------------------------------------------
// Best-of-N

pub fn best_of_n(setup: &Setup) -> Res<()> {
    let rm = RewardModel::load(setup)?;
    let start = Instant::now();
    let max = *BEST_OF.last().unwrap();
    // The evaluation's seeds for draw 0, then fresh seeds for the rest.
    let jobs: Vec<(Form, u64)> = Form::ALL
        .iter()
        .flat_map(|&f| {
            (0..EVAL_PER_FORM).flat_map(move |i| {
                (0..max).map(move |k| {
                    let seed = if k == 0 {
                        poem_seed(EVAL_SEED, i)
                    } else {
                        poem_seed(EVAL_SEED + 100 + k as u64, i)
                    };
                    (f, seed)
                })
            })
        })
        .collect();
    let samples = draw_many(setup, None, &jobs, EVAL)?;
    let scores = rm.scores(&setup.frozen, &seqs(&samples))?;
    let mut runs = Vec::new();
    for &n in &BEST_OF {
        let picked: Vec<Sample> = samples
            .chunks(max)
            .zip(scores.chunks(max))
            .map(|(group, s)| {
                let best = (0..n)
                    .max_by(|&a, &b| s[a].total_cmp(&s[b]).then(b.cmp(&a)))
                    .unwrap_or(0);
                group[best].clone()
            })
            .collect();
        let picked_scores: Vec<f64> = scores
            .chunks(max)
            .map(|s| (0..n).map(|k| s[k]).fold(f64::MIN, f64::max))
            .collect();
        let kl = vec![best_of_n_kl(n); picked.len()];
        let mut eval = summary(setup, &picked, &kl, Some(&picked_scores));
        eval["n"] = json!(n);
        eprintln!(
            "align: best of {n}: failed {:.3} per poem, all passed {:.3}, KL {:.2}",
            eval["failed_per_poem"], eval["all_passed"], eval["kl"]
        );
        runs.push(eval);
    }
    update_metrics(
        setup,
        "best-of-n",
        json!({"method": "best-of-n", "minutes": start.elapsed().as_secs_f64() / 60.0, "runs": runs}),
    )
}

// ---------------------------------------------------------------------------
// PPO

struct Policy {
    lora: LoraVars,
    value: Var,
    value_bias: Var,
}

impl Policy {
    /// Per scored token: log p at T = 1 and the value estimate, [N, L − 2]
    /// each (0 where padded), and the mask.
    fn forward(
        &self,
        frozen: &Frozen,
        seqs: &[&[u32]],
    ) -> candle_core::Result<(Tensor, Tensor, Tensor)> {
        let (inputs, targets, mask) = padded(seqs)?;
        let branches = self.lora.branches();
        let hidden = frozen.hidden(&inputs, Some((&branches, self.lora.scale())))?;
        let logits = frozen.head(&hidden)?;
        let logps = scored_logps(&logits, &targets, &mask, 1.0)?;
        let (n, t, d) = hidden.dims3()?;
        // The state before action p is the hidden state that predicts it.
        let values = hidden
            .narrow(1, 1, t - 1)?
            .reshape((n * (t - 1), d))?
            .matmul(self.value.as_tensor())?
            .reshape((n, t - 1))?
            .broadcast_add(self.value_bias.as_tensor())?
            .mul(&mask)?;
        Ok((logps, values, mask))
    }
}

/// Rows of per-token numbers, padded with zeros to `len`.
fn rows_tensor(rows: &[&[f64]], len: usize) -> candle_core::Result<Tensor> {
    let mut flat = Vec::with_capacity(rows.len() * len);
    for r in rows {
        flat.extend(r.iter().map(|&v| v as f32));
        flat.extend(std::iter::repeat_n(0f32, len - r.len()));
    }
    Tensor::from_vec(flat, (rows.len(), len), &Device::Cpu)
}

fn to_rows(t: &Tensor, lens: &[usize]) -> candle_core::Result<Vec<Vec<f64>>> {
    Ok(t.to_vec2::<f32>()?
        .into_iter()
        .zip(lens)
        .map(|(r, &n)| r[..n].iter().map(|&v| v as f64).collect())
        .collect())
}

pub fn ppo(setup: &Setup, kl_coef: f64, oracle: bool, iterations: usize) -> Res<()> {
    let rm = RewardModel::load(setup)?;
    // The true reward, normalised like the reward model's score: by the
    // base's poems, so one KL coefficient means the same for both.
    let (true_mean, true_std) = {
        let p = pairs(setup)?;
        let r: Vec<f64> = p.samples.iter().map(|s| s.reward).collect();
        let m = r.iter().sum::<f64>() / r.len() as f64;
        (
            m,
            (r.iter().map(|v| (v - m).powi(2)).sum::<f64>() / r.len() as f64)
                .sqrt()
                .max(1e-6),
        )
    };
    let policy = Policy {
        lora: LoraVars::new(&setup.config, SEED + 5)?,
        value: Var::zeros((setup.config.dim, 1), candle_core::DType::F32, &Device::Cpu)
            .map_err(e)?,
        value_bias: Var::zeros(1, candle_core::DType::F32, &Device::Cpu).map_err(e)?,
    };
    let mut vars = policy.lora.all();
    vars.extend([policy.value.clone(), policy.value_bias.clone()]);
    let mut opt = NnAdamW::new(
        vars,
        ParamsAdamW {
            lr: PPO_LR,
            weight_decay: 0.0,
            ..Default::default()
        },
    )
    .map_err(e)?;
    let mut rng = SplitMix64::new(SEED + 6);
    let start = Instant::now();
    let mut curve = Vec::new();
    for it in 0..iterations {
        let adapter = policy.lora.adapter()?;
        let jobs: Vec<(Form, u64)> = (0..PPO_ROLLOUTS)
            .map(|k| (Form::ALL[k % 4], poem_seed(SEED + 1000 + it as u64, k)))
            .collect();
        let samples = draw_many(setup, Some(&adapter), &jobs, TRAIN_SAMPLING)?;
        let s = seqs(&samples);
        let rm_scores = rm.scores(&setup.frozen, &s)?;
        let truth: Vec<f64> = samples.iter().map(|x| x.reward).collect();
        let score: Vec<f64> = if oracle {
            truth.iter().map(|r| (r - true_mean) / true_std).collect()
        } else {
            rm_scores.clone()
        };
        let lens: Vec<usize> = samples.iter().map(|x| x.tokens.len() - 2).collect();
        let (old, values, _) = policy.forward(&setup.frozen, &s).map_err(e)?;
        let old = to_rows(&old, &lens).map_err(e)?;
        let values = to_rows(&values, &lens).map_err(e)?;
        let reference = compute::align::dpo::token_logps(&setup.frozen, None, &s).map_err(e)?;
        let reference = to_rows(&reference, &lens).map_err(e)?;
        // Per-token rewards: the KL penalty everywhere, the score at the end.
        let mut advantages = Vec::with_capacity(samples.len());
        let mut returns = Vec::with_capacity(samples.len());
        let mut kl_sum = 0.0;
        for i in 0..samples.len() {
            let n = lens[i];
            let mut adv = vec![0.0; n];
            let mut gae = 0.0;
            for t in (0..n).rev() {
                let kl = old[i][t] - reference[i][t];
                kl_sum += kl;
                let mut r = -kl_coef * kl;
                if t == n - 1 {
                    r += score[i];
                }
                let next = if t + 1 < n { values[i][t + 1] } else { 0.0 };
                let delta = r + next - values[i][t];
                gae = delta + GAE_LAMBDA * gae;
                adv[t] = gae;
            }
            returns.push(
                adv.iter()
                    .zip(&values[i])
                    .map(|(a, v)| a + v)
                    .collect::<Vec<f64>>(),
            );
            advantages.push(adv);
        }
        // Whitened over every token of the batch.
        let all: Vec<f64> = advantages.iter().flatten().copied().collect();
        let m = all.iter().sum::<f64>() / all.len() as f64;
        let sd =
            (all.iter().map(|a| (a - m).powi(2)).sum::<f64>() / all.len() as f64).sqrt() + 1e-8;
        for a in advantages.iter_mut().flatten() {
            *a = (*a - m) / sd;
        }
        let mut last_loss = 0.0;
        for _ in 0..PPO_EPOCHS {
            for mb in shuffled(samples.len(), &mut rng).chunks(PPO_MINIBATCH) {
                let mb_seqs: Vec<&[u32]> = mb.iter().map(|&i| s[i]).collect();
                let (new, v, mask) = policy.forward(&setup.frozen, &mb_seqs).map_err(e)?;
                let len = new.dim(1).map_err(e)?;
                let pick = |rows: &Vec<Vec<f64>>| {
                    rows_tensor(
                        &mb.iter().map(|&i| rows[i].as_slice()).collect::<Vec<_>>(),
                        len,
                    )
                };
                let (old_t, adv_t, ret_t) = (
                    pick(&old).map_err(e)?,
                    pick(&advantages).map_err(e)?,
                    pick(&returns).map_err(e)?,
                );
                let count = mask
                    .sum_all()
                    .and_then(|c| c.to_scalar::<f32>())
                    .map_err(e)? as f64;
                let loss = (|| -> candle_core::Result<Tensor> {
                    let ratio = (&new - &old_t)?.exp()?;
                    let clipped = ratio.clamp(1.0 - PPO_CLIP, 1.0 + PPO_CLIP)?;
                    let pg = ratio
                        .mul(&adv_t)?
                        .minimum(&clipped.mul(&adv_t)?)?
                        .neg()?
                        .mul(&mask)?
                        .sum_all()?;
                    let vf = ((&v - &ret_t)?.sqr()?.mul(&mask)?.sum_all()? * 0.5)?;
                    (pg + (vf * PPO_VALUE_COEF)?)? / count
                })()
                .map_err(e)?;
                opt.backward_step(&loss).map_err(e)?;
                last_loss = loss.to_scalar::<f32>().map_err(e)? as f64;
            }
        }
        let n = samples.len() as f64;
        let point = json!({
            "iteration": it + 1,
            "rm_score": rm_scores.iter().sum::<f64>() / n,
            "true_reward": truth.iter().sum::<f64>() / n,
            "failed_per_poem": samples.iter().map(|x| x.failed as f64).sum::<f64>() / n,
            "kl": kl_sum / n,
            "loss": last_loss,
        });
        if (it + 1) % 5 == 0 || it == 0 {
            eprintln!(
                "  ppo kl={kl_coef}{} it {:>3}/{iterations}: rm {:.3}, true {:.3}, failed {:.2}, KL(T=1) {:.2} ({:.0} s)",
                if oracle { " oracle" } else { "" },
                it + 1,
                point["rm_score"].as_f64().unwrap_or(0.0),
                point["true_reward"].as_f64().unwrap_or(0.0),
                point["failed_per_poem"].as_f64().unwrap_or(0.0),
                point["kl"].as_f64().unwrap_or(0.0),
                start.elapsed().as_secs_f64()
            );
        }
        curve.push(point);
    }
    let minutes = start.elapsed().as_secs_f64() / 60.0;
    let adapter = policy.lora.adapter()?;
    let key = format!("ppo{}-kl{kl_coef}", if oracle { "-oracle" } else { "" });
    setup.write(&adapter_path(&key), &adapter.to_safetensors().map_err(e)?)?;
    let (mut eval, samples) = evaluate(setup, Some(&adapter))?;
    let scores = rm.scores(&setup.frozen, &seqs(&samples))?;
    eval["rm_score"] = json!(scores.iter().sum::<f64>() / scores.len() as f64);
    eprintln!(
        "align: {key}: failed {:.3} per poem, all passed {:.3}, KL {:.2}, RM {:.3} ({minutes:.1} min training)",
        eval["failed_per_poem"], eval["all_passed"], eval["kl"], eval["rm_score"]
    );
    update_metrics(
        setup,
        &key,
        json!({
            "method": if oracle { "ppo-oracle" } else { "ppo" }, "kl_coef": kl_coef,
            "iterations": iterations, "rollouts": PPO_ROLLOUTS, "lr": PPO_LR,
            "minutes": minutes, "curve": curve, "eval": eval,
        }),
    )
}

/// `sample align --method base|dpo|ppo --form F --n N --seed S --temperature T`:
/// one poem per line on standard output, the adapter the metrics rank best
/// of its method at KL ≤ 10.
pub fn sample(root: &Path, method: &str, form: &str, n: usize, seed: u64, s: Sampling) -> Res<()> {
    let setup = Setup::load(root)?;
    let form = Form::from_name(form)
        .ok_or_else(|| format!("unknown form {form}; expected 五绝, 七绝, 五律 or 七律"))?;
    let adapter = match method {
        "base" => None,
        "dpo" | "ppo" => {
            let key = shipped_key(&setup, method)?;
            let path = adapter_path(&key);
            let bytes = std::fs::read(root.join("assets").join(&path))
                .map_err(|x| format!("{path}: {x}"))?;
            eprintln!("align: sampling {key}");
            Some(Adapter::from_safetensors(&path, &setup.config, &bytes).map_err(e)?)
        }
        other => return Err(format!("--method {other}: expected base, dpo or ppo")),
    };
    let jobs: Vec<(Form, u64)> = (0..n).map(|i| (form, poem_seed(seed, i))).collect();
    for sample in draw_many(&setup, adapter.as_ref(), &jobs, s)? {
        println!("{}", sample.text);
    }
    Ok(())
}

/// The run of `method` ("dpo" or "ppo", not the oracle) with the fewest
/// failed checks at a KL within the budget: compute's `Metrics::best`, as
/// the page picks it.
pub fn shipped_key(setup: &Setup, method: &str) -> Res<String> {
    let bytes = std::fs::read(setup.root.join("assets").join(METRICS_PATH))
        .map_err(|x| format!("{METRICS_PATH}: {x}"))?;
    let metrics = compute::align::metrics::Metrics::parse(&bytes)?;
    metrics.best(method).map(|r| r.key.clone()).ok_or_else(|| {
        format!("no {method} run within the KL budget in {METRICS_PATH} yet (cargo xtask train align --method {method})")
    })
}

/// `align --method …`.
pub fn run(
    root: &Path,
    method: &str,
    beta: f64,
    kl: f64,
    oracle: bool,
    iterations: usize,
) -> Res<()> {
    let setup = Setup::load(root)?;
    match method {
        "base" => base(&setup),
        "rm" => train_rm(&setup),
        "dpo" => dpo(&setup, beta),
        "ppo" => ppo(&setup, kl, oracle, iterations),
        "best-of-n" => best_of_n(&setup),
        other => Err(format!(
            "--method {other}: expected base, rm, dpo, ppo or best-of-n"
        )),
    }
}
