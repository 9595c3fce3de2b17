//! The hand-written NADE gradient against candle's autodiff: same loss, same
//! gradient for every parameter, on real digits.

use std::path::Path;

use candle_core::{Device, Tensor};
use glassbox_train::{
    ar::{nade::Nade, nll_per_image, ArModel},
    data::{Mnist, PIXELS},
};

#[test]
fn hand_written_gradient_equals_autodiff() {
    let data = Mnist::load(&Path::new(env!("CARGO_MANIFEST_DIR")).join("../assets")).unwrap();
    let batch = data.train.take(6);
    let model = Nade::new(12, 3).unwrap();
    // Move away from the zero-initialised biases so every term is exercised.
    let mut params = model.to_params().unwrap();
    params
        .c
        .iter_mut()
        .enumerate()
        .for_each(|(i, c)| *c = 0.1 * (i as f32 % 5.0 - 2.0));
    params
        .b
        .iter_mut()
        .enumerate()
        .for_each(|(i, b)| *b = 0.01 * (i % 7) as f32 - 0.03);
    model.set_params(&params).unwrap();

    let x = Tensor::from_slice(&batch.x, (batch.len(), PIXELS), &Device::Cpu).unwrap();
    let loss = nll_per_image(&model.logits(&x).unwrap(), &x)
        .unwrap()
        .mean(0)
        .unwrap();
    let grads = loss.backward().unwrap();
    let images: Vec<&[f32]> = batch.x.chunks(PIXELS).collect();
    let (hand_loss, hand) = params.batch_grad(&images, 2);

    let auto_loss = loss.to_scalar::<f32>().unwrap();
    assert!(
        (hand_loss - auto_loss).abs() < 1e-3 * auto_loss.abs(),
        "loss {hand_loss} vs {auto_loss}"
    );
    let vars = model.vars();
    let auto = |i: usize, transpose: bool| {
        let g = grads.get(vars[i].as_tensor()).unwrap();
        let g = if transpose {
            g.t().unwrap().contiguous().unwrap()
        } else {
            g.clone()
        };
        g.flatten_all().unwrap().to_vec1::<f32>().unwrap()
    };
    for (name, hand, auto) in [
        ("W", &hand.wt, auto(0, true)),
        ("c", &hand.c, auto(1, false)),
        ("V", &hand.v, auto(2, false)),
        ("b", &hand.b, auto(3, false)),
    ] {
        let scale = auto.iter().fold(0f32, |m, g| m.max(g.abs())).max(1e-3);
        let worst = hand
            .iter()
            .zip(&auto)
            .map(|(h, a)| (h - a).abs())
            .fold(0f32, f32::max);
        assert!(
            worst < 1e-3 * scale,
            "∂/∂{name}: worst difference {worst}, largest gradient {scale}"
        );
    }
}
