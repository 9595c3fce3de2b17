//! `glassbox-train attention --variant <mha|gqa|mqa|mla>`: trains one
//! variant of chapter 2's transformer and writes
//! assets/models/attention/<variant>.safetensors and <variant>.json.

use std::{path::Path, sync::Arc, time::Duration};

use compute::{
    kv_cache::Variant,
    models::digit_transformer::{Config, DigitTransformer as Decoder, POSITIONS},
    weights::{load, to_safetensors},
};
use glassbox_train::{
    attention::{mean_nll, split_patches, DigitTransformer},
    data::{Mnist, PIXELS},
    fit::{fit_attention, FitConfig},
};
use serde_json::json;

pub fn train(
    root: &Path,
    variant: &str,
    data: &Mnist,
    seed: u64,
    minutes: u64,
) -> Result<(), String> {
    let variant = match variant {
        "mha" => Variant::Mha,
        "gqa" => Variant::Gqa,
        "mqa" => Variant::Mqa,
        "mla" => Variant::Mla,
        other => {
            return Err(format!(
                "unknown variant {other}; expected mha, gqa, mqa or mla"
            ))
        }
    };
    let config = Config::new(variant);
    let e = |err: candle_core::Error| err.to_string();
    let model = DigitTransformer::new(config, seed).map_err(e)?;
    let (train, val, test) = (
        split_patches(&data.train),
        split_patches(&data.val),
        split_patches(&data.test),
    );
    let cfg = FitConfig {
        batch: 32,
        lr: 2e-3,
        weight_decay: 0.0,
        // The same number of epochs for every variant, so the comparison is
        // of attention, not of training time; about 22 min on two cores.
        max_epochs: 7,
        patience: 3,
        seed,
        time_budget: Duration::from_secs(60 * minutes),
    };
    let name = config.slug();
    println!("train: {name}, {} parameters, seed {seed}", model.params());
    let report = fit_attention(&model, &train, &val, &cfg, |ep| {
        println!(
            "  epoch {:>3}: train {:.2} nats, validation {:.2} nats ({:.0} s)",
            ep.epoch, ep.train_nll_nats, ep.val_nll_nats, ep.seconds
        );
    })
    .map_err(e)?;
    let test_f32 = mean_nll(&model, &test, 250).map_err(e)?;

    // Measure what ships: write Q8_0, reload through the app's loader.
    let bytes = to_safetensors(&model.export().map_err(e)?).map_err(|x| x.to_string())?;
    let shipped =
        load(&config.weights_path(), &bytes, &config.specs()).map_err(|x| x.to_string())?;
    let quantized = DigitTransformer::from_export(config, &shipped.tensors).map_err(e)?;
    let nll = |p: &[u32]| mean_nll(&quantized, p, 250).map_err(e);
    let (train_nll, val_nll, test_nll) = (nll(&train)?, nll(&val)?, nll(&test)?);

    // The app's own decoder, one token at a time with its KV cache, on the
    // first test digits: it must give the same likelihood as training's
    // whole-sequence pass.
    let decoder = Arc::new(Decoder::from_weights(config, &shipped).map_err(|x| x.to_string())?);
    let checked = 50;
    let mut worst: f64 = 0.0;
    for (i, image) in data.test.x.chunks(PIXELS).take(checked).enumerate() {
        let by_decoder = decoder.nll_ref(image).map_err(|x| x.to_string())?;
        let by_trainer =
            mean_nll(&quantized, &test[i * POSITIONS..(i + 1) * POSITIONS], 1).map_err(e)?;
        worst = worst.max((by_decoder - by_trainer).abs());
    }
    if worst > 1e-2 {
        return Err(format!(
            "the decoder and the trainer disagree by {worst} nats on a test digit"
        ));
    }

    let kv = config.kv_config(POSITIONS);
    let bits_per_dim = |nats: f64| nats / (PIXELS as f64 * std::f64::consts::LN_2);
    let metrics = json!({
        "variant": name,
        "test_nll_nats": test_nll,
        "test_bits_per_dim": bits_per_dim(test_nll),
        "val_nll_nats": val_nll,
        "train_nll_nats": train_nll,
        "test_nll_nats_f32": test_f32,
        "params": model.params(),
        "kv_elems_per_token": kv.elems_per_token(),
        "kv_bytes_per_token": kv.bytes_per_token(),
        "kv_dtype": "fp32",
        "weights_bytes": bytes.len(),
        "epochs": report.epochs,
        "best_epoch": report.best_epoch,
        "train_seconds": report.train_seconds,
        "seed": seed,
        "decoder_check": {"test_digits": checked, "max_abs_diff_nats": worst},
        "config": {
            "layers": config.layers, "dim": config.dim, "heads": config.heads,
            "head_dim": config.head_dim, "kv_heads": config.kv_heads, "ffn": config.ffn,
            "kv_lora_rank": config.latent, "rope_dim": config.rope_dim,
            "tokens": "2x2 patches, 196 positions, vocabulary 16, start token 16",
        },
        "quant": "Q8_0 for matrices (blocks of 32 int8 with an f32 scale along each row), f32 for vectors",
        "optimizer": format!("AdamW lr {} batch {} weight decay 0, loss per patch, at most {} epochs and {minutes} min, the best validation epoch kept (patience {})", cfg.lr, cfg.batch, cfg.max_epochs, cfg.patience),
        "learning_curve": report.curve,
    });
    let dir = root.join("assets/models/attention");
    std::fs::create_dir_all(&dir).map_err(|x| x.to_string())?;
    std::fs::write(dir.join(format!("{name}.safetensors")), &bytes).map_err(|x| x.to_string())?;
    let text = serde_json::to_string_pretty(&metrics).map_err(|x| x.to_string())?;
    std::fs::write(dir.join(format!("{name}.json")), text + "\n").map_err(|x| x.to_string())?;
    println!(
        "train: {name}: test {test_nll:.2} nats ({:.4} bits/dim; f32 {test_f32:.2}), validation {val_nll:.2}; {} bytes; decoder agrees within {worst:.2e} nats",
        bits_per_dim(test_nll),
        bytes.len()
    );
    Ok(())
}
