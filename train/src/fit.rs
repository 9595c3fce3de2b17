//! Minibatch AdamW with early stopping on validation NLL; the best epoch's
//! parameters are kept. Everything random comes from the seed.

use std::time::{Duration, Instant};

use candle_core::{Device, Result, Tensor, Var};
use candle_nn::{AdamW, Optimizer, ParamsAdamW};
use compute::inputs::SplitMix64;
use serde::Serialize;

use crate::{
    ar::{nll_per_image, ArModel},
    data::{Split, PIXELS},
};

#[derive(Debug, Clone)]
pub struct FitConfig {
    pub batch: usize,
    pub lr: f64,
    pub weight_decay: f64,
    pub max_epochs: usize,
    /// Epochs without a better validation NLL before stopping.
    pub patience: usize,
    pub seed: u64,
    pub time_budget: Duration,
}

#[derive(Debug, Clone, Serialize)]
pub struct Epoch {
    pub epoch: usize,
    pub train_nll_nats: f64,
    pub val_nll_nats: f64,
    pub seconds: f64,
}

#[derive(Debug, Clone, Serialize)]
pub struct FitReport {
    pub epochs: usize,
    pub best_epoch: usize,
    pub train_seconds: f64,
    pub curve: Vec<Epoch>,
}

fn batch_tensor(split: &Split, indices: &[usize]) -> Result<Tensor> {
    let mut x = Vec::with_capacity(indices.len() * PIXELS);
    for &i in indices {
        x.extend_from_slice(&split.x[i * PIXELS..(i + 1) * PIXELS]);
    }
    Tensor::from_vec(x, (indices.len(), PIXELS), &Device::Cpu)
}

/// Mean −log p(x) in nats over a split.
pub fn mean_nll(model: &impl ArModel, split: &Split, batch: usize) -> Result<f64> {
    let mut total = 0.0;
    let indices: Vec<usize> = (0..split.len()).collect();
    for chunk in indices.chunks(batch) {
        let x = batch_tensor(split, chunk)?;
        total += nll_per_image(&model.logits(&x)?, &x)?
            .sum_all()?
            .to_scalar::<f32>()? as f64;
    }
    Ok(total / split.len() as f64)
}

/// The epoch loop every trainer shares: a seeded Fisher–Yates shuffle each
/// epoch, `train_epoch` (returns the summed per-image loss), validation,
/// a snapshot of the best epoch, and early stopping. Returns the report and
/// the best snapshot.
fn run_epochs<S, B>(
    train_len: usize,
    cfg: &FitConfig,
    state: &mut S,
    mut train_epoch: impl FnMut(&mut S, usize, &[usize]) -> Result<f64>,
    mut validate: impl FnMut(&S) -> Result<f64>,
    mut snapshot: impl FnMut(&S) -> Result<B>,
    mut log: impl FnMut(&Epoch),
) -> Result<(FitReport, B)> {
    let start = Instant::now();
    let mut rng = SplitMix64::new(cfg.seed);
    let mut order: Vec<usize> = (0..train_len).collect();
    let mut best: Option<(f64, usize, B)> = None;
    let mut curve = Vec::new();
    for epoch in 1..=cfg.max_epochs {
        for i in (1..order.len()).rev() {
            order.swap(i, (rng.next_u64() % (i as u64 + 1)) as usize);
        }
        let sum = train_epoch(state, epoch, &order)?;
        let e = Epoch {
            epoch,
            train_nll_nats: sum / train_len as f64,
            val_nll_nats: validate(state)?,
            seconds: start.elapsed().as_secs_f64(),
        };
        log(&e);
        if best.as_ref().is_none_or(|(v, _, _)| e.val_nll_nats < *v) {
            best = Some((e.val_nll_nats, epoch, snapshot(state)?));
        }
        let best_epoch = best.as_ref().map_or(epoch, |b| b.1);
        curve.push(e);
        if epoch - best_epoch >= cfg.patience || start.elapsed() > cfg.time_budget {
            break;
        }
    }
    let (_, best_epoch, kept) =
        best.ok_or_else(|| candle_core::Error::Msg("no epoch ran".into()))?;
    let report = FitReport {
        epochs: curve.len(),
        best_epoch,
        train_seconds: start.elapsed().as_secs_f64(),
        curve,
    };
    Ok((report, kept))
}

