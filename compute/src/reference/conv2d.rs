use candle_core::{Device, Tensor};

use crate::{error::ComputeError, kernels::conv2d::Conv2dShape};

/// candle's conv2d on weights with the mask multiplied in, plus the bias.
pub fn conv2d_ref(
    input: &[f32],
    weight: &[f32],
    bias: &[f32],
    s: Conv2dShape,
) -> Result<Vec<f32>, ComputeError> {
    s.check(input.len(), weight.len(), bias.len())?;
    let dev = &Device::Cpu;
    let masked: Vec<f32> = weight
        .iter()
        .enumerate()
        .map(|(i, &w)| {
            let (ky, kx) = ((i / s.k) % s.k, i % s.k);
            if s.mask.allows(s.k, ky, kx) {
                w
            } else {
                0.0
            }
        })
        .collect();
    let x = Tensor::from_slice(input, (s.batch, s.cin, s.h, s.w), dev)?;
    let w = Tensor::from_vec(masked, (s.cout, s.cin, s.k, s.k), dev)?;
    let b = Tensor::from_slice(bias, (1, s.cout, 1, 1), dev)?;
    let y = x.conv2d(&w, s.pad, s.stride, 1, 1)?.broadcast_add(&b)?;
    Ok(y.flatten_all()?.to_vec1()?)
}
