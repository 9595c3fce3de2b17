//! Driver for `shaders/elementwise.wgsl`: activations and broadcasting add/mul.

use crate::{
    error::ComputeError,
    executor::{groups_1d, GpuTensor, Kernel, Recording},
};

pub const KERNEL: Kernel = Kernel {
    family: "elementwise",
    wgsl: include_str!(concat!(env!("OUT_DIR"), "/shaders/elementwise.wgsl")),
    workgroup: 256,
    constants: &[],
};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Activation {
    Relu,
    Gelu,
    Sigmoid,
    Softplus,
    /// x · σ(x), SwiGLU's gate.
    Silu,
}

impl Activation {
    pub const ALL: [Activation; 5] = [
        Activation::Relu,
        Activation::Gelu,
        Activation::Sigmoid,
        Activation::Softplus,
        Activation::Silu,
    ];

    pub fn entry_point(self) -> &'static str {
        match self {
            Activation::Relu => "relu",
            Activation::Gelu => "gelu",
            Activation::Sigmoid => "sigmoid",
            Activation::Softplus => "softplus",
            Activation::Silu => "silu",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Binary {
    Add,
    Mul,
}

impl Binary {
    pub fn entry_point(self) -> &'static str {
        match self {
            Binary::Add => "add",
            Binary::Mul => "mul",
        }
    }
}

pub fn activation(rec: &mut Recording<'_>, x: &GpuTensor, op: Activation) -> GpuTensor {
    let out = rec.exec().empty(x.len);
    let params = [x.len as u32, 1];
    rec.dispatch(
        &KERNEL,
        op.entry_point(),
        &[(1, x), (3, &out)],
        &params,
        groups_1d(x.len, KERNEL.workgroup),
    );
    out
}

/// `a ∘ b`, where `b` has `a`'s length or divides it (a row broadcast over rows).
pub fn binary(
    rec: &mut Recording<'_>,
    a: &GpuTensor,
    b: &GpuTensor,
    op: Binary,
) -> Result<GpuTensor, ComputeError> {
    if b.len == 0 || !a.len.is_multiple_of(b.len) {
        return Err(ComputeError::Shape {
            op: op.entry_point(),
            detail: format!("b has {} values, which must divide a's {}", b.len, a.len),
        });
    }
    let out = rec.exec().empty(a.len);
    let params = [a.len as u32, b.len as u32];
    rec.dispatch(
        &KERNEL,
        op.entry_point(),
        &[(1, a), (2, b), (3, &out)],
        &params,
        groups_1d(a.len, KERNEL.workgroup),
    );
    Ok(out)
}

/// `x` [rows, cols] row-major → its transpose [cols, rows].
pub fn transpose(
    rec: &mut Recording<'_>,
    x: &GpuTensor,
    rows: usize,
    cols: usize,
) -> Result<GpuTensor, ComputeError> {
    if rows == 0 || cols == 0 || x.len != rows * cols {
        return Err(ComputeError::Shape {
            op: "transpose",
            detail: format!("{} values are not {rows} × {cols}", x.len),
        });
    }
    let out = rec.exec().empty(x.len);
    rec.dispatch(
        &KERNEL,
        "transpose",
        &[(1, x), (3, &out)],
        &[x.len as u32, cols as u32],
        groups_1d(x.len, KERNEL.workgroup),
    );
    Ok(out)
}

/// `acc += scale[row] · matrix[row, :]` in place, with `matrix` [rows, cols]
/// row-major and `acc` of length `cols`.
pub fn add_scaled_row(
    rec: &mut Recording<'_>,
    acc: &GpuTensor,
    matrix: &GpuTensor,
    scale: &GpuTensor,
    row: usize,
) -> Result<(), ComputeError> {
    let cols = acc.len;
    if cols == 0 || matrix.len < (row + 1) * cols || scale.len <= row {
        return Err(ComputeError::Shape {
            op: "add_scaled_row",
            detail: format!(
                "row {row} of {} values in rows of {cols}, scale of {}",
                matrix.len, scale.len
            ),
        });
    }
    rec.dispatch(
        &KERNEL,
        "add_scaled_row",
        &[(1, matrix), (2, scale), (3, acc)],
        &[cols as u32, row as u32],
        groups_1d(cols, KERNEL.workgroup),
    );
    Ok(())
}
