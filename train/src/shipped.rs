//! Parameters as shipped, for models whose every tensor has a spec: each
//! matrix in Q8_0 and each vector in f32, as the spec says, and back.

use std::collections::BTreeMap;

use candle_core::{Device, Result, Tensor, Var};
use compute::weights::{Q8Matrix, Storage, Tensor as Stored, TensorSpec};

/// The named parameters in their shipped storage.
pub fn export(
    specs: &[TensorSpec],
    vars: &BTreeMap<String, Var>,
) -> Result<BTreeMap<String, Stored>> {
    specs
        .iter()
        .map(|spec| {
            let var = vars
                .get(&spec.name)
                .ok_or_else(|| candle_core::Error::Msg(format!("no parameter {}", spec.name)))?;
            let data = var.as_tensor().flatten_all()?.to_vec1::<f32>()?;
            let stored = match spec.storage {
                Storage::Q8_0 => {
                    Stored::Q8_0(Q8Matrix::quantize(&data, spec.shape[0], spec.shape[1]))
                }
                Storage::F32 => Stored::F32 {
                    shape: spec.shape.clone(),
                    data,
                },
            };
            Ok((spec.name.clone(), stored))
        })
        .collect()
}

/// Parameters holding the shipped values (Q8_0 dequantized).
pub fn vars_from_export(
    specs: &[TensorSpec],
    tensors: &BTreeMap<String, Stored>,
) -> Result<BTreeMap<String, Var>> {
    let mut vars = BTreeMap::new();
    for spec in specs {
        let value = match tensors.get(&spec.name) {
            Some(Stored::F32 { data, .. }) => data.clone(),
            Some(Stored::Q8_0(m)) => m.dequantize(),
            None => candle_core::bail!("no tensor {}", spec.name),
        };
        let t = Tensor::from_vec(value, spec.shape.as_slice(), &Device::Cpu)?;
        vars.insert(spec.name.clone(), Var::from_tensor(&t)?);
    }
    Ok(vars)
}
