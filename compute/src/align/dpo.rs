//! Direct preference optimisation (Rafailov et al. 2023, arXiv:2305.18290)
//! on the Tang LLaMA with a LoRA adapter; the frozen base, without the
//! adapter, is π_ref. For a preferred poem y_w and a rejected y_l,
//!   h = [log π(y_w) − log π_ref(y_w)] − [log π(y_l) − log π_ref(y_l)],
//!   L = −log σ(β·h),
//! and β·(log π(y) − log π_ref(y)) is the implicit reward.
//!
//! `CpuDpo` trains with candle's autodiff: the native recipe and the page
//! without WebGPU. A poem's log-probability sums its characters and
//! `<eos>` (never `<bos>` or the form token), as chapter 4's NLL does.

use candle_core::{DType, Device, Tensor, D};

use crate::{
    error::ComputeError,
    models::llama::lora::{
        cpu::{branch_vars, flat_gradients, log_softmax, Branches, Frozen},
        Adapter,
    },
    reference::backprop::{adamw_ref, AdamW},
    tang::EOS,
};

fn err(e: candle_core::Error) -> ComputeError {
    ComputeError::Cpu(format!("dpo: {e}"))
}

/// Best-of-N's KL from the policy it samples: log N − (N − 1)/N (an upper
/// bound, exact when no two samples tie; Stiennon et al. 2020, Appendix).
pub fn best_of_n_kl(n: usize) -> f64 {
    let n = n.max(1) as f64;
    n.ln() - (n - 1.0) / n
}

/// The implicit reward β·(log π(y) − log π_ref(y)).
pub fn implicit_reward(beta: f64, logp: f64, ref_logp: f64) -> f64 {
    beta * (logp - ref_logp)
}

/// The DPO loss of one pair from its four log-probabilities.
pub fn dpo_loss(beta: f64, chosen: (f64, f64), rejected: (f64, f64)) -> f64 {
    let h = (chosen.0 - chosen.1) - (rejected.0 - rejected.1);
    // −log σ(x) = softplus(−x), written to stay finite for large |x|.
    let x = -beta * h;
    x.max(0.0) + (-x.abs()).exp().ln_1p()
}

/// Sequences padded on the right with `<eos>` to one length: the ids
/// [N, L − 1] fed (every token but the last), and a mask [N, L − 2] over
/// the scored targets (tokens 2..len of each). Causal attention keeps the
/// padding from touching any real position.
pub fn padded(seqs: &[&[u32]]) -> candle_core::Result<(Tensor, Tensor, Tensor)> {
    let len = seqs.iter().map(|s| s.len()).max().unwrap_or(3).max(3);
    let n = seqs.len();
    let mut ids = Vec::with_capacity(n * len);
    let mut mask = Vec::with_capacity(n * (len - 2));
    for s in seqs {
        ids.extend_from_slice(s);
        ids.extend(std::iter::repeat_n(EOS, len - s.len()));
        mask.extend((2..len).map(|p| if p < s.len() { 1f32 } else { 0.0 }));
    }
    let all = Tensor::from_vec(ids, (n, len), &Device::Cpu)?;
    Ok((
        all.narrow(1, 0, len - 1)?,
        all.narrow(1, 2, len - 2)?.contiguous()?,
        Tensor::from_vec(mask, (n, len - 2), &Device::Cpu)?,
    ))
}

/// log p of every scored token [N, L − 2] (0 where padded), with the
/// adapter's branches if given.
pub fn token_logps(
    frozen: &Frozen,
    branches: Option<(&Branches, f64)>,
    seqs: &[&[u32]],
) -> candle_core::Result<Tensor> {
    let (inputs, targets, mask) = padded(seqs)?;
    let logits = frozen.logits(&inputs, branches)?;
    scored_logps(&logits, &targets, &mask, 1.0)
}

/// From logits over the fed ids [N, L − 1, vocab]: log p of each scored
/// target under softmax(logits / temperature), masked.
pub fn scored_logps(
    logits: &Tensor,
    targets: &Tensor,
    mask: &Tensor,
    temperature: f64,
) -> candle_core::Result<Tensor> {
    let t = logits.dim(1)?;
    let mut scored = logits.narrow(1, 1, t - 1)?.contiguous()?;
    if temperature != 1.0 {
        scored = (scored / temperature)?;
    }
    log_softmax(&scored)?
        .gather(&targets.unsqueeze(D::Minus1)?, D::Minus1)?
        .squeeze(D::Minus1)?
        .mul(mask)
}

/// Each sequence's summed log p [N].
pub fn sequence_logps(
    frozen: &Frozen,
    branches: Option<(&Branches, f64)>,
    seqs: &[&[u32]],
) -> candle_core::Result<Tensor> {
    token_logps(frozen, branches, seqs)?.sum(1)
}

/// A preference: both poems as whole token sequences (`<bos> <form> …
/// <eos>`), and π_ref's log-probability of each, computed once.
#[derive(Debug, Clone, PartialEq)]
pub struct Preference {
    pub chosen: Vec<u32>,
    pub rejected: Vec<u32>,
    pub ref_chosen: f64,
    pub ref_rejected: f64,
}

/// π_ref's log-probabilities of `seqs`, in batches of `batch`.
pub fn reference_logps(
    frozen: &Frozen,
    seqs: &[&[u32]],
    batch: usize,
) -> Result<Vec<f64>, ComputeError> {
    let mut out = Vec::with_capacity(seqs.len());
    for chunk in seqs.chunks(batch.max(1)) {
        let l = sequence_logps(frozen, None, chunk)
            .and_then(|t| t.to_vec1::<f32>())
            .map_err(err)?;
        out.extend(l.into_iter().map(f64::from));
    }
    Ok(out)
}

