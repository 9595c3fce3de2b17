use candle_core::{Device, Tensor};

use crate::{error::ComputeError, kernels::gemm::GemmShape};

/// C = A · B on the CPU; the reference for `gemm_f32`.
pub fn gemm_f32_ref(a: &[f32], b: &[f32], shape: GemmShape) -> Result<Vec<f32>, ComputeError> {
    shape.check(a.len(), b.len())?;
    let a = Tensor::from_slice(a, (shape.m, shape.k), &Device::Cpu)?;
    let b = Tensor::from_slice(b, (shape.k, shape.n), &Device::Cpu)?;
    Ok(a.matmul(&b)?.flatten_all()?.to_vec1()?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn small_product_by_hand() {
        // [1 2 3; 4 5 6] · [7 8; 9 10; 11 12] = [58 64; 139 154]
        let shape = GemmShape { m: 2, k: 3, n: 2 };
        let c = gemm_f32_ref(
            &[1., 2., 3., 4., 5., 6.],
            &[7., 8., 9., 10., 11., 12.],
            shape,
        )
        .unwrap();
        assert_eq!(c, vec![58., 64., 139., 154.]);
    }

    #[test]
    fn wrong_lengths_are_a_shape_error() {
        let shape = GemmShape { m: 2, k: 3, n: 2 };
        let err = gemm_f32_ref(&[1.0; 5], &[1.0; 6], shape).unwrap_err();
        assert!(
            matches!(err, ComputeError::Shape { op: "gemm", .. }),
            "{err}"
        );
    }
}
