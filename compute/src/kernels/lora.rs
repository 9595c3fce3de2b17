//! Driver for `shaders/lora.wgsl`: C = α·op(A)·op(B) (+ C) over strided
//! views, the one product every LoRA branch needs, forward and backward.

use crate::{
    error::ComputeError,
    executor::{GpuTensor, Kernel, Recording},
};

pub const KERNEL: Kernel = Kernel {
    family: "lora",
    wgsl: include_str!(concat!(env!("OUT_DIR"), "/shaders/lora.wgsl")),
    workgroup: 8,
    constants: &[],
};

/// A matrix inside a buffer: element (i, j) at `offset + i·row + j·col`.
/// A row-major [r, c] matrix is `(offset, c, 1)`; its transpose `(offset,
/// 1, c)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct View {
    pub offset: usize,
    pub row: usize,
    pub col: usize,
}

impl View {
    pub fn rows(offset: usize, cols: usize) -> View {
        View {
            offset,
            row: cols,
            col: 1,
        }
    }

    /// The transpose of a row-major matrix with `cols` columns.
    pub fn transposed(offset: usize, cols: usize) -> View {
        View {
            offset,
            row: 1,
            col: cols,
        }
    }

    /// The largest index + 1 an [m, n] view touches.
    fn extent(&self, m: usize, n: usize) -> usize {
        self.offset + (m - 1) * self.row + (n - 1) * self.col + 1
    }
}

/// Sizes of C = op(A) [m, k] · op(B) [k, n].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Product {
    pub m: usize,
    pub k: usize,
    pub n: usize,
}

/// Records C(view) = α·A(view)·B(view), or C += … when `accumulate`.
#[allow(clippy::too_many_arguments)]
pub fn matmul_strided(
    rec: &mut Recording<'_>,
    (a, av): (&GpuTensor, View),
    (b, bv): (&GpuTensor, View),
    (c, cv): (&GpuTensor, View),
    size: Product,
    alpha: f32,
    accumulate: bool,
) -> Result<(), ComputeError> {
    let Product { m, k, n } = size;
    if m == 0
        || k == 0
        || n == 0
        || av.extent(m, k) > a.len
        || bv.extent(k, n) > b.len
        || cv.extent(m, n) > c.len
    {
        return Err(ComputeError::Shape {
            op: "matmul_strided",
            detail: format!(
                "{size:?} with A {av:?} in {}, B {bv:?} in {}, C {cv:?} in {}",
                a.len, b.len, c.len
            ),
        });
    }
    let wg = KERNEL.workgroup;
    let groups = [(n as u32).div_ceil(wg), (m as u32).div_ceil(wg), 1];
    if groups[0].max(groups[1]) > 65535 {
        return Err(ComputeError::Shape {
            op: "matmul_strided",
            detail: format!("{size:?} needs too many workgroups"),
        });
    }
    let params = [
        m as u32,
        n as u32,
        k as u32,
        av.offset as u32,
        av.row as u32,
        av.col as u32,
        bv.offset as u32,
        bv.row as u32,
        bv.col as u32,
        cv.offset as u32,
        cv.row as u32,
        cv.col as u32,
        alpha.to_bits(),
        u32::from(accumulate),
    ];
    rec.dispatch(
        &KERNEL,
        "matmul_strided",
        &[(1, a), (2, b), (3, c)],
        &params,
        groups,
    );
    Ok(())
}
