//! glassbox-train ar --model <fvsbn|nade|made|pixelcnn> [--seed N] [--max-minutes M]
//!
//! Trains one autoregressive model on the MNIST train split with early
//! stopping on validation, then writes assets/models/ar/<name>.safetensors
//! (the shipped Q8_0 weights) and <name>.json (metrics computed from those
//! shipped weights, plus the f32 test NLL and the learning curve).

use std::{
    collections::BTreeMap,
    path::{Path, PathBuf},
    time::Duration,
};

use compute::{
    models::ar::made::{Made as MadeSpec, HIDDEN as MADE_HIDDEN},
    models::detr::config::{TEST_SCENES, TEST_SCENES_SEED},
    weights::{load, to_safetensors, Tensor as Stored, TensorSpec},
};
use glassbox_train::{
    ar::{fvsbn::Fvsbn, made::Made, nade::Nade, pixelcnn::PixelCnn, ArModel},
    data::{Mnist, Split, PIXELS},
    fit::{fit, fit_nade, mean_nll, Epoch, FitConfig, FitReport},
};
use serde_json::json;

mod align_recipe;
mod align_rules;
mod attention_recipe;
mod detr_recipe;
mod faces_data;
mod instruct_recipe;
mod llama_recipe;
mod lora_recipe;
mod pictures;
mod spp_recipe;

/// Chapter 3's training length: fixed, so a rerun gives the same weights.
const DETR_STEPS: usize = 11000;
const SPP_STEPS: usize = 3000;

fn main() {
    if let Err(e) = run() {
        eprintln!("train: {e}");
        std::process::exit(1);
    }
}

fn arg(args: &[String], name: &str) -> Option<String> {
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .cloned()
}

