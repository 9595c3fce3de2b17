//! Driver for `shaders/q8.wgsl`: linear layers with Q8_0 weights.

use crate::{
    error::ComputeError,
    executor::{groups_1d, Executor, GpuTensor, Kernel, Recording},
    weights::{padded_cols, Q8Matrix},
};

pub const KERNEL: Kernel = Kernel {
    family: "q8",
    wgsl: include_str!(concat!(env!("OUT_DIR"), "/shaders/q8.wgsl")),
    workgroup: 16,
    constants: &[],
};

/// A Q8_0 matrix [rows, cols] on the GPU: quants and scales bound separately.
#[derive(Debug)]
pub struct GpuQ8 {
    pub rows: usize,
    pub cols: usize,
    pub quants: GpuTensor,
    pub scales: GpuTensor,
}

impl GpuQ8 {
    pub fn upload(exec: &Executor, m: &Q8Matrix) -> GpuQ8 {
        let bytes: Vec<u8> = m.quants.iter().map(|&q| q as u8).collect();
        GpuQ8 {
            rows: m.rows,
            cols: m.cols,
            quants: exec.upload_bytes(&bytes),
            scales: exec.upload(&m.scales),
        }
    }

    /// Bytes one full pass reads from the weights: every quant and every scale.
    pub fn weight_bytes(&self) -> usize {
        self.rows * padded_cols(self.cols) + 4 * self.rows * padded_cols(self.cols) / 32
    }
}

/// y[r] = W[first + r, :] · x for r < count: a GEMV over some rows of W.
pub fn gemv_q8_rows(
    rec: &mut Recording<'_>,
    x: &GpuTensor,
    w: &GpuQ8,
    first: usize,
    count: usize,
) -> Result<GpuTensor, ComputeError> {
    if x.len != w.cols || count == 0 || first + count > w.rows {
        return Err(ComputeError::Shape {
            op: "gemv_q8_rows",
            detail: format!(
                "rows {first}..{} of a {}×{} matrix against {} values",
                first + count,
                w.rows,
                w.cols,
                x.len
            ),
        });
    }
    let y = rec.exec().empty(count);
    let params = [
        count as u32,
        w.cols as u32,
        padded_cols(w.cols) as u32,
        1,
        first as u32,
    ];
    let bindings = [(1, &w.quants), (2, &w.scales), (3, x), (4, &y)];
    rec.dispatch(&KERNEL, "gemv_q8", &bindings, &params, groups_1d(count, 1));
    Ok(y)
}

/// y = W · x with one GPU invocation per row: for short rows (a few hundred
/// weights), where a workgroup per row costs more than the row.
pub fn gemv_q8_short(
    rec: &mut Recording<'_>,
    x: &GpuTensor,
    w: &GpuQ8,
) -> Result<GpuTensor, ComputeError> {
    gemv_q8_short_rows(rec, x, w, 0, w.rows)
}

/// y[r] = W[first + r, :] · x for r < count, one invocation per row (one
/// part of a stacked matrix, such as the K of a stacked Q, K and V).
pub fn gemv_q8_short_rows(
    rec: &mut Recording<'_>,
    x: &GpuTensor,
    w: &GpuQ8,
    first: usize,
    count: usize,
) -> Result<GpuTensor, ComputeError> {
    if x.len != w.cols || count == 0 || first + count > w.rows {
        return Err(ComputeError::Shape {
            op: "gemv_q8_short",
            detail: format!(
                "rows {first}..{} of a {}×{} matrix against {} values",
                first + count,
                w.rows,
                w.cols,
                x.len
            ),
        });
    }
    let y = rec.exec().empty(count);
    let params = [
        count as u32,
        w.cols as u32,
        padded_cols(w.cols) as u32,
        1,
        first as u32,
    ];
    let bindings = [(1, &w.quants), (2, &w.scales), (3, x), (4, &y)];
    let per_group = KERNEL.workgroup * KERNEL.workgroup;
    rec.dispatch(
        &KERNEL,
        "gemv_q8_short",
        &bindings,
        &params,
        groups_1d(count, per_group),
    );
    Ok(y)
}

/// Workgroups for gemm_q8 and q8_backward: each covers 4·WG outputs of
/// `width` and 4·WG of the `m` batch rows.
fn tile_groups(width: usize, m: usize) -> [u32; 3] {
    let wg = KERNEL.workgroup;
    [
        (width as u32).div_ceil(4 * wg),
        (m as u32).div_ceil(4 * wg),
        1,
    ]
}

/// y[m, rows] = x[m, cols] · Wᵀ: the GEMV kernel for one row of x, the tiled
/// GEMM for more.
pub fn linear_q8(
    rec: &mut Recording<'_>,
    x: &GpuTensor,
    w: &GpuQ8,
    m: usize,
) -> Result<GpuTensor, ComputeError> {
    if m == 0 || x.len != m * w.cols {
        return Err(ComputeError::Shape {
            op: "linear_q8",
            detail: format!("x has {} values, expected {m}·{}", x.len, w.cols),
        });
    }
    let y = rec.exec().empty(m * w.rows);
    let params = [
        w.rows as u32,
        w.cols as u32,
        padded_cols(w.cols) as u32,
        m as u32,
        0,
    ];
    let bindings = [(1, &w.quants), (2, &w.scales), (3, x), (4, &y)];
    if m == 1 {
        rec.dispatch(&KERNEL, "gemv_q8", &bindings, &params, groups_1d(w.rows, 1));
    } else {
        let groups = tile_groups(w.rows, m);
        if groups[0].max(groups[1]) > 65535 {
            return Err(ComputeError::Shape {
                op: "linear_q8",
                detail: "too many workgroups".into(),
            });
        }
        rec.dispatch(&KERNEL, "gemm_q8", &bindings, &params, groups);
    }
    Ok(y)
}

/// dx[m, cols] = dy[m, rows] · W (or dx += …): the gradient at a frozen
/// Q8_0 layer's input, for training. `into` is written when `accumulate`
/// is false and added to otherwise.
pub fn linear_q8_backward(
    rec: &mut Recording<'_>,
    dy: &GpuTensor,
    w: &GpuQ8,
    m: usize,
    into: &GpuTensor,
    accumulate: bool,
) -> Result<(), ComputeError> {
    if m == 0 || dy.len != m * w.rows || into.len != m * w.cols {
        return Err(ComputeError::Shape {
            op: "linear_q8_backward",
            detail: format!(
                "dy has {} values and dx {}, expected {m}·{} and {m}·{}",
                dy.len, into.len, w.rows, w.cols
            ),
        });
    }
    let groups = tile_groups(w.cols, m);
    if groups[0].max(groups[1]) > 65535 {
        return Err(ComputeError::Shape {
            op: "linear_q8_backward",
            detail: "too many workgroups".into(),
        });
    }
    let params = [
        w.rows as u32,
        w.cols as u32,
        padded_cols(w.cols) as u32,
        m as u32,
        0,
        u32::from(accumulate),
    ];
    rec.dispatch(
        &KERNEL,
        "q8_backward",
        &[(1, &w.quants), (2, &w.scales), (3, dy), (4, into)],
        &params,
        groups,
    );
    Ok(())
}
