use candle_core::{Device, Tensor, D};

use crate::{error::ComputeError, kernels::rope::RopeShape};

/// NeoX-layout rotary embedding built from candle ops: the same formula
/// candle-nn's `rope` implements, on the same host-computed tables.
pub fn rope_ref(
    x: &[f32],
    cos: &[f32],
    sin: &[f32],
    shape: RopeShape,
) -> Result<Vec<f32>, ComputeError> {
    let RopeShape {
        tokens,
        heads,
        head_dim,
        pos0,
    } = shape;
    let half = head_dim / 2;
    let dev = &Device::Cpu;
    let x = Tensor::from_slice(x, (tokens, heads, head_dim), dev)?;
    let table = |t: &[f32]| -> Result<Tensor, ComputeError> {
        Ok(Tensor::from_slice(
            &t[pos0 * half..(pos0 + tokens) * half],
            (tokens, 1, half),
            dev,
        )?)
    };
    let (cos, sin) = (table(cos)?, table(sin)?);
    let x1 = x.narrow(D::Minus1, 0, half)?;
    let x2 = x.narrow(D::Minus1, half, half)?;
    let first = (x1.broadcast_mul(&cos)? - x2.broadcast_mul(&sin)?)?;
    let second = (x1.broadcast_mul(&sin)? + x2.broadcast_mul(&cos)?)?;
    Ok(Tensor::cat(&[first, second], D::Minus1)?
        .flatten_all()?
        .to_vec1()?)
}

/// Meta's interleaved layout in plain Rust: elements 2i and 2i + 1 of each
/// head rotate together by angle(pos0 + t, i), from the same tables.
pub fn rope_interleaved_ref(
    x: &[f32],
    cos: &[f32],
    sin: &[f32],
    shape: RopeShape,
) -> Result<Vec<f32>, ComputeError> {
    let RopeShape {
        tokens,
        heads,
        head_dim,
        pos0,
    } = shape;
    let half = head_dim / 2;
    if head_dim == 0 || head_dim % 2 == 1 || x.len() != tokens * heads * head_dim {
        return Err(ComputeError::Shape {
            op: "rope_interleaved",
            detail: format!("x has {} values for {shape:?}", x.len()),
        });
    }
    if cos.len() < (pos0 + tokens) * half || sin.len() < (pos0 + tokens) * half {
        return Err(ComputeError::Shape {
            op: "rope_interleaved",
            detail: format!("tables too short for {shape:?}"),
        });
    }
    let mut out = x.to_vec();
    for (row, chunk) in out.chunks_mut(head_dim).enumerate() {
        let p = pos0 + row / heads.max(1);
        for i in 0..half {
            let (c, s) = (cos[p * half + i], sin[p * half + i]);
            let (a, b) = (chunk[2 * i], chunk[2 * i + 1]);
            chunk[2 * i] = a * c - b * s;
            chunk[2 * i + 1] = a * s + b * c;
        }
    }
    Ok(out)
}
