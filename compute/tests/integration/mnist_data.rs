//! The committed MNIST conversion (`cargo xtask data`): shapes, labels, the
//! documented split, and pixels that binarise as the chapters expect.

use std::path::Path;

use safetensors::{Dtype, SafeTensors};

fn load(name: &str) -> Vec<u8> {
    std::fs::read(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../assets/data")
            .join(name),
    )
    .unwrap()
}

fn check(bytes: &[u8], test_split: bool) -> usize {
    let st = SafeTensors::deserialize(bytes).unwrap();
    let images = st.tensor("images").unwrap();
    let labels = st.tensor("labels").unwrap();
    let index = st.tensor("index_in_digit").unwrap();
    let n = labels.shape()[0];
    assert_eq!((images.dtype(), images.shape()), (Dtype::U8, &[n, 784][..]));
    assert_eq!((index.dtype(), index.shape()), (Dtype::U16, &[n][..]));
    assert!(labels.data().iter().all(|&l| l < 10));
    for label in 0..10u8 {
        assert!(labels.data().contains(&label), "no digit {label}");
    }
    let j: Vec<u16> = index
        .data()
        .chunks(2)
        .map(|b| u16::from_le_bytes([b[0], b[1]]))
        .collect();
    assert!(
        j.iter().all(|&j| (j % 10 == 9) == test_split),
        "split rule: j % 10 == 9 is test"
    );
    // Threshold binarisation leaves about a seventh of the pixels on.
    let on =
        images.data().iter().filter(|&&p| p >= 128).count() as f64 / images.data().len() as f64;
    assert!((0.08..0.2).contains(&on), "{on}");
    n
}

#[test]
fn mnist_splits_hold_all_ten_thousand_digits() {
    let test = check(&load("mnist-test.safetensors"), true);
    let train_val = check(&load("mnist-train-val.safetensors"), false);
    assert_eq!(test + train_val, 10_000);
    assert_eq!(test, 997);
}
