//! Driver for `shaders/gemm.wgsl`: C[m, n] = A[m, k] · B[k, n], f32, row-major.

use crate::{
    error::ComputeError,
    executor::{GpuTensor, Kernel, Recording},
};

pub const KERNEL: Kernel = Kernel {
    family: "gemm",
    wgsl: include_str!(concat!(env!("OUT_DIR"), "/shaders/gemm.wgsl")),
    workgroup: 16,
    constants: &[],
};

/// Rows and columns of the C block one `gemm_f32` workgroup computes: WG × WG
/// invocations, each holding 8 rows × one vec4 of columns (the shader's
/// accumulator layout).
pub const BLOCK_M: u32 = 8 * KERNEL.workgroup;
pub const BLOCK_N: u32 = 4 * KERNEL.workgroup;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum GemmVariant {
    /// Workgroup tiles and a 4 × 4 register block per invocation.
    F32Tiled,
    /// One invocation per output, no tiling: the benchmark's baseline.
    F32Naive,
}

impl GemmVariant {
    pub fn entry_point(self) -> &'static str {
        match self {
            GemmVariant::F32Tiled => "gemm_f32",
            GemmVariant::F32Naive => "gemm_f32_naive",
        }
    }
}

/// Logical sizes of one multiply.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GemmShape {
    pub m: usize,
    pub k: usize,
    pub n: usize,
}

impl GemmShape {
    /// Checks that the operands have the lengths the shape implies.
    pub fn check(&self, a: usize, b: usize) -> Result<(), ComputeError> {
        let bad = |detail: String| Err(ComputeError::Shape { op: "gemm", detail });
        if self.m == 0 || self.k == 0 || self.n == 0 {
            return bad(format!("every dimension must be positive, got {self:?}"));
        }
        if a != self.m * self.k {
            return bad(format!(
                "A has {a} values, expected m·k = {}",
                self.m * self.k
            ));
        }
        if b != self.k * self.n {
            return bad(format!(
                "B has {b} values, expected k·n = {}",
                self.k * self.n
            ));
        }
        Ok(())
    }

    pub fn flops(&self) -> f64 {
        2.0 * (self.m * self.k * self.n) as f64
    }
}

/// Records C = A · B and returns C.
pub fn gemm_f32(
    rec: &mut Recording<'_>,
    a: &GpuTensor,
    b: &GpuTensor,
    shape: GemmShape,
    variant: GemmVariant,
) -> Result<GpuTensor, ComputeError> {
    shape.check(a.len, b.len)?;
    let limit = rec
        .exec()
        .ctx()
        .device
        .limits()
        .max_storage_buffer_binding_size;
    let largest = 4 * [a.len, b.len, shape.m * shape.n]
        .into_iter()
        .max()
        .unwrap_or(0) as u64;
    if largest > limit {
        return Err(ComputeError::Shape {
            op: "gemm",
            detail: format!(
                "an operand needs {largest} bytes, over this GPU's binding limit of {limit}"
            ),
        });
    }
    let (per_m, per_n) = match variant {
        GemmVariant::F32Tiled => (BLOCK_M, BLOCK_N),
        GemmVariant::F32Naive => (KERNEL.workgroup, KERNEL.workgroup),
    };
    let groups = [
        (shape.n as u32).div_ceil(per_n),
        (shape.m as u32).div_ceil(per_m),
        1,
    ];
    if groups[0].max(groups[1]) > 65535 {
        return Err(ComputeError::Shape {
            op: "gemm",
            detail: format!("{shape:?} needs too many workgroups"),
        });
    }
    let c = rec.exec().empty(shape.m * shape.n);
    let params = [shape.m as u32, shape.k as u32, shape.n as u32];
    rec.dispatch(
        &KERNEL,
        variant.entry_point(),
        &[(1, a), (2, b), (3, &c)],
        &params,
        groups,
    );
    Ok(c)
}