fn run() -> Result<(), String> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let usage = "usage: glassbox-train ar --model <fvsbn|nade|made|pixelcnn> [--seed N] [--max-minutes M]\n       \
                 glassbox-train attention --variant <mha|gqa|mqa|mla> [--seed N] [--max-minutes M]\n       \
                 glassbox-train detr [--seed N] [--max-minutes M] [--steps S]\n       \
                 glassbox-train scenes --out <dir> [--count N] [--seed S] [--split train|val|test]\n       \
                 glassbox-train eval-detr --coco <dir>\n       \
                 glassbox-train spp [--seed N] [--max-minutes M] [--steps S]\n       \
                 glassbox-train eval-spp --coco <dir>\n       \
                 glassbox-train face-scenes --out <dir> [--count N] [--seed S] [--split held-out|train]\n       \
                 glassbox-train llama [--seed N] [--epochs E]\n       \
                 glassbox-train llama-scaling [--seed N]\n       \
                 glassbox-train lora --poet <白居易|杜甫|李白> --rank R --targets <qv|attn|all> --steps N [--backend cpu|gpu] [--lr L] [--alpha A]\n       \
                 glassbox-train lora-table\n       \
                 glassbox-train instruct\n       \
                 glassbox-train sample-instruct --prompt 写一首五绝 [--n N] [--seed S] [--temperature T]\n       \
                 glassbox-train tang-corpus\n       \
                 glassbox-train align-rules --strains <tsv>\n       \
                 glassbox-train faces-data --orl <dir> --skimage <dir>\n       \
                 glassbox-train align --method <base|rm|dpo|ppo|best-of-n> [--beta B] [--kl C] [--oracle] [--iterations N]\n       \
                 glassbox-train sample-align --method <base|dpo|ppo> --form 五律 [--n N] [--seed S] [--temperature T]\n       \
                 glassbox-train sample-llama --form <五绝|七绝|五律|七律> [--n N] [--seed S] [--temperature T] [--top-k K] [--top-p P] [--heads 春夏秋冬] [--adapter 白居易|杜甫|李白]";
    let seed: u64 = arg(&args, "--seed")
        .map_or(Ok(0), |s| s.parse())
        .map_err(|e| format!("--seed: {e}"))?;
    let minutes: u64 = arg(&args, "--max-minutes")
        .map_or(Ok(40), |s| s.parse())
        .map_err(|e| format!("--max-minutes: {e}"))?;
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
    match args.first().map(String::as_str) {
        Some("llama") => {
            let epochs: f64 = arg(&args, "--epochs")
                .map_or(Ok(llama_recipe::EPOCHS), |s| s.parse())
                .map_err(|e| format!("--epochs: {e}"))?;
            return llama_recipe::train(&root, seed, epochs);
        }
        Some("llama-scaling") => return llama_recipe::scaling(&root, seed),
        Some("lora") => {
            let poet = arg(&args, "--poet").ok_or("--poet is required")?;
            let number = |name: &str, default: usize| -> Result<usize, String> {
                arg(&args, name)
                    .map_or(Ok(default), |s| s.parse())
                    .map_err(|e| format!("{name}: {e}"))
            };
            let targets = arg(&args, "--targets").unwrap_or_else(|| "qv".into());
            let backend = arg(&args, "--backend").unwrap_or_else(|| "cpu".into());
            return lora_recipe::lora(
                &root,
                &poet,
                number("--rank", 4)?,
                &targets,
                number("--steps", lora_recipe::TABLE_STEPS)?,
                &backend,
                arg(&args, "--lr")
                    .map_or(Ok(lora_recipe::LR), |s| s.parse())
                    .map_err(|e| format!("--lr: {e}"))?,
                arg(&args, "--alpha")
                    .map_or(Ok(lora_recipe::ALPHA), |s| s.parse())
                    .map_err(|e| format!("--alpha: {e}"))?,
            );
        }
        Some("lora-table") => return lora_recipe::table(&root),
        Some("instruct") => return instruct_recipe::run(&root),
        Some("sample-instruct") => {
            let number = |name: &str, default: f64| -> Result<f64, String> {
                arg(&args, name)
                    .map_or(Ok(default), |s| s.parse())
                    .map_err(|e| format!("{name}: {e}"))
            };
            let instruction =
                arg(&args, "--prompt").ok_or("--prompt \"写一首五绝\" is required")?;
            let sampling = compute::models::llama::sampling::Sampling {
                temperature: number("--temperature", 0.8)? as f32,
                top_k: 0,
                top_p: 1.0,
            };
            if sampling.temperature.is_nan() || sampling.temperature <= 0.0 {
                return Err("--temperature must be above 0".into());
            }
            let n = number("--n", 10.0)? as usize;
            return instruct_recipe::sample(&root, &instruction, n, seed, sampling);
        }
        Some("pictures") => return pictures::all(&root),
        Some("tang-corpus") => return tang_corpus(&root),
        Some("align") => {
            let method =
                arg(&args, "--method").ok_or("--method <base|rm|dpo|ppo|best-of-n> is required")?;
            let number = |name: &str, default: f64| -> Result<f64, String> {
                arg(&args, name)
                    .map_or(Ok(default), |s| s.parse())
                    .map_err(|e| format!("{name}: {e}"))
            };
            let oracle = args.iter().any(|a| a == "--oracle");
            return align_recipe::run(
                &root,
                &method,
                number("--beta", 0.1)?,
                number("--kl", 0.05)?,
                oracle,
                number("--iterations", align_recipe::PPO_ITERATIONS as f64)? as usize,
            );
        }
        Some("sample-align") => {
            let number = |name: &str, default: f64| -> Result<f64, String> {
                arg(&args, name)
                    .map_or(Ok(default), |s| s.parse())
                    .map_err(|e| format!("{name}: {e}"))
            };
            let method = arg(&args, "--method").unwrap_or_else(|| "base".into());
            let form = arg(&args, "--form").ok_or("--form <五绝|七绝|五律|七律> is required")?;
            let sampling = compute::models::llama::sampling::Sampling {
                temperature: number("--temperature", 0.8)? as f32,
                top_k: 0,
                top_p: 1.0,
            };
            if sampling.temperature.is_nan() || sampling.temperature <= 0.0 {
                return Err("--temperature must be above 0".into());
            }
            let n = number("--n", 10.0)? as usize;
            return align_recipe::sample(&root, &method, &form, n, seed, sampling);
        }
        Some("faces-data") => {
            let orl = arg(&args, "--orl").ok_or("--orl <dir> (ORL's s1 … s40) is required")?;
            let skimage = arg(&args, "--skimage")
                .ok_or("--skimage <dir> (scikit-image's skimage/data) is required")?;
            return faces_data::run(&root, Path::new(&orl), Path::new(&skimage));
        }
        Some("align-rules") => {
            let strains = arg(&args, "--strains").ok_or("--strains <tsv> is required")?;
            return align_rules::run(&root, Path::new(&strains));
        }
        Some("sample-llama") => {
            let number = |name: &str, default: f64| -> Result<f64, String> {
                arg(&args, name)
                    .map_or(Ok(default), |s| s.parse())
                    .map_err(|e| format!("{name}: {e}"))
            };
            let form = arg(&args, "--form").ok_or("--form <五绝|七绝|五律|七律> is required")?;
            let sampling = compute::models::llama::sampling::Sampling {
                temperature: number("--temperature", 0.8)? as f32,
                top_k: number("--top-k", 0.0)? as usize,
                top_p: number("--top-p", 1.0)? as f32,
            };
            if sampling.temperature.is_nan() || sampling.temperature <= 0.0 {
                return Err("--temperature must be above 0".into());
            }
            let n = number("--n", 10.0)? as usize;
            let heads = arg(&args, "--heads");
            let adapter = arg(&args, "--adapter");
            return llama_recipe::sample(
                &root,
                &form,
                n,
                seed,
                sampling,
                heads.as_deref(),
                adapter.as_deref(),
            );
        }
        Some("scenes") => {
            let out = arg(&args, "--out").ok_or("--out <dir> is required")?;
            let count = arg(&args, "--count")
                .map_or(Ok(TEST_SCENES), |s| s.parse())
                .map_err(|e| format!("--count: {e}"))?;
            let seed = arg(&args, "--seed")
                .map_or(Ok(TEST_SCENES_SEED), |s| s.parse())
                .map_err(|e| format!("--seed: {e}"))?;
            let split = arg(&args, "--split").unwrap_or_else(|| "test".into());
            return detr_recipe::export_scenes(&root, Path::new(&out), &split, count, seed);
        }
        Some("face-scenes") => {
            let out = arg(&args, "--out").ok_or("--out <dir> is required")?;
            let count = arg(&args, "--count")
                .map_or(Ok(spp_recipe::TEST_SCENES), |s| s.parse())
                .map_err(|e| format!("--count: {e}"))?;
            let seed = arg(&args, "--seed")
                .map_or(Ok(spp_recipe::TEST_SCENES_SEED), |s| s.parse())
                .map_err(|e| format!("--seed: {e}"))?;
            let split = arg(&args, "--split").unwrap_or_else(|| "held-out".into());
            return spp_recipe::export_scenes(&root, Path::new(&out), &split, count, seed);
        }
        Some("eval-spp") => {
            let dir = arg(&args, "--coco").ok_or("--coco <dir> is required")?;
            return spp_recipe::eval(&root, Path::new(&dir)).map(|_| ());
        }
        Some("eval-detr") => {
            let dir = arg(&args, "--coco").ok_or("--coco <dir> is required")?;
            return detr_recipe::eval(&root, Path::new(&dir)).map(|_| ());
        }
        _ => {}
    }
    if args.first().map(String::as_str) == Some("spp") {
        let steps: usize = arg(&args, "--steps")
            .map_or(Ok(SPP_STEPS), |s| s.parse())
            .map_err(|e| format!("--steps: {e}"))?;
        let minutes = arg(&args, "--max-minutes")
            .map_or(Ok(35), |s| s.parse())
            .map_err(|e| format!("--max-minutes: {e}"))?;
        return spp_recipe::train(&root, seed, minutes, steps);
    }
    if args.first().map(String::as_str) == Some("detr") {
        let steps: usize = arg(&args, "--steps")
            .map_or(Ok(DETR_STEPS), |s| s.parse())
            .map_err(|e| format!("--steps: {e}"))?;
        let minutes = arg(&args, "--max-minutes")
            .map_or(Ok(90), |s| s.parse())
            .map_err(|e| format!("--max-minutes: {e}"))?;
        return detr_recipe::train(&root, seed, minutes, steps);
    }
    let data = Mnist::load(&root.join("assets"))?;
    match args.first().map(String::as_str) {
        Some("ar") => {}
        Some("attention") => {
            let variant = arg(&args, "--variant").ok_or("--variant is required")?;
            return attention_recipe::train(&root, &variant, &data, seed, minutes);
        }
        _ => return Err(usage.into()),
    }
    let name = arg(&args, "--model").ok_or("--model is required")?;
    println!(
        "train: {} train, {} validation, {} test digits",
        data.train.len(),
        data.val.len(),
        data.test.len()
    );

    let budget = Duration::from_secs(60 * minutes);
    let e = |err: candle_core::Error| err.to_string();
    match name.as_str() {
        "fvsbn" => {
            let cfg = FitConfig {
                weight_decay: 0.0,
                batch: 100,
                lr: 1e-3,
                max_epochs: 300,
                patience: 5,
                seed,
                time_budget: budget,
            };
            let recipe = Recipe {
                model: Fvsbn::new(seed).map_err(e)?,
                cfg,
                rebuild: Fvsbn::from_export,
                specs: Fvsbn::specs(),
                trainer: |m, t, v, c, log| fit(m, t, v, c, log),
            };
            finish(&root, &name, &data, recipe)
        }
        "nade" => {
            let cfg = FitConfig {
                weight_decay: 0.0,
                batch: 100,
                lr: 1e-3,
                max_epochs: 500,
                patience: 8,
                seed,
                time_budget: budget,
            };
            let recipe = Recipe {
                model: Nade::new(500, seed).map_err(e)?,
                cfg,
                rebuild: Nade::from_export,
                specs: Nade::specs(500),
                trainer: |m, t, v, c, log| fit_nade(m, t, v, c, log),
            };
            finish(&root, &name, &data, recipe)
        }
        "made" => {
            let cfg = FitConfig {
                weight_decay: 0.0,
                batch: 100,
                lr: 2e-3,
                max_epochs: 300,
                patience: 8,
                seed,
                time_budget: budget,
            };
            let recipe = Recipe {
                model: Made::new(MADE_HIDDEN, 1, seed).map_err(e)?,
                cfg,
                rebuild: Made::from_export,
                specs: MadeSpec::specs(),
                trainer: |m, t, v, c, log| fit(m, t, v, c, log),
            };
            finish(&root, &name, &data, recipe)
        }
        "pixelcnn" => {
            let cfg = FitConfig {
                weight_decay: 0.0,
                batch: 32,
                lr: 2e-3,
                max_epochs: 100,
                patience: 4,
                seed,
                time_budget: budget,
            };
            let recipe = Recipe {
                model: PixelCnn::new(seed).map_err(e)?,
                cfg,
                rebuild: PixelCnn::from_export,
                specs: compute::models::ar::pixelcnn::PixelCnn::specs(),
                trainer: |m, t, v, c, log| fit(m, t, v, c, log),
            };
            finish(&root, &name, &data, recipe)
        }
        other => Err(format!(
            "unknown model {other}; expected fvsbn, nade, made or pixelcnn"
        )),
    }
}

