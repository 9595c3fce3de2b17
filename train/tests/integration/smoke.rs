//! Training smoke tests on a small subset: the loss goes down, and the
//! shipped (Q8_0) model scores within half a nat of the f32 one.

use std::path::Path;

use glassbox_train::{
    ar::{fvsbn::Fvsbn, nade::Nade, ArModel},
    data::Mnist,
    fit::{fit, mean_nll, FitConfig},
};

fn data() -> Mnist {
    Mnist::load(&Path::new(env!("CARGO_MANIFEST_DIR")).join("../assets")).unwrap()
}

fn config(epochs: usize) -> FitConfig {
    FitConfig {
        weight_decay: 0.0,
        batch: 50,
        lr: 3e-3,
        max_epochs: epochs,
        patience: epochs,
        seed: 1,
        time_budget: std::time::Duration::from_secs(120),
    }
}

#[test]
fn splits_follow_the_documented_rule() {
    let d = data();
    assert_eq!(d.train.len() + d.val.len() + d.test.len(), 10_000);
    assert_eq!(d.test.len(), 997);
    assert!(d.val.len() > 950 && d.val.len() < 1050, "{}", d.val.len());
}

#[test]
fn fvsbn_loss_decreases_and_quantization_costs_little() {
    let d = data();
    let (train, val) = (d.train.take(300), d.val.take(100));
    let model = Fvsbn::new(1).unwrap();
    let before = mean_nll(&model, &val, 100).unwrap();
    let report = fit(&model, &train, &val, &config(3), |_| {}).unwrap();
    let after = mean_nll(&model, &val, 100).unwrap();
    assert!(
        after < before - 50.0,
        "validation NLL {before:.1} -> {after:.1}"
    );
    assert!(
        report
            .curve
            .windows(2)
            .all(|w| w[1].train_nll_nats < w[0].train_nll_nats),
        "{:?}",
        report.curve
    );
    let quantized = Fvsbn::from_export(&model.export().unwrap()).unwrap();
    let q = mean_nll(&quantized, &val, 100).unwrap();
    assert!((q - after).abs() < 0.5, "Q8_0 costs {:.3} nats", q - after);
}

#[test]
fn nade_loss_decreases() {
    let d = data();
    let (train, val) = (d.train.take(200), d.val.take(50));
    let model = Nade::new(16, 1).unwrap();
    let before = mean_nll(&model, &val, 50).unwrap();
    fit(&model, &train, &val, &config(2), |_| {}).unwrap();
    let after = mean_nll(&model, &val, 50).unwrap();
    assert!(
        after < before - 20.0,
        "validation NLL {before:.1} -> {after:.1}"
    );
}

#[test]
fn made_is_autoregressive_under_every_mask_and_learns() {
    use candle_core::{Device, Tensor};
    use glassbox_train::{ar::made::Made, data::PIXELS};

    let model = Made::new(32, 3, 2).unwrap();
    let d = data();
    let base = d.test.take(1).x;
    for k in 0..model.mask_count() {
        model.use_mask(k);
        let logits = |x: &[f32]| {
            model
                .logits(&Tensor::from_slice(x, (1, PIXELS), &Device::Cpu).unwrap())
                .unwrap()
                .flatten_all()
                .unwrap()
                .to_vec1::<f32>()
                .unwrap()
        };
        let y0 = logits(&base);
        for j in [0, 300, 783] {
            let mut x = base.clone();
            x[j] = 1.0 - x[j];
            let y = logits(&x);
            for i in 0..=j {
                assert_eq!(y[i], y0[i], "mask {k}: output {i} saw input {j}");
            }
        }
    }
    let (train, val) = (d.train.take(200), d.val.take(50));
    let before = mean_nll(&model, &val, 50).unwrap();
    fit(&model, &train, &val, &config(3), |_| {}).unwrap();
    let after = mean_nll(&model, &val, 50).unwrap();
    assert!(
        after < before - 20.0,
        "validation NLL {before:.1} -> {after:.1}"
    );
}

#[test]
fn pixelcnn_is_autoregressive_learns_and_exports_what_the_gpu_kernel_runs() {
    use candle_core::{Device, Tensor};
    use compute::{
        models::ar::{ArKind, ArModel},
        weights::{load, to_safetensors},
    };
    use glassbox_train::{ar::pixelcnn::PixelCnn, data::PIXELS};

    let model = PixelCnn::new(4).unwrap();
    let d = data();
    let base = d.test.take(1).x;
    let logits = |m: &PixelCnn, x: &[f32]| {
        m.logits(&Tensor::from_slice(x, (1, PIXELS), &Device::Cpu).unwrap())
            .unwrap()
            .flatten_all()
            .unwrap()
            .to_vec1::<f32>()
            .unwrap()
    };
    let y0 = logits(&model, &base);
    for j in [0, 29, 400, 783] {
        let mut x = base.clone();
        x[j] = 1.0 - x[j];
        let y = logits(&model, &x);
        for i in 0..=j {
            assert_eq!(y[i], y0[i], "output {i} saw input {j}");
        }
        if j + 1 < PIXELS {
            assert!(
                (j + 1..PIXELS).any(|i| y[i] != y0[i]),
                "no later output saw input {j}"
            );
        }
    }

    // The exported file, loaded by the app's loader and run through
    // compute's NCHW reference (the kernels' oracle), gives the same logits.
    let bytes = to_safetensors(&model.export().unwrap()).unwrap();
    let shipped = ArModel::load(ArKind::PixelCnn, &bytes).unwrap();
    let rebuilt = PixelCnn::from_export(
        &load("x", &bytes, &ArKind::PixelCnn.specs())
            .unwrap()
            .tensors,
    )
    .unwrap();
    let want = logits(&rebuilt, &base);
    let got = shipped.logits_ref(&base).unwrap();
    for (i, (a, b)) in got.iter().zip(&want).enumerate() {
        assert!(
            (a - b).abs() < 1e-3,
            "logit {i}: NCHW {a} vs training layout {b}"
        );
    }
    for i in [0, 100, 409, 783] {
        let one = match &shipped {
            ArModel::PixelCnn(m) => m.logit_at(&base, i).unwrap(),
            _ => unreachable!(),
        };
        assert!(
            (one - got[i]).abs() < 1e-4,
            "pixel {i}: window {one} vs full {}",
            got[i]
        );
    }

    let (train, val) = (d.train.take(200), d.val.take(50));
    let before = mean_nll(&model, &val, 50).unwrap();
    fit(&model, &train, &val, &config(2), |_| {}).unwrap();
    let after = mean_nll(&model, &val, 50).unwrap();
    assert!(
        after < before - 20.0,
        "validation NLL {before:.1} -> {after:.1}"
    );
}