/// What one DPO step saw, before its update.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct DpoStep {
    pub loss: f64,
    /// The mean implicit reward margin β·h.
    pub margin: f64,
    /// The share of pairs whose implicit reward already prefers y_w.
    pub accuracy: f64,
}

/// DPO on the CPU: the adapter, AdamW's moments, β.
pub struct CpuDpo {
    pub frozen: Frozen,
    pub adapter: Adapter,
    pub hyper: AdamW,
    pub beta: f64,
    m: Vec<f32>,
    v: Vec<f32>,
    pub steps: usize,
}

impl CpuDpo {
    pub fn new(frozen: Frozen, adapter: Adapter, hyper: AdamW, beta: f64) -> CpuDpo {
        let n = adapter.len();
        CpuDpo {
            frozen,
            adapter,
            hyper,
            beta,
            m: vec![0.0; n],
            v: vec![0.0; n],
            steps: 0,
        }
    }

    /// The mean loss over `pairs` and its gradient for every adapter
    /// number, in `Adapter::flat`'s order.
    pub fn gradients(&self, pairs: &[Preference]) -> Result<(DpoStep, Vec<f32>), ComputeError> {
        if pairs.is_empty() {
            return Err(ComputeError::Shape {
                op: "dpo",
                detail: "no pairs".into(),
            });
        }
        let (vars, branches) = branch_vars(&self.adapter)?;
        let scale = self.adapter.config.scale() as f64;
        let n = pairs.len();
        // Chosen then rejected, one forward pass.
        let seqs: Vec<&[u32]> = pairs
            .iter()
            .map(|p| p.chosen.as_slice())
            .chain(pairs.iter().map(|p| p.rejected.as_slice()))
            .collect();
        let logps = sequence_logps(&self.frozen, Some((&branches, scale)), &seqs).map_err(err)?;
        let refs: Vec<f32> = pairs
            .iter()
            .map(|p| p.ref_chosen as f32)
            .chain(pairs.iter().map(|p| p.ref_rejected as f32))
            .collect();
        let ratios =
            (logps - Tensor::from_vec(refs, 2 * n, &Device::Cpu).map_err(err)?).map_err(err)?;
        let h = (ratios.narrow(0, 0, n).map_err(err)? - ratios.narrow(0, n, n).map_err(err)?)
            .map_err(err)?;
        let x = (h.clone() * -self.beta).map_err(err)?;
        // softplus(x) = max(x, 0) + log(1 + e^−|x|)
        let loss = (x.relu().map_err(err)?
            + (x.abs()
                .map_err(err)?
                .neg()
                .map_err(err)?
                .exp()
                .map_err(err)?
                + 1.0)
                .map_err(err)?
                .log()
                .map_err(err)?)
        .map_err(err)?
        .mean_all()
        .map_err(err)?;
        let flat = flat_gradients(&vars, &loss.backward().map_err(err)?, self.adapter.len())?;
        let h = h.to_vec1::<f32>().map_err(err)?;
        let step = DpoStep {
            loss: loss
                .to_dtype(DType::F64)
                .and_then(|l| l.to_scalar::<f64>())
                .map_err(err)?,
            margin: self.beta * h.iter().map(|&v| v as f64).sum::<f64>() / n as f64,
            accuracy: h.iter().filter(|&&v| v > 0.0).count() as f64 / n as f64,
        };
        Ok((step, flat))
    }

    /// One AdamW step on `pairs`; returns what the step saw before it.
    pub fn step(&mut self, pairs: &[Preference]) -> Result<DpoStep, ComputeError> {
        let (step, grads) = self.gradients(pairs)?;
        let mut params = self.adapter.flat();
        self.steps += 1;
        adamw_ref(
            &mut params,
            &grads,
            &mut self.m,
            &mut self.v,
            self.steps,
            self.hyper,
        );
        self.adapter.set_flat(&params);
        Ok(step)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn best_of_n_costs_log_n_minus_a_bit() {
        assert_eq!(best_of_n_kl(1), 0.0);
        assert!((best_of_n_kl(2) - (2f64.ln() - 0.5)).abs() < 1e-12);
        assert!((best_of_n_kl(16) - (16f64.ln() - 15.0 / 16.0)).abs() < 1e-12);
    }

    #[test]
    fn the_loss_is_log_2_at_the_start_and_falls_as_the_margin_grows() {
        let beta = 0.1;
        let at_start = dpo_loss(beta, (-50.0, -50.0), (-60.0, -60.0));
        assert!((at_start - 2f64.ln()).abs() < 1e-12);
        let better = dpo_loss(beta, (-45.0, -50.0), (-65.0, -60.0));
        assert!(better < at_start);
        // −log σ(βh) for h = 10: log(1 + e^−1).
        assert!((better - (1.0 + (-1f64).exp()).ln()).abs() < 1e-12);
        assert!(dpo_loss(beta, (0.0, 1e6), (0.0, 0.0)).is_finite());
        assert_eq!(implicit_reward(0.5, -40.0, -42.0), 1.0);
    }

    #[test]
    fn padding_masks_the_short_sequence_past_its_end() {
        let (ids, targets, mask) = padded(&[&[1, 3, 10, 11, 2], &[1, 3, 12, 2]]).unwrap();
        assert_eq!(ids.dims(), &[2, 4]);
        assert_eq!(
            targets.to_vec2::<u32>().unwrap(),
            vec![vec![10, 11, 2], vec![12, 2, EOS]]
        );
        assert_eq!(
            mask.to_vec2::<f32>().unwrap(),
            vec![vec![1.0, 1.0, 1.0], vec![1.0, 1.0, 0.0]]
        );
    }
}
