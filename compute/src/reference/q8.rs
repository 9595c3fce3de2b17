use candle_core::{Device, Tensor};

use crate::{error::ComputeError, weights::Q8Matrix};

/// y = x · Wᵀ with W dequantized, by candle: what the Q8 kernels must match.
pub fn linear_q8_ref(x: &[f32], w: &Q8Matrix, m: usize) -> Result<Vec<f32>, ComputeError> {
    let x = Tensor::from_slice(x, (m, w.cols), &Device::Cpu)?;
    let w = Tensor::from_vec(w.dequantize(), (w.rows, w.cols), &Device::Cpu)?;
    Ok(x.matmul(&w.t()?)?.flatten_all()?.to_vec1()?)
}
