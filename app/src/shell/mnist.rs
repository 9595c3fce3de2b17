//! The committed MNIST test split, downloaded and parsed once per page:
//! chapter 1's "real test digit", chapter 3's scenes and dropped-in digits.

use std::{cell::RefCell, rc::Rc};

use crate::{
    chapters::autoregressive::session::{DigitsProblem, ModelLoadError},
    shell::assets::{fetch_asset, manifest},
};

/// The MNIST test split at full intensity (0–255): images [n, 784], labels.
pub struct TestDigits {
    pub images: Vec<u8>,
    pub labels: Vec<u8>,
}

const PATH: &str = "data/mnist-test.safetensors";

thread_local! {
    static DIGITS: RefCell<Option<Rc<TestDigits>>> = const { RefCell::new(None) };
}

pub async fn test_digits() -> Result<Rc<TestDigits>, ModelLoadError> {
    if let Some(d) = DIGITS.with(|d| d.borrow().clone()) {
        return Ok(d);
    }
    let m = manifest().await?;
    let bytes = fetch_asset(PATH, &m, |_, _| {}).await?;
    let bad = |detail: String| ModelLoadError::Digits(DigitsProblem::Parse(detail));
    let st = safetensors::SafeTensors::deserialize(&bytes).map_err(|e| bad(e.to_string()))?;
    let get = |name: &str| {
        st.tensor(name)
            .map(|t| t.data().to_vec())
            .map_err(|e| bad(e.to_string()))
    };
    let digits = Rc::new(TestDigits {
        images: get("images")?,
        labels: get("labels")?,
    });
    if digits.labels.is_empty() || digits.images.len() != digits.labels.len() * 784 {
        return Err(ModelLoadError::Digits(DigitsProblem::Mismatch));
    }
    DIGITS.with(|d| *d.borrow_mut() = Some(digits.clone()));
    Ok(digits)
}
