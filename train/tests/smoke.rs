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
