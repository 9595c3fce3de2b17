use crate::{
    error::ComputeError,
    kernels::{
        elementwise::{Activation, Binary},
        fused_linear::{FusedActivation, FusedLinear},
        reduce::Rows,
    },
    reference::{
        elementwise::{activation_ref, binary_ref},
        q8::linear_q8_ref,
        reduce::layernorm_ref,
    },
};

/// The fused layer as the ops it replaces, in order: (y, LayerNorm(y) if the
/// layer has one). `add` is (values, features): x + values feeds the output
/// features below the count.
pub fn linear_q8_fused_ref(
    x: &[f32],
    l: &FusedLinear,
    m: usize,
    add: Option<(&[f32], usize)>,
    residual: Option<&[f32]>,
    act: FusedActivation,
) -> Result<(Vec<f32>, Option<Vec<f32>>), ComputeError> {
    l.check()?;
    let rows = l.w.rows;
    let plain = linear_q8_ref(x, &l.w, m)?;
    let mut y = match add {
        None => plain,
        Some((values, features)) => {
            let shifted = linear_q8_ref(&binary_ref(x, values, Binary::Add)?, &l.w, m)?;
            let mut y = plain;
            for (i, v) in y.iter_mut().enumerate() {
                if i % rows < features {
                    *v = shifted[i];
                }
            }
            y
        }
    };
    y = binary_ref(&y, &l.b, Binary::Add)?;
    if let Some(r) = residual {
        y = binary_ref(&y, r, Binary::Add)?;
    }
    y = match act {
        FusedActivation::None => y,
        FusedActivation::Relu => activation_ref(&y, Activation::Relu)?,
        FusedActivation::Sigmoid => activation_ref(&y, Activation::Sigmoid)?,
    };
    let normed = l.norm.as_ref().map(|n| {
        layernorm_ref(
            &y,
            &n.gamma,
            &n.beta,
            Rows {
                rows: m,
                cols: rows,
            },
            n.eps,
        )
    });
    Ok((y, normed))
}
