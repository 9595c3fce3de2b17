//! The committed FVSBN, checked by code independent of the trainer: loaded
//! through the app's loader and manifest, it reproduces its published test
//! NLL on the CPU, and the GPU gives the same exact likelihoods.

mod common;

use std::path::{Path, PathBuf};

use compute::{
    models::fvsbn::{Fvsbn, FvsbnGpu},
    weights::{load, manifest::Manifest},
};
use safetensors::SafeTensors;

fn assets() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../assets")
}

fn committed_fvsbn() -> Fvsbn {
    let path = "models/ar/fvsbn.safetensors";
    let bytes = std::fs::read(assets().join(path)).unwrap();
    let manifest =
        Manifest::parse(&std::fs::read_to_string(assets().join("manifest.json")).unwrap()).unwrap();
    manifest.verify(path, &bytes).unwrap();
    Fvsbn::from_weights(&load(path, &bytes, &Fvsbn::specs(784)).unwrap()).unwrap()
}

/// The binarised test digits.
fn test_digits() -> Vec<Vec<f32>> {
    let bytes = std::fs::read(assets().join("data/mnist-test.safetensors")).unwrap();
    let st = SafeTensors::deserialize(&bytes).unwrap();
    st.tensor("images")
        .unwrap()
        .data()
        .chunks(784)
        .map(|d| d.iter().map(|&p| (p >= 128) as u8 as f32).collect())
        .collect()
}

#[test]
fn fvsbn_reproduces_its_published_test_nll() {
    let model = committed_fvsbn();
    let digits = test_digits();
    let mean = digits
        .iter()
        .map(|x| model.nll_ref(x).unwrap() as f64)
        .sum::<f64>()
        / digits.len() as f64;
    let metrics: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(assets().join("models/ar/fvsbn.json")).unwrap(),
    )
    .unwrap();
    let published = metrics["test_nll_nats"].as_f64().unwrap();
    assert!(
        (mean - published).abs() < 1e-3 * published,
        "recomputed {mean:.4} nats, published {published:.4}"
    );
}

#[test]
fn fvsbn_likelihoods_on_the_gpu_match_the_cpu() {
    let Some(exec) = common::gpu() else { return };
    let model = committed_fvsbn();
    let on_gpu = FvsbnGpu::upload(&exec, &model);
    for x in test_digits().iter().take(20) {
        let want = model.nll_ref(x).unwrap();
        let got = pollster::block_on(on_gpu.nll(&exec, x)).unwrap();
        assert!(
            (got - want).abs() < 1e-3 * want,
            "GPU {got} vs CPU {want} nats"
        );
    }
}
