//! Weight files: safetensors holding f32 tensors and Q8_0 matrices, checked
//! against the model's own list of tensors before anything reaches a GPU.
//!
//! A Q8_0 matrix `<name>` of logical shape [R, C] is two tensors:
//! `<name>.q` (I8, [R, Cp]) and `<name>.d` (F32 or F16, [R, Cp/32]), with Cp
//! = C rounded up to 32. Every failure is a [`WeightsError`] naming the file
//! and the tensor; no input bytes can make the loader panic.

pub mod manifest;
pub mod q8_0;

use std::collections::BTreeMap;

use safetensors::{tensor::TensorView, Dtype, SafeTensors};
use thiserror::Error;

pub use q8_0::{padded_cols, Q8Matrix, BLOCK};

/// How a tensor is stored in the file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Storage {
    F32,
    Q8_0,
}

/// One tensor the model expects: the model's config produces these.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TensorSpec {
    pub name: String,
    /// Logical shape; a Q8_0 matrix is always [rows, cols].
    pub shape: Vec<usize>,
    pub storage: Storage,
}

impl TensorSpec {
    pub fn f32(name: impl Into<String>, shape: &[usize]) -> Self {
        TensorSpec {
            name: name.into(),
            shape: shape.to_vec(),
            storage: Storage::F32,
        }
    }

