use candle_core::{Device, Tensor};

use crate::{
    error::ComputeError,
    kernels::elementwise::{Activation, Binary},
};

/// The activation on the CPU: candle for relu and gelu (tanh approximation),
/// plain Rust for the three candle-core lacks.
pub fn activation_ref(x: &[f32], op: Activation) -> Result<Vec<f32>, ComputeError> {
    let t = || Tensor::from_slice(x, x.len(), &Device::Cpu);
    Ok(match op {
        Activation::Relu => t()?.relu()?.to_vec1()?,
        Activation::Gelu => t()?.gelu()?.to_vec1()?,
        Activation::Sigmoid => x.iter().map(|&v| 1.0 / (1.0 + (-v).exp())).collect(),
        Activation::Softplus => x
            .iter()
            .map(|&v| v.max(0.0) + (-v.abs()).exp().ln_1p())
            .collect(),
        Activation::Silu => x.iter().map(|&v| v / (1.0 + (-v).exp())).collect(),
    })
}

/// `a ∘ b` with `b` broadcast as a row over `a`'s rows, by candle.
pub fn binary_ref(a: &[f32], b: &[f32], op: Binary) -> Result<Vec<f32>, ComputeError> {
    if b.is_empty() || !a.len().is_multiple_of(b.len()) {
        return Err(ComputeError::Shape {
            op: op.entry_point(),
            detail: "b must divide a".into(),
        });
    }
    let ta = Tensor::from_slice(a, (a.len() / b.len(), b.len()), &Device::Cpu)?;
    let tb = Tensor::from_slice(b, b.len(), &Device::Cpu)?;
    let out = match op {
        Binary::Add => ta.broadcast_add(&tb)?,
        Binary::Mul => ta.broadcast_mul(&tb)?,
    };
    Ok(out.flatten_all()?.to_vec1()?)
}

/// `acc += scale[row] · matrix[row, :]`, as the GPU's `add_scaled_row`.
pub fn add_scaled_row_ref(
    acc: &mut [f32],
    matrix: &[f32],
    scale: &[f32],
    row: usize,
) -> Result<(), ComputeError> {
    let cols = acc.len();
    let (Some(m), Some(&s)) = (matrix.get(row * cols..(row + 1) * cols), scale.get(row)) else {
        return Err(ComputeError::Shape {
            op: "add_scaled_row",
            detail: format!("row {row} is out of range"),
        });
    };
    for (a, w) in acc.iter_mut().zip(m) {
        *a += s * w;
    }
    Ok(())
}
