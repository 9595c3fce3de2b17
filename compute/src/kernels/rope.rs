//! Driver for `shaders/rope.wgsl`: rotary position embedding, in the NeoX
//! layout (halves paired) and Meta's LLaMA layout (neighbours paired).

use crate::{
    error::ComputeError,
    executor::{groups_1d, GpuTensor, Kernel, Recording},
};

pub const KERNEL: Kernel = Kernel {
    family: "rope",
    wgsl: include_str!(concat!(env!("OUT_DIR"), "/shaders/rope.wgsl")),
    workgroup: 256,
    constants: &[],
};

/// [tokens, heads, head_dim] activations starting at position `pos0`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RopeShape {
    pub tokens: usize,
    pub heads: usize,
    pub head_dim: usize,
    pub pos0: usize,
}

/// cos and sin tables, [max_pos, head_dim / 2], for frequency base `theta`
/// (10000 in most models): angle(p, i) = p · theta^(−2i / head_dim).
pub fn rope_tables(max_pos: usize, head_dim: usize, theta: f64) -> (Vec<f32>, Vec<f32>) {
    let half = head_dim / 2;
    let mut cos = Vec::with_capacity(max_pos * half);
    let mut sin = Vec::with_capacity(max_pos * half);
    for p in 0..max_pos {
        for i in 0..half {
            let angle = p as f64 * theta.powf(-2.0 * i as f64 / head_dim as f64);
            cos.push(angle.cos() as f32);
            sin.push(angle.sin() as f32);
        }
    }
    (cos, sin)
}

/// NeoX layout: element i pairs with i + head_dim/2.
pub fn rope(
    rec: &mut Recording<'_>,
    x: &GpuTensor,
    cos: &GpuTensor,
    sin: &GpuTensor,
    shape: RopeShape,
) -> Result<GpuTensor, ComputeError> {
    rope_entry(rec, x, cos, sin, shape, "rope_neox")
}

/// Meta's layout: elements 2i and 2i + 1 pair, rotated by angle(p, i).
pub fn rope_interleaved(
    rec: &mut Recording<'_>,
    x: &GpuTensor,
    cos: &GpuTensor,
    sin: &GpuTensor,
    shape: RopeShape,
) -> Result<GpuTensor, ComputeError> {
    rope_entry(rec, x, cos, sin, shape, "rope_interleaved")
}

fn rope_entry(
    rec: &mut Recording<'_>,
    x: &GpuTensor,
    cos: &GpuTensor,
    sin: &GpuTensor,
    shape: RopeShape,
    entry: &'static str,
) -> Result<GpuTensor, ComputeError> {
    let RopeShape {
        tokens,
        heads,
        head_dim,
        pos0,
    } = shape;
    let half = head_dim / 2;
    if head_dim == 0 || head_dim % 2 == 1 || x.len != tokens * heads * head_dim {
        return Err(ComputeError::Shape {
            op: "rope",
            detail: format!(
                "x has {} values for {shape:?} (head_dim must be even)",
                x.len
            ),
        });
    }
    if cos.len != sin.len || cos.len < (pos0 + tokens) * half {
        return Err(ComputeError::Shape {
            op: "rope",
            detail: format!(
                "tables cover {} positions, {shape:?} needs {}",
                cos.len / half.max(1),
                pos0 + tokens
            ),
        });
    }
    let out = rec.exec().empty(x.len);
    let params = [tokens as u32, heads as u32, head_dim as u32, pos0 as u32];
    let bindings = [(1, x), (2, cos), (3, sin), (4, &out)];
    rec.dispatch(
        &KERNEL,
        entry,
        &bindings,
        &params,
        groups_1d(tokens * heads * half, KERNEL.workgroup),
    );
    Ok(out)
}
