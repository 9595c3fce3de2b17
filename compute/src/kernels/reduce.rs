//! Driver for `shaders/reduce.wgsl`: row-wise softmax, layernorm, rmsnorm.

use crate::{
    error::ComputeError,
    executor::{groups_1d, GpuTensor, Kernel, Recording},
};

pub const KERNEL: Kernel = Kernel {
    family: "reduce",
    wgsl: include_str!(concat!(env!("OUT_DIR"), "/shaders/reduce.wgsl")),
    workgroup: 256,
    constants: &[],
};

/// Rows × columns of the matrix a reduction runs over, row by row.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rows {
    pub rows: usize,
    pub cols: usize,
}

impl Rows {
    fn check(
        &self,
        op: &'static str,
        x: &GpuTensor,
        params: &[&GpuTensor],
    ) -> Result<(), ComputeError> {
        if self.rows == 0 || self.cols == 0 || x.len != self.rows * self.cols {
            return Err(ComputeError::Shape {
                op,
                detail: format!("x has {} values for {self:?}", x.len),
            });
        }
        if let Some(t) = params.iter().find(|t| t.len != self.cols) {
            return Err(ComputeError::Shape {
                op,
                detail: format!("a gain/bias has {} values, not {}", t.len, self.cols),
            });
        }
        Ok(())
    }

    fn params(&self, eps: f32) -> [u32; 3] {
        [self.rows as u32, self.cols as u32, eps.to_bits()]
    }
}

pub fn softmax(
    rec: &mut Recording<'_>,
    x: &GpuTensor,
    shape: Rows,
) -> Result<GpuTensor, ComputeError> {
    shape.check("softmax", x, &[])?;
    let y = rec.exec().empty(x.len);
    rec.dispatch(
        &KERNEL,
        "softmax_rows",
        &[(1, x), (4, &y)],
        &shape.params(0.0),
        groups_1d(shape.rows, 1),
    );
    Ok(y)
}

pub fn layernorm(
    rec: &mut Recording<'_>,
    x: &GpuTensor,
    gamma: &GpuTensor,
    beta: &GpuTensor,
    shape: Rows,
    eps: f32,
) -> Result<GpuTensor, ComputeError> {
    shape.check("layernorm", x, &[gamma, beta])?;
    let y = rec.exec().empty(x.len);
    let bindings = [(1, x), (2, gamma), (3, beta), (4, &y)];
    rec.dispatch(
        &KERNEL,
        "layernorm_rows",
        &bindings,
        &shape.params(eps),
        groups_1d(shape.rows, 1),
    );
    Ok(y)
}

pub fn rmsnorm(
    rec: &mut Recording<'_>,
    x: &GpuTensor,
    gamma: &GpuTensor,
    shape: Rows,
    eps: f32,
) -> Result<GpuTensor, ComputeError> {
    shape.check("rmsnorm", x, &[gamma])?;
    let y = rec.exec().empty(x.len);
    rec.dispatch(
        &KERNEL,
        "rmsnorm_rows",
        &[(1, x), (2, gamma), (4, &y)],
        &shape.params(eps),
        groups_1d(shape.rows, 1),
    );
    Ok(y)
}