    pub fn q8_0(name: impl Into<String>, rows: usize, cols: usize) -> Self {
        TensorSpec {
            name: name.into(),
            shape: vec![rows, cols],
            storage: Storage::Q8_0,
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum Tensor {
    F32 { shape: Vec<usize>, data: Vec<f32> },
    Q8_0(Q8Matrix),
}

/// A loaded, fully checked weight file.
#[derive(Debug, Clone, PartialEq)]
pub struct WeightFile {
    pub file: String,
    pub tensors: BTreeMap<String, Tensor>,
}

impl WeightFile {
    pub fn f32(&self, name: &str) -> Option<&[f32]> {
        match self.tensors.get(name) {
            Some(Tensor::F32 { data, .. }) => Some(data),
            _ => None,
        }
    }

    pub fn q8_0(&self, name: &str) -> Option<&Q8Matrix> {
        match self.tensors.get(name) {
            Some(Tensor::Q8_0(m)) => Some(m),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Error)]
pub enum WeightsError {
    #[error("{file}: not a valid safetensors file: {detail}")]
    Header { file: String, detail: String },
    #[error("{file}: tensor “{tensor}” is missing")]
    Missing { file: String, tensor: String },
    #[error("{file}: tensor “{tensor}” is not part of this model")]
    Unexpected { file: String, tensor: String },
    #[error("{file}: tensor “{tensor}” is {found}, expected {expected}")]
    Dtype {
        file: String,
        tensor: String,
        expected: &'static str,
        found: String,
    },
    #[error("{file}: tensor “{tensor}” has shape {found:?}, expected {expected:?}")]
    Shape {
        file: String,
        tensor: String,
        expected: Vec<usize>,
        found: Vec<usize>,
    },
    #[error("{file}: tensor “{tensor}” has {found} bytes of data, its shape needs {expected}")]
    Length {
        file: String,
        tensor: String,
        expected: usize,
        found: usize,
    },
    #[error("{file}: tensor “{tensor}” holds a non-finite value at index {index}")]
    NonFinite {
        file: String,
        tensor: String,
        index: usize,
    },
    #[error("{file}: {detail}")]
    Manifest { file: String, detail: String },
    #[error("{file}: SHA-256 is {found}, the manifest says {expected}")]
    Hash {
        file: String,
        expected: String,
        found: String,
    },
    #[error("{file}: {found} bytes, the manifest says {expected}")]
    Size {
        file: String,
        expected: u64,
        found: u64,
    },
}

/// Parses `bytes` and checks every tensor against `specs`: names (nothing
/// missing, nothing extra), dtypes, shapes, byte lengths, and finiteness.
pub fn load(file: &str, bytes: &[u8], specs: &[TensorSpec]) -> Result<WeightFile, WeightsError> {
    let st = SafeTensors::deserialize(bytes).map_err(|e| WeightsError::Header {
        file: file.into(),
        detail: e.to_string(),
    })?;
    let ctx = Ctx { file, st: &st };

    let mut expected: Vec<String> = Vec::new();
    let mut tensors = BTreeMap::new();
    for spec in specs {
        let tensor = match spec.storage {
            Storage::F32 => {
                expected.push(spec.name.clone());
                let data = ctx.f32_tensor(&spec.name, &spec.shape, &[Dtype::F32])?;
                Tensor::F32 {
                    shape: spec.shape.clone(),
                    data,
                }
            }
            Storage::Q8_0 => {
                let (rows, cols) = match spec.shape[..] {
                    [rows, cols] => (rows, cols),
                    _ => {
                        return Err(WeightsError::Shape {
                            file: file.into(),
                            tensor: spec.name.clone(),
                            expected: vec![0, 0],
                            found: spec.shape.clone(),
                        })
                    }
                };
                let (q_name, d_name) = (format!("{}.q", spec.name), format!("{}.d", spec.name));
                expected.push(q_name.clone());
                expected.push(d_name.clone());
                let cp = padded_cols(cols);
                let quants = ctx.i8_tensor(&q_name, &[rows, cp])?;
                let scales =
                    ctx.f32_tensor(&d_name, &[rows, cp / BLOCK], &[Dtype::F32, Dtype::F16])?;
                Tensor::Q8_0(Q8Matrix {
                    rows,
                    cols,
                    quants,
                    scales,
                })
            }
        };
        tensors.insert(spec.name.clone(), tensor);
    }
    if let Some(extra) = st
        .names()
        .into_iter()
        .find(|n| !expected.iter().any(|e| e == n))
    {
        return Err(WeightsError::Unexpected {
            file: file.into(),
            tensor: extra.to_string(),
        });
    }
    Ok(WeightFile {
        file: file.into(),
        tensors,
    })
}

struct Ctx<'a, 'data> {
    file: &'a str,
    st: &'a SafeTensors<'data>,
}

impl<'data> Ctx<'_, 'data> {
    fn view(
        &self,
        name: &str,
        shape: &[usize],
        dtypes: &[Dtype],
    ) -> Result<TensorView<'data>, WeightsError> {
        let view = self.st.tensor(name).map_err(|_| WeightsError::Missing {
            file: self.file.into(),
            tensor: name.into(),
        })?;
        if !dtypes.contains(&view.dtype()) {
            return Err(WeightsError::Dtype {
                file: self.file.into(),
                tensor: name.into(),
                expected: match dtypes {
                    [one] => dtype_name(*one),
                    _ => "F32 or F16",
                },
                found: format!("{:?}", view.dtype()),
            });
        }
        if view.shape() != shape {
            return Err(WeightsError::Shape {
                file: self.file.into(),
                tensor: name.into(),
                expected: shape.to_vec(),
                found: view.shape().to_vec(),
            });
        }
        let need = shape.iter().product::<usize>() * view.dtype().bitsize() / 8;
        if view.data().len() != need {
            return Err(WeightsError::Length {
                file: self.file.into(),
                tensor: name.into(),
                expected: need,
                found: view.data().len(),
            });
        }
        Ok(view)
    }

    fn f32_tensor(
        &self,
        name: &str,
        shape: &[usize],
        dtypes: &[Dtype],
    ) -> Result<Vec<f32>, WeightsError> {
        let view = self.view(name, shape, dtypes)?;
        let values: Vec<f32> = match view.dtype() {
            Dtype::F16 => view
                .data()
                .chunks_exact(2)
                .map(|b| half::f16::from_le_bytes([b[0], b[1]]).to_f32())
                .collect(),
            _ => view
                .data()
                .chunks_exact(4)
                .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
                .collect(),
        };
        if let Some(index) = values.iter().position(|v| !v.is_finite()) {
            return Err(WeightsError::NonFinite {
                file: self.file.into(),
                tensor: name.into(),
                index,
            });
        }
        Ok(values)
    }

    fn i8_tensor(&self, name: &str, shape: &[usize]) -> Result<Vec<i8>, WeightsError> {
        Ok(self
            .view(name, shape, &[Dtype::I8])?
            .data()
            .iter()
            .map(|&b| b as i8)
            .collect())
    }
}

fn dtype_name(d: Dtype) -> &'static str {
    match d {
        Dtype::F32 => "F32",
        Dtype::F16 => "F16",
        Dtype::I8 => "I8",
        _ => "another dtype",
    }
}

/// Writes tensors as a safetensors file: the format training exports and the
/// loader reads. Q8_0 matrices become their `.q` and `.d` pair.
/// A weights file of seeded uniform values for `specs`, tensor k drawn from
/// seed `seed·1000 + k` and scaled by `scale(spec)`, matrices in Q8_0 where
/// the spec says: untrained weights for tests that need no trained file.
pub fn random_safetensors(
    specs: &[TensorSpec],
    seed: u64,
    scale: impl Fn(&TensorSpec) -> f32,
) -> Vec<u8> {
    let tensors = specs
        .iter()
        .enumerate()
        .map(|(k, spec)| {
            let n: usize = spec.shape.iter().product();
            let s = scale(spec);
            let v: Vec<f32> = crate::inputs::uniform_signed(seed * 1000 + k as u64, n)
                .into_iter()
                .map(|v| v * s)
                .collect();
            let t = match spec.storage {
                Storage::Q8_0 => Tensor::Q8_0(Q8Matrix::quantize(&v, spec.shape[0], spec.shape[1])),
                Storage::F32 => Tensor::F32 {
                    shape: spec.shape.clone(),
                    data: v,
                },
            };
            (spec.name.clone(), t)
        })
        .collect();
    to_safetensors(&tensors).expect("random weights serialize")
}

pub fn to_safetensors(tensors: &BTreeMap<String, Tensor>) -> Result<Vec<u8>, WeightsError> {
    let mut owned: Vec<(String, Dtype, Vec<usize>, Vec<u8>)> = Vec::new();
    for (name, tensor) in tensors {
        match tensor {
            Tensor::F32 { shape, data } => {
                owned.push((name.clone(), Dtype::F32, shape.clone(), le_bytes(data)));
            }
            Tensor::Q8_0(m) => {
                let cp = padded_cols(m.cols);
                let quants = m.quants.iter().map(|&q| q as u8).collect();
                owned.push((format!("{name}.q"), Dtype::I8, vec![m.rows, cp], quants));
                owned.push((
                    format!("{name}.d"),
                    Dtype::F32,
                    vec![m.rows, cp / BLOCK],
                    le_bytes(&m.scales),
                ));
            }
        }
    }
    let bad = |detail: String| WeightsError::Header {
        file: "(writing)".into(),
        detail,
    };
    let views = owned
        .iter()
        .map(|(name, dtype, shape, data)| {
            let view = TensorView::new(*dtype, shape.clone(), data)
                .map_err(|e| bad(format!("{name}: {e}")))?;
            Ok((name.clone(), view))
        })
        .collect::<Result<Vec<_>, WeightsError>>()?;
    safetensors::serialize(views, None).map_err(|e| bad(e.to_string()))
}

fn le_bytes(values: &[f32]) -> Vec<u8> {
    values.iter().flat_map(|v| v.to_le_bytes()).collect()
}
