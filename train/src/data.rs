//! The MNIST splits from `assets/data` (written by `cargo xtask data`),
//! binarised: a pixel is 1 when its intensity is above 0.5 (u8 ≥ 128).

use std::path::Path;

use safetensors::SafeTensors;

pub const PIXELS: usize = 784;

/// Binarised digits, [n, 784] row-major, as 0.0 / 1.0.
#[derive(Debug, Clone)]
pub struct Split {
    pub x: Vec<f32>,
    pub labels: Vec<u8>,
}

impl Split {
    pub fn len(&self) -> usize {
        self.labels.len()
    }

    pub fn is_empty(&self) -> bool {
        self.labels.is_empty()
    }

    /// The first `n` digits (for smoke tests).
    pub fn take(&self, n: usize) -> Split {
        let n = n.min(self.len());
        Split {
            x: self.x[..n * PIXELS].to_vec(),
            labels: self.labels[..n].to_vec(),
        }
    }
}

pub struct Mnist {
    pub train: Split,
    pub val: Split,
    pub test: Split,
}

impl Mnist {
    pub fn load(assets: &Path) -> Result<Mnist, String> {
        let (train_val, j) = read(&assets.join("data/mnist-train-val.safetensors"))?;
        let (test, _) = read(&assets.join("data/mnist-test.safetensors"))?;
        let pick = |keep: &dyn Fn(u16) -> bool| {
            let mut s = Split {
                x: Vec::new(),
                labels: Vec::new(),
            };
            for (i, &ji) in j.iter().enumerate() {
                if keep(ji) {
                    s.x.extend_from_slice(&train_val.x[i * PIXELS..(i + 1) * PIXELS]);
                    s.labels.push(train_val.labels[i]);
                }
            }
            s
        };
        Ok(Mnist {
            train: pick(&|j| j % 10 != 8),
            val: pick(&|j| j % 10 == 8),
            test,
        })
    }
}

/// Digits at their full MNIST intensities (0–255), for chapter 3's scenes.
#[derive(Debug, Clone)]
pub struct RawDigits {
    pub images: Vec<u8>,
    pub labels: Vec<u8>,
}

/// The train, validation and test digits as intensities, split as [`Mnist`].
pub fn raw_digits(assets: &Path) -> Result<(RawDigits, RawDigits, RawDigits), String> {
    // A file's digits, and each digit's index within its class (the split key).
    let raw = |name: &str| -> Result<(RawDigits, Vec<u16>), String> {
        let path = assets.join("data").join(name);
        let bytes = std::fs::read(&path)
            .map_err(|e| format!("{}: {e} (run `cargo xtask data`)", path.display()))?;
        let st =
            SafeTensors::deserialize(&bytes).map_err(|e| format!("{}: {e}", path.display()))?;
        let get = |n: &str| {
            st.tensor(n)
                .map(|t| t.data().to_vec())
                .map_err(|e| format!("{}: {n}: {e}", path.display()))
        };
        let j = get("index_in_digit")?
            .chunks(2)
            .map(|b| u16::from_le_bytes([b[0], b[1]]))
            .collect();
        let digits = RawDigits {
            images: get("images")?,
            labels: get("labels")?,
        };
        Ok((digits, j))
    };
    let (all, j) = raw("mnist-train-val.safetensors")?;
    let pick = |keep: &dyn Fn(u16) -> bool| {
        let mut d = RawDigits {
            images: Vec::new(),
            labels: Vec::new(),
        };
        for (i, _) in j.iter().enumerate().filter(|(_, &ji)| keep(ji)) {
            d.images
                .extend_from_slice(&all.images[i * PIXELS..(i + 1) * PIXELS]);
            d.labels.push(all.labels[i]);
        }
        d
    };
    let (train, val) = (pick(&|j| j % 10 != 8), pick(&|j| j % 10 == 8));
    let (test, _) = raw("mnist-test.safetensors")?;
    Ok((train, val, test))
}

fn read(path: &Path) -> Result<(Split, Vec<u16>), String> {
    let bytes = std::fs::read(path)
        .map_err(|e| format!("{}: {e} (run `cargo xtask data`)", path.display()))?;
    let st = SafeTensors::deserialize(&bytes).map_err(|e| format!("{}: {e}", path.display()))?;
    let get = |name: &str| {
        st.tensor(name)
            .map_err(|e| format!("{}: {name}: {e}", path.display()))
    };
    let x = get("images")?
        .data()
        .iter()
        .map(|&p| if p >= 128 { 1.0 } else { 0.0 })
        .collect();
    let labels = get("labels")?.data().to_vec();
    let j = get("index_in_digit")?
        .data()
        .chunks(2)
        .map(|b| u16::from_le_bytes([b[0], b[1]]))
        .collect();
    Ok((Split { x, labels }, j))
}
