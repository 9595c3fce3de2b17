//! Driver for `shaders/fused_linear.wgsl`: a Q8_0 linear layer with its
//! input's positional add, bias, residual, activation and the next
//! LayerNorm in one dispatch. The CPU reference is
//! [`crate::reference::fused_linear::linear_q8_fused_ref`].

use crate::{
    error::ComputeError,
    executor::{Executor, GpuTensor, Kernel, Recording},
    kernels::q8::GpuQ8,
    weights::{padded_cols, Q8Matrix},
};

/// Output features per workgroup, and the only width the LayerNorm takes.
pub const NORM_WIDTH: usize = 64;
const ROWS_PER_GROUP: usize = 16;

pub const KERNEL: Kernel = Kernel {
    family: "fused_linear",
    wgsl: include_str!(concat!(env!("OUT_DIR"), "/shaders/fused_linear.wgsl")),
    // Invocations along the features, four features each.
    workgroup: (NORM_WIDTH / 4) as u32,
    constants: &[],
};

/// The activation applied after the residual add.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum FusedActivation {
    #[default]
    None,
    Relu,
    Sigmoid,
}

/// A linear layer's weights on the GPU, with the LayerNorm that reads its
/// output, if it is fused: [bias | gamma | beta] in one buffer, so that the
/// kernel stays within WebGPU's eight storage buffers.
#[derive(Debug)]
pub struct GpuFusedLinear {
    pub w: GpuQ8,
    vectors: GpuTensor,
    /// The fused LayerNorm's epsilon, if the layer has one.
    norm_eps: Option<f32>,
}

/// The LayerNorm that reads a fused layer's output.
#[derive(Debug, Clone, PartialEq)]
pub struct FusedNorm {
    pub gamma: Vec<f32>,
    pub beta: Vec<f32>,
    pub eps: f32,
}

/// What the fused layer needs on the CPU: its weights, bias, and optionally
/// the LayerNorm after it.
#[derive(Debug, Clone, PartialEq)]
pub struct FusedLinear {
    pub w: Q8Matrix,
    pub b: Vec<f32>,
    pub norm: Option<FusedNorm>,
}

impl FusedLinear {
    pub fn check(&self) -> Result<(), ComputeError> {
        let bad = |detail: String| {
            Err(ComputeError::Shape {
                op: "linear_q8_fused",
                detail,
            })
        };
        if self.b.len() != self.w.rows {
            return bad(format!("{} biases for {} rows", self.b.len(), self.w.rows));
        }
        if let Some(n) = &self.norm {
            if self.w.rows != NORM_WIDTH
                || n.gamma.len() != NORM_WIDTH
                || n.beta.len() != NORM_WIDTH
            {
                return bad(format!(
                    "a fused LayerNorm needs {NORM_WIDTH} features, not {} (gamma {}, beta {})",
                    self.w.rows,
                    n.gamma.len(),
                    n.beta.len()
                ));
            }
        }
        Ok(())
    }
}

impl GpuFusedLinear {
    pub fn upload(exec: &Executor, l: &FusedLinear) -> Result<GpuFusedLinear, ComputeError> {
        l.check()?;
        let mut vectors = l.b.clone();
        if let Some(n) = &l.norm {
            vectors.extend_from_slice(&n.gamma);
            vectors.extend_from_slice(&n.beta);
        }
        Ok(GpuFusedLinear {
            w: GpuQ8::upload(exec, &l.w),
            vectors: exec.upload(&vectors),
            norm_eps: l.norm.as_ref().map(|n| n.eps),
        })
    }
}

/// Where an output goes: a new tensor, or an existing one from a word offset
/// (a slice of the packed readback buffer).
#[derive(Debug, Clone, Copy, Default)]
pub enum Out<'a> {
    #[default]
    New,
    At(&'a GpuTensor, usize),
}

/// Everything around the GEMM; the default is a plain `x·Wᵀ + b`.
#[derive(Debug, Clone, Copy, Default)]
pub struct Fused<'a> {
    /// `x + add` feeds the output features below the count (a multiple of
    /// 64): the positional encoding on queries and keys, not values.
    pub add: Option<(&'a GpuTensor, usize)>,
    /// Added after the bias: the residual stream [m, rows].
    pub residual: Option<&'a GpuTensor>,
    pub activation: FusedActivation,
    pub y: Out<'a>,
    /// The fused LayerNorm's output, if the layer has one.
    pub normed: Out<'a>,
}

