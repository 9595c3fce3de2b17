//! The trainer's whole-sequence transformer and compute's token-by-token
//! decoder must give the same likelihood, for every attention variant.

use std::{path::Path, sync::Arc, time::Instant};

use compute::{
    kv_cache::Variant,
    models::digit_transformer::{Config, DigitTransformer as Decoder, POSITIONS},
    weights::{load, to_safetensors},
};
use glassbox_train::{
    attention::{batch, mean_nll, split_patches, DigitTransformer},
    data::{Mnist, PIXELS},
};

#[test]
fn trainer_and_decoder_agree_for_every_variant() {
    let data = Mnist::load(&Path::new(env!("CARGO_MANIFEST_DIR")).join("../assets")).unwrap();
    let digits = data.test.take(3);
    let patches = split_patches(&digits);
    for variant in Variant::ALL {
        let config = Config::new(variant);
        let model = DigitTransformer::new(config, 7).unwrap();
        assert_eq!(model.params(), config.params());
        let bytes = to_safetensors(&model.export().unwrap()).unwrap();
        let shipped = load(&config.weights_path(), &bytes, &config.specs()).unwrap();
        let quantized = DigitTransformer::from_export(config, &shipped.tensors).unwrap();
        let decoder = Arc::new(Decoder::from_weights(config, &shipped).unwrap());
        for (i, image) in digits.x.chunks(PIXELS).enumerate() {
            let by_trainer =
                mean_nll(&quantized, &patches[i * POSITIONS..(i + 1) * POSITIONS], 1).unwrap();
            let by_decoder = decoder.nll_ref(image).unwrap();
            assert!(
                (by_trainer - by_decoder).abs() < 1e-3 * by_trainer.abs().max(1.0),
                "{variant:?} digit {i}: trainer {by_trainer}, decoder {by_decoder}"
            );
            assert!(by_trainer > 100.0, "an untrained model should be poor");
        }
    }
}

#[test]
fn a_training_step_lowers_the_loss() {
    use candle_nn::{AdamW, Optimizer, ParamsAdamW};
    let data = Mnist::load(&Path::new(env!("CARGO_MANIFEST_DIR")).join("../assets")).unwrap();
    let patches = split_patches(&data.train.take(32));
    let model = DigitTransformer::new(Config::new(Variant::Mla), 1).unwrap();
    let mut opt = AdamW::new(
        model.vars(),
        ParamsAdamW {
            lr: 2e-3,
            ..Default::default()
        },
    )
    .unwrap();
    let x = batch(&patches, &(0..32).collect::<Vec<_>>()).unwrap();
    let loss = |m: &DigitTransformer| m.nll(&x).unwrap().mean(0).unwrap();
    let before = loss(&model).to_scalar::<f32>().unwrap();
    let started = Instant::now();
    for _ in 0..5 {
        opt.backward_step(&(loss(&model) / POSITIONS as f64).unwrap())
            .unwrap();
    }
    eprintln!("5 steps of 32 digits: {:?}", started.elapsed());
    let after = loss(&model).to_scalar::<f32>().unwrap();
    assert!(after < before - 1.0, "{before} -> {after}");
}
