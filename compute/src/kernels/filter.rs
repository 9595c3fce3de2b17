//! Driver for `shaders/filter.wgsl`: temperature, top-k and top-p on the
//! GPU, leaving probabilities the categorical sampler draws from.

use crate::{
    error::ComputeError,
    executor::{GpuTensor, Kernel, Recording},
};

pub const KERNEL: Kernel = Kernel {
    family: "filter",
    wgsl: include_str!(concat!(env!("OUT_DIR"), "/shaders/filter.wgsl")),
    workgroup: 256,
    constants: &[],
};

/// How a row of logits becomes sampling probabilities.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FilterShape {
    pub cols: usize,
    /// > 0; logits are divided by it.
    pub temperature: f32,
    /// 0 keeps every token.
    pub top_k: usize,
    /// In (0, 1]; 1 keeps every token.
    pub top_p: f32,
    /// Tokens 0 … skip_first − 1 are never drawn (chapter 4's `<unk>`).
    pub skip_first: usize,
}

/// softmax(row / temperature) with the first `skip_first` tokens and those
/// under the top-k / top-p threshold zeroed, for the row of `logits` at `offset`: [cols].
pub fn filter_probs(
    rec: &mut Recording<'_>,
    logits: &GpuTensor,
    offset: usize,
    shape: FilterShape,
) -> Result<GpuTensor, ComputeError> {
    let FilterShape {
        cols,
        temperature,
        top_k,
        top_p,
        skip_first,
    } = shape;
    let positive = |v: f32| v > 0.0;
    if cols == 0
        || skip_first >= cols
        || logits.len < offset + cols
        || !positive(temperature)
        || !positive(top_p)
    {
        return Err(ComputeError::Shape {
            op: "filter_probs",
            detail: format!("{shape:?} at {offset} of {} logits", logits.len),
        });
    }
    let out = rec.exec().empty(cols);
    let params = [
        cols as u32,
        top_k.min(u32::MAX as usize) as u32,
        top_p.to_bits(),
        (1.0 / temperature).to_bits(),
        offset as u32,
        skip_first as u32,
    ];
    rec.dispatch(
        &KERNEL,
        "filter_probs",
        &[(1, logits), (2, &out)],
        &params,
        [1, 1, 1],
    );
    Ok(out)
}
