//! Driver for `shaders/sample.wgsl`: Bernoulli, categorical and argmax
//! sampling on the GPU with a counter-based PRNG.

use crate::{
    error::ComputeError,
    executor::{GpuTensor, Kernel, Recording},
};

pub const KERNEL: Kernel = Kernel {
    family: "sample",
    wgsl: include_str!(concat!(env!("OUT_DIR"), "/shaders/sample.wgsl")),
    workgroup: 64,
    constants: &[],
};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Sampler {
    /// probs holds one probability per row.
    Bernoulli,
    /// probs holds a row of unnormalised probabilities per sample.
    Categorical,
    Argmax,
}

impl Sampler {
    pub fn entry_point(self) -> &'static str {
        match self {
            Sampler::Bernoulli => "bernoulli",
            Sampler::Categorical => "categorical",
            Sampler::Argmax => "argmax",
        }
    }
}

/// Where the samples go: `out[offset + row]`, as f32 values (pixels) or u32
/// indices (token ids for an embedding).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SampleTarget {
    pub offset: usize,
    pub as_index: bool,
}

/// Records a draw for each of `rows` rows. `step` and `seed` pick the random
/// numbers: the same (seed, step, row) always gives the same draw.
#[allow(clippy::too_many_arguments)]
pub fn sample(
    rec: &mut Recording<'_>,
    sampler: Sampler,
    probs: &GpuTensor,
    rows: usize,
    cols: usize,
    seed: u64,
    step: u32,
    out: &GpuTensor,
    target: SampleTarget,
) -> Result<(), ComputeError> {
    let need = if sampler == Sampler::Bernoulli {
        rows
    } else {
        rows * cols
    };
    if rows == 0 || cols == 0 || probs.len < need || out.len < target.offset + rows {
        return Err(ComputeError::Shape {
            op: "sample",
            detail: format!(
                "{rows}×{cols} from {} probabilities into {} slots at {}",
                probs.len, out.len, target.offset
            ),
        });
    }
    let params = [
        rows as u32,
        cols as u32,
        step,
        seed as u32,
        (seed >> 32) as u32,
        target.offset as u32,
        target.as_index as u32,
    ];
    rec.dispatch(
        &KERNEL,
        sampler.entry_point(),
        &[(1, probs), (2, out)],
        &params,
        [(rows as u32).div_ceil(KERNEL.workgroup), 1, 1],
    );
    Ok(())
}
