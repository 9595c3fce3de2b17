//! Driver for `shaders/embedding.wgsl`: gathers rows of an embedding table.

use crate::{
    error::ComputeError,
    executor::{groups_1d, GpuTensor, Kernel, Recording},
};

pub const KERNEL: Kernel = Kernel {
    family: "embedding",
    wgsl: include_str!(concat!(env!("OUT_DIR"), "/shaders/embedding.wgsl")),
    workgroup: 256,
    constants: &[],
};

/// out[t] = table[ids[t]] for a table of `vocab` rows of `dim` values.
pub fn embedding(
    rec: &mut Recording<'_>,
    table: &GpuTensor,
    ids: &GpuTensor,
    vocab: usize,
    dim: usize,
) -> Result<GpuTensor, ComputeError> {
    if table.len != vocab * dim || dim == 0 {
        return Err(ComputeError::Shape {
            op: "embedding",
            detail: format!("table has {} values, not {vocab}·{dim}", table.len),
        });
    }
    let tokens = ids.len;
    let out = rec.exec().empty(tokens * dim);
    let params = [tokens as u32, dim as u32, vocab as u32];
    rec.dispatch(
        &KERNEL,
        "embedding_gather",
        &[(1, table), (2, ids), (3, &out)],
        &params,
        groups_1d(tokens * dim, KERNEL.workgroup),
    );
    Ok(out)
}

/// Checks ids from the host before upload: the kernel would zero a bad row silently.
pub fn check_ids(ids: &[u32], vocab: usize) -> Result<(), ComputeError> {
    match ids.iter().find(|&&id| id as usize >= vocab) {
        Some(id) => Err(ComputeError::Shape {
            op: "embedding",
            detail: format!("token id {id} is outside the vocabulary of {vocab}"),
        }),
        None => Ok(()),
    }
}