/// The new tensors among the outputs.
#[derive(Debug)]
pub struct FusedOutputs {
    pub y: Option<GpuTensor>,
    pub normed: Option<GpuTensor>,
}

fn target(
    rec: &Recording<'_>,
    out: Out<'_>,
    len: usize,
) -> Result<(Option<GpuTensor>, usize), ComputeError> {
    match out {
        Out::New => Ok((Some(rec.exec().empty(len)), 0)),
        Out::At(t, offset) if offset + len <= t.len => Ok((None, offset)),
        Out::At(t, offset) => Err(ComputeError::Shape {
            op: "linear_q8_fused",
            detail: format!("{len} values at {offset} do not fit a tensor of {}", t.len),
        }),
    }
}

/// y[m, rows] = act(x'·Wᵀ + b + residual), and LayerNorm(y) if the layer
/// carries one; see the shader's header for x'.
pub fn linear_q8_fused(
    rec: &mut Recording<'_>,
    x: &GpuTensor,
    l: &GpuFusedLinear,
    m: usize,
    f: Fused<'_>,
) -> Result<FusedOutputs, ComputeError> {
    let (rows, cols) = (l.w.rows, l.w.cols);
    let bad = |detail: String| {
        Err(ComputeError::Shape {
            op: "linear_q8_fused",
            detail,
        })
    };
    if m == 0 || x.len != m * cols {
        return bad(format!("x has {} values, expected {m}·{cols}", x.len));
    }
    if let Some((add, add_rows)) = f.add {
        if add.len != x.len
            || add_rows % NORM_WIDTH != 0
            || add_rows > rows.next_multiple_of(NORM_WIDTH)
        {
            return bad(format!(
                "an add of {} values for {add_rows} features (x has {}, W {rows} rows)",
                add.len, x.len
            ));
        }
    }
    if f.residual.is_some_and(|r| r.len != m * rows) {
        return bad(format!(
            "a residual of {} values for [{m}, {rows}]",
            f.residual.map_or(0, |r| r.len)
        ));
    }
    if matches!(f.normed, Out::At(..)) && l.norm_eps.is_none() {
        return bad("a LayerNorm output for a layer without one".into());
    }
    let (y_new, y_offset) = target(rec, f.y, m * rows)?;
    let (normed_new, n_offset) = if l.norm_eps.is_some() {
        target(rec, f.normed, m * rows)?
    } else {
        (None, 0)
    };
    // With a LayerNorm, rows is NORM_WIDTH: one group across.
    let groups = [
        rows.div_ceil(NORM_WIDTH) as u32,
        m.div_ceil(ROWS_PER_GROUP) as u32,
        1,
    ];
    if groups[1] > 65535 {
        return bad(format!("{m} rows need too many workgroups"));
    }
    let flags = match f.activation {
        FusedActivation::None => 0,
        FusedActivation::Relu => 1,
        FusedActivation::Sigmoid => 2,
    } | if f.residual.is_some() { 4 } else { 0 };
    let params = [
        rows as u32,
        cols as u32,
        padded_cols(cols) as u32,
        m as u32,
        f.add.map_or(0, |(_, n)| n as u32),
        flags,
        y_offset as u32,
        n_offset as u32,
        l.norm_eps.unwrap_or(0.0).to_bits(),
    ];
    let y = match (&y_new, f.y) {
        (Some(t), _) | (None, Out::At(t, _)) => t,
        (None, Out::New) => unreachable!("target makes a tensor for Out::New"),
    };
    // Unused read bindings alias x.
    let mut bindings = vec![
        (1, &l.w.quants),
        (2, &l.w.scales),
        (3, x),
        (4, f.add.map_or(x, |(a, _)| a)),
        (5, &l.vectors),
        (6, f.residual.unwrap_or(x)),
        (7, y),
    ];
    let entry = if l.norm_eps.is_some() {
        let normed = match (&normed_new, f.normed) {
            (Some(t), _) | (None, Out::At(t, _)) => t,
            (None, Out::New) => unreachable!("target makes a tensor for Out::New"),
        };
        bindings.push((8, normed));
        "linear_q8_fused_norm"
    } else {
        "linear_q8_fused"
    };
    rec.dispatch(&KERNEL, entry, &bindings, &params, groups);
    Ok(FusedOutputs {
        y: y_new,
        normed: normed_new,
    })
}