/// How a model is fitted: autodiff (`fit`) or a hand-written gradient.
type Trainer<M> =
    fn(&M, &Split, &Split, &FitConfig, &mut dyn FnMut(&Epoch)) -> candle_core::Result<FitReport>;

/// One model's training: the initial model, how to fit it, and how to
/// rebuild it from its shipped tensors.
struct Recipe<M> {
    model: M,
    cfg: FitConfig,
    rebuild: fn(&BTreeMap<String, Stored>) -> candle_core::Result<M>,
    specs: Vec<TensorSpec>,
    trainer: Trainer<M>,
}

fn finish<M: ArModel>(
    root: &std::path::Path,
    name: &str,
    data: &Mnist,
    recipe: Recipe<M>,
) -> Result<(), String> {
    let Recipe {
        model,
        cfg,
        rebuild,
        specs,
        trainer,
    } = recipe;
    let e = |err: candle_core::Error| err.to_string();
    println!(
        "train: {name}, {} parameters, seed {}",
        model.params(),
        cfg.seed
    );
    let report: FitReport = trainer(&model, &data.train, &data.val, &cfg, &mut |ep| {
        println!(
            "  epoch {:>3}: train {:.2} nats, validation {:.2} nats ({:.0} s)",
            ep.epoch, ep.train_nll_nats, ep.val_nll_nats, ep.seconds
        );
    })
    .map_err(e)?;
    let test_f32 = mean_nll(&model, &data.test, 500).map_err(e)?;

    // Ship Q8_0, then measure exactly what ships: write, reload through the
    // app's loader, and evaluate the dequantized weights.
    let file = format!("models/ar/{name}.safetensors");
    let bytes = to_safetensors(&model.export().map_err(e)?).map_err(|x| x.to_string())?;
    let shipped = load(&file, &bytes, &specs).map_err(|x| x.to_string())?;
    let quantized = rebuild(&shipped.tensors).map_err(e)?;
    let nll = |split| mean_nll(&quantized, split, 500).map_err(e);
    let (train, val, test) = (nll(&data.train)?, nll(&data.val)?, nll(&data.test)?);
    let metrics = json!({
        "model": name,
        "test_nll_nats": test,
        "val_nll_nats": val,
        "train_nll_nats": train,
        "test_nll_nats_f32": test_f32,
        "test_bits_per_dim": test / (PIXELS as f64 * std::f64::consts::LN_2),
        "params": model.params(),
        "weights_bytes": bytes.len(),
        "epochs": report.epochs,
        "best_epoch": report.best_epoch,
        "train_seconds": report.train_seconds,
        "seed": cfg.seed,
        "quant": "Q8_0 for matrices (blocks of 32 int8 with an f32 scale along each row), f32 for vectors",
        "optimizer": format!("AdamW lr {} batch {} weight decay 0, early stopping on validation NLL (patience {})", cfg.lr, cfg.batch, cfg.patience),
        "learning_curve": report.curve,
    });
    let dir = root.join("assets/models/ar");
    std::fs::create_dir_all(&dir).map_err(|x| x.to_string())?;
    std::fs::write(dir.join(format!("{name}.safetensors")), &bytes).map_err(|x| x.to_string())?;
    let text = serde_json::to_string_pretty(&metrics).map_err(|x| x.to_string())?;
    std::fs::write(dir.join(format!("{name}.json")), text + "\n").map_err(|x| x.to_string())?;
    println!("train: {name}: test {test:.2} nats (f32 {test_f32:.2}), validation {val:.2}, train {train:.2}; {} bytes", bytes.len());
    Ok(())
}

/// `assets/data/tang/corpus.bin` from `poems.tsv`: the compact copy of the
/// same poems that the app ships (chapter 6's index, chapter 4's check for
/// memorised lines).
fn tang_corpus(root: &Path) -> Result<(), String> {
    use compute::tang::{decode_corpus, encode_corpus, parse_corpus, CORPUS_PATH};
    let tsv_path = root.join("assets/data/tang/poems.tsv");
    let tsv = std::fs::read_to_string(&tsv_path)
        .map_err(|e| format!("{}: {e} (run `cargo xtask data tang`)", tsv_path.display()))?;
    let poems = parse_corpus(&tsv).map_err(|e| e.to_string())?;
    let bytes = encode_corpus(&poems);
    if decode_corpus(&bytes).map_err(|e| e.to_string())? != poems {
        return Err("corpus.bin does not decode to poems.tsv's poems".into());
    }
    let out = root.join("assets").join(CORPUS_PATH);
    std::fs::write(&out, &bytes).map_err(|e| format!("{}: {e}", out.display()))?;
    println!(
        "glassbox-train: {} ({} poems, {} bytes; poems.tsv is {} bytes)",
        out.display(),
        poems.len(),
        bytes.len(),
        tsv.len()
    );
    Ok(())
}