/// The AdamW loop both autodiff trainers share: `train_epoch` takes the
/// optimiser, the epoch and the shuffled order and returns the summed
/// per-digit loss; the best epoch's values are put back into `vars`.
fn fit_adamw(
    vars: Vec<Var>,
    train_len: usize,
    cfg: &FitConfig,
    train_epoch: impl FnMut(&mut AdamW, usize, &[usize]) -> Result<f64>,
    validate: impl FnMut(&AdamW) -> Result<f64>,
    log: impl FnMut(&Epoch),
) -> Result<FitReport> {
    let mut opt = AdamW::new(
        vars.clone(),
        ParamsAdamW {
            lr: cfg.lr,
            weight_decay: cfg.weight_decay,
            ..Default::default()
        },
    )?;
    let (report, params) = run_epochs(
        train_len,
        cfg,
        &mut opt,
        train_epoch,
        validate,
        |_| {
            vars.iter()
                .map(|v| v.as_tensor().copy())
                .collect::<Result<Vec<Tensor>>>()
        },
        log,
    )?;
    for (var, value) in vars.iter().zip(&params) {
        var.set(value)?;
    }
    Ok(report)
}

/// Minibatch AdamW through candle's autodiff; keeps the best epoch's parameters.
pub fn fit(
    model: &impl ArModel,
    train: &Split,
    val: &Split,
    cfg: &FitConfig,
    log: impl FnMut(&Epoch),
) -> Result<FitReport> {
    fit_adamw(
        model.vars(),
        train.len(),
        cfg,
        |opt, epoch, order| {
            let mut sum = 0.0;
            for (step, chunk) in order.chunks(cfg.batch).enumerate() {
                // Not from the shuffle's generator: models without per-step choices keep their shuffles.
                model.before_step(epoch * 1_000_003 + step);
                let x = batch_tensor(train, chunk)?;
                let loss = nll_per_image(&model.logits(&x)?, &x)?.mean(0)?;
                opt.backward_step(&loss)?;
                sum += loss.to_scalar::<f32>()? as f64 * chunk.len() as f64;
            }
            Ok(sum)
        },
        |_| mean_nll(model, val, 500),
        log,
    )
}

/// Mean −log p(x) over a split with the hand-written NADE forward, on all cores.
pub fn nade_mean_nll(
    params: &crate::ar::nade_grad::NadeParams,
    split: &Split,
    threads: usize,
) -> f64 {
    let images: Vec<&[f32]> = split.x.chunks(PIXELS).collect();
    let chunk = images.len().div_ceil(threads.max(1)).max(1);
    let total: f64 = std::thread::scope(|scope| {
        let parts: Vec<_> = images
            .chunks(chunk)
            .map(|part| scope.spawn(move || part.iter().map(|x| params.nll(x) as f64).sum::<f64>()))
            .collect();
        parts
            .into_iter()
            .map(|h| h.join().expect("evaluation thread panicked"))
            .sum()
    });
    total / split.len() as f64
}

/// [`fit`] for NADE through the hand-written gradient (`ar::nade_grad`), which
/// is exact (tested against autodiff) and orders of magnitude faster here.
pub fn fit_nade(
    model: &crate::ar::nade::Nade,
    train: &Split,
    val: &Split,
    cfg: &FitConfig,
    log: impl FnMut(&Epoch),
) -> Result<FitReport> {
    use crate::ar::nade_grad::Adam;
    let threads = std::thread::available_parallelism().map_or(2, |n| n.get());
    let params = model.to_params()?;
    let adam = Adam::new(&params, cfg.lr as f32);
    let (report, best) = run_epochs(
        train.len(),
        cfg,
        &mut (params, adam),
        |(params, adam), _, order| {
            let mut sum = 0.0;
            for chunk in order.chunks(cfg.batch) {
                let images: Vec<&[f32]> = chunk
                    .iter()
                    .map(|&i| &train.x[i * PIXELS..(i + 1) * PIXELS])
                    .collect();
                let (loss, grad) = params.batch_grad(&images, threads);
                adam.update(params, &grad);
                sum += loss as f64 * chunk.len() as f64;
            }
            Ok(sum)
        },
        |(params, _)| Ok(nade_mean_nll(params, val, threads)),
        |(params, _)| Ok(params.clone()),
        log,
    )?;
    model.set_params(&best)?;
    Ok(report)
}

/// [`fit`] for chapter 2's transformer: the same epoch loop over digits
/// given as patch ids, with a categorical loss.
pub fn fit_attention(
    model: &crate::attention::DigitTransformer,
    train: &[u32],
    val: &[u32],
    cfg: &FitConfig,
    log: impl FnMut(&Epoch),
) -> Result<FitReport> {
    use crate::attention::{batch, mean_nll};
    let positions = compute::models::digit_transformer::POSITIONS;
    fit_adamw(
        model.vars(),
        train.len() / positions,
        cfg,
        |opt, _, order| {
            let mut sum = 0.0;
            for chunk in order.chunks(cfg.batch) {
                let loss = model.nll(&batch(train, chunk)?)?.mean(0)?;
                // Per patch, so the step size does not depend on the sequence length.
                opt.backward_step(&(&loss / positions as f64)?)?;
                sum += loss.to_scalar::<f32>()? as f64 * chunk.len() as f64;
            }
            Ok(sum)
        },
        |_| mean_nll(model, val, 250),
        log,
    )
}
