//! Driver for `shaders/backprop.wgsl`: RMSNorm's backward pass, SwiGLU
//! forward and backward, softmax cross-entropy with its gradient, and
//! AdamW, for chapter 5's training step.

use crate::{
    error::ComputeError,
    executor::{groups_1d, GpuTensor, Kernel, Recording},
    reference::backprop::AdamW,
};

pub const KERNEL: Kernel = Kernel {
    family: "backprop",
    wgsl: include_str!(concat!(env!("OUT_DIR"), "/shaders/backprop.wgsl")),
    workgroup: 64,
    constants: &[],
};

/// Marks a position the loss skips (cross_entropy's label).
pub const SKIP: u32 = u32::MAX;

fn shape_error(op: &'static str, detail: String) -> ComputeError {
    ComputeError::Shape { op, detail }
}

fn params(rows: usize, cols: usize, c: &[f32]) -> Vec<u32> {
    let mut w = vec![rows as u32, cols as u32];
    w.extend(c.iter().map(|v| v.to_bits()));
    w.resize(9, 0);
    w
}

/// One workgroup per row, wrapping into y past 65535.
fn row_groups(rows: usize) -> [u32; 3] {
    groups_1d(rows, 1)
}

/// dx = base + the gradient of rmsnorm(x)·γ at x, given dy, for `rows` rows
/// of `cols`: base carries the residual path's gradient.
pub fn rmsnorm_backward(
    rec: &mut Recording<'_>,
    x: &GpuTensor,
    gamma: &GpuTensor,
    dy: &GpuTensor,
    base: &GpuTensor,
    rows: usize,
    eps: f32,
) -> Result<GpuTensor, ComputeError> {
    let cols = gamma.len;
    let n = rows * cols;
    if rows == 0 || cols == 0 || x.len != n || dy.len != n || base.len != n {
        return Err(shape_error(
            "rmsnorm_backward",
            format!(
                "x {}, dy {}, base {} for {rows} rows of {cols}",
                x.len, dy.len, base.len
            ),
        ));
    }
    let out = rec.exec().empty(n);
    rec.dispatch(
        &KERNEL,
        "rmsnorm_backward",
        &[(1, x), (2, gamma), (3, dy), (4, base), (5, &out)],
        &params(rows, cols, &[eps]),
        row_groups(rows),
    );
    Ok(out)
}

fn same_len(op: &'static str, ts: &[&GpuTensor]) -> Result<usize, ComputeError> {
    let n = ts[0].len;
    if n == 0 || ts.iter().any(|t| t.len != n) {
        return Err(shape_error(
            op,
            format!(
                "lengths {:?} must be equal and positive",
                ts.iter().map(|t| t.len).collect::<Vec<_>>()
            ),
        ));
    }
    Ok(n)
}

/// silu(a)·b, elementwise: SwiGLU's gate times its up projection.
pub fn swiglu(
    rec: &mut Recording<'_>,
    a: &GpuTensor,
    b: &GpuTensor,
) -> Result<GpuTensor, ComputeError> {
    let n = same_len("swiglu", &[a, b])?;
    let out = rec.exec().empty(n);
    rec.dispatch(
        &KERNEL,
        "swiglu",
        &[(1, a), (3, b), (5, &out)],
        &params(n, 1, &[]),
        groups_1d(n, KERNEL.workgroup),
    );
    Ok(out)
}

/// (da, db) for g = silu(a)·b, given dg.
pub fn swiglu_backward(
    rec: &mut Recording<'_>,
    a: &GpuTensor,
    b: &GpuTensor,
    dg: &GpuTensor,
) -> Result<(GpuTensor, GpuTensor), ComputeError> {
    let n = same_len("swiglu_backward", &[a, b, dg])?;
    let (da, db) = (rec.exec().empty(n), rec.exec().empty(n));
    rec.dispatch(
        &KERNEL,
        "swiglu_backward",
        &[(1, a), (3, dg), (4, b), (5, &da), (6, &db)],
        &params(n, 1, &[]),
        groups_1d(n, KERNEL.workgroup),
    );
    Ok((da, db))
}

/// For logits [rows, cols] and one label per row ([`SKIP`] for none):
/// (scale·(softmax − onehot) [rows, cols], −log p [rows]).
pub fn cross_entropy(
    rec: &mut Recording<'_>,
    logits: &GpuTensor,
    labels: &GpuTensor,
    rows: usize,
    scale: f32,
) -> Result<(GpuTensor, GpuTensor), ComputeError> {
    if rows == 0 || labels.len != rows || !logits.len.is_multiple_of(rows) {
        return Err(shape_error(
            "cross_entropy",
            format!(
                "{} logits and {} labels for {rows} rows",
                logits.len, labels.len
            ),
        ));
    }
    let cols = logits.len / rows;
    let (grad, loss) = (rec.exec().empty(logits.len), rec.exec().empty(rows));
    rec.dispatch(
        &KERNEL,
        "cross_entropy",
        &[(1, logits), (7, labels), (5, &grad), (6, &loss)],
        &params(rows, cols, &[scale]),
        row_groups(rows),
    );
    Ok((grad, loss))
}

/// cross_entropy with row r's gradient scaled by `scale`·`weights[r]`
/// (the losses are not scaled).
pub fn weighted_cross_entropy(
    rec: &mut Recording<'_>,
    logits: &GpuTensor,
    labels: &GpuTensor,
    weights: &GpuTensor,
    rows: usize,
    scale: f32,
) -> Result<(GpuTensor, GpuTensor), ComputeError> {
    if rows == 0 || labels.len != rows || weights.len != rows || !logits.len.is_multiple_of(rows) {
        return Err(shape_error(
            "weighted_cross_entropy",
            format!(
                "{} logits, {} labels and {} weights for {rows} rows",
                logits.len, labels.len, weights.len
            ),
        ));
    }
    let cols = logits.len / rows;
    let (grad, loss) = (rec.exec().empty(logits.len), rec.exec().empty(rows));
    rec.dispatch(
        &KERNEL,
        "weighted_cross_entropy",
        &[
            (1, logits),
            (4, weights),
            (7, labels),
            (5, &grad),
            (6, &loss),
        ],
        &params(rows, cols, &[scale]),
        row_groups(rows),
    );
    Ok((grad, loss))
}

/// One AdamW step in place on `theta` with moments `m` and `v`; `step` is
/// the 1-based count that the bias corrections use.
pub fn adamw(
    rec: &mut Recording<'_>,
    theta: &GpuTensor,
    grad: &GpuTensor,
    m: &GpuTensor,
    v: &GpuTensor,
    step: usize,
    h: AdamW,
) -> Result<(), ComputeError> {
    let n = same_len("adamw", &[theta, grad, m, v])?;
    if step == 0 {
        return Err(shape_error("adamw", "steps count from 1".into()));
    }
    let (bc1, bc2) = h.corrections(step);
    rec.dispatch(
        &KERNEL,
        "adamw",
        &[(3, grad), (8, theta), (9, m), (10, v)],
        &params(
            n,
            1,
            &[h.lr, h.beta1, h.beta2, h.eps, h.weight_decay, bc1, bc2],
        ),
        groups_1d(n, KERNEL.workgroup),
    );
    Ok(())
}
