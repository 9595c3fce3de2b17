use candle_core::{Device, Tensor};

use crate::error::ComputeError;

/// Row gather by candle's `index_select`.
pub fn embedding_ref(
    table: &[f32],
    ids: &[u32],
    vocab: usize,
    dim: usize,
) -> Result<Vec<f32>, ComputeError> {
    let table = Tensor::from_slice(table, (vocab, dim), &Device::Cpu)?;
    let ids = Tensor::from_slice(ids, ids.len(), &Device::Cpu)?;
    Ok(table.index_select(&ids, 0)?.flatten_all()?.to_vec1()?)
}
