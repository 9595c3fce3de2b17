//! Autoregressive pixel models: each gives the exact −log p(x) of a binary
//! image as a sum of per-pixel Bernoulli terms in raster order.

pub mod fvsbn;
pub mod made;
pub mod nade;
pub mod nade_grad;
pub mod pixelcnn;

use std::collections::BTreeMap;

use candle_core::{Result, Tensor, Var};
use compute::weights::Tensor as Stored;

pub trait ArModel {
    /// Per-pixel logits of p(x_i = 1 | x_<i), [batch, 784], teacher-forced on `x`.
    fn logits(&self, x: &Tensor) -> Result<Tensor>;
    fn vars(&self) -> Vec<Var>;
    /// The tensors as shipped: large matrices in Q8_0, under the chapter's names.
    fn export(&self) -> Result<BTreeMap<String, Stored>>;
    /// The same model with the shipped tensors' values (Q8_0 dequantized).
    fn from_export(tensors: &BTreeMap<String, Stored>) -> Result<Self>
    where
        Self: Sized;
    fn params(&self) -> usize {
        self.vars().iter().map(|v| v.elem_count()).sum()
    }
    /// The model's exact −log p(x) per image, [batch]. For most models it is
    /// the teacher-forced Bernoulli NLL; MADE mixes over its masks.
    fn nll(&self, x: &Tensor) -> Result<Tensor> {
        nll_per_image(&self.logits(x)?, x)
    }
    /// Called before each training step (MADE picks a mask from it).
    fn before_step(&self, _step: usize) {}
}

/// −log p(x) in nats per image, [batch]: Σ_i softplus(z_i) − x_i·z_i, the
/// Bernoulli NLL written so large |z| neither overflows nor loses precision.
pub fn nll_per_image(logits: &Tensor, x: &Tensor) -> Result<Tensor> {
    let softplus = (logits.relu()? + (logits.abs()?.neg()?.exp()? + 1.0)?.log()?)?;
    (softplus - (x * logits)?)?.sum(1)
}
