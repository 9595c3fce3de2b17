//! `glassbox-train detr`: trains chapter 3's detector on freshly generated
//! scenes and writes assets/models/detr/detr.safetensors and detr.json.

use std::{path::Path, time::Instant};

use candle_core::{backprop::GradStore, Tensor};
use candle_nn::{AdamW, Optimizer, ParamsAdamW};
use compute::{
    inputs::SplitMix64,
    models::detr::{
        coco_eval::{evaluate, ApSummary, GroundTruth},
        config::{params, specs, METRICS_PATH, TEST_SCENES, TEST_SCENES_SEED, WEIGHTS_PATH},
        output::{detections, read_queries},
        scenes::{generate_scene, Scene},
        set_loss::CLASSES,
    },
    weights::{load, to_safetensors},
};
use glassbox_train::{
    coco,
    data::{raw_digits, RawDigits},
    detr::{images, layer_loss, scene_targets, Detr},
};
use serde_json::json;

const BATCH: usize = 32;
const LR: f64 = 1e-3;
const WARMUP: usize = 300;
const CLIP_NORM: f64 = 1.0;
const EVAL_EVERY: usize = 500;
const VAL_SCENES: usize = 300;

pub fn scenes(digits: &RawDigits, count: usize, seed: u64) -> Vec<Scene> {
    let mut rng = SplitMix64::new(seed);
    (0..count)
        .map(|_| generate_scene(&digits.images, &digits.labels, &mut rng))
        .collect()
}

/// COCO AP of the last decoder layer's detections on `scenes` (ids 0..).
pub fn average_precision(model: &Detr, scenes: &[Scene]) -> candle_core::Result<ApSummary> {
    let (mut truths, mut found) = (Vec::new(), Vec::new());
    for (c, chunk) in scenes.chunks(50).enumerate() {
        let outs = model.forward(&images(chunk)?)?;
        let last = outs.last().expect("the decoder has layers");
        let logits = last.logits.flatten_all()?.to_vec1::<f32>()?;
        let boxes = last.boxes.flatten_all()?.to_vec1::<f32>()?;
        let n = logits.len() / chunk.len() / CLASSES;
        for (i, scene) in chunk.iter().enumerate() {
            let id = (c * 50 + i) as u64;
            let queries = read_queries(
                &logits[i * n * CLASSES..(i + 1) * n * CLASSES],
                &boxes[i * n * 4..(i + 1) * n * 4],
            );
            found.extend(detections(id, &queries));
            truths.extend(scene.objects.iter().map(|o| GroundTruth {
                image_id: id,
                category_id: o.label as u32,
                bbox: o.bbox,
            }));
        }
    }
    Ok(evaluate(&truths, &found))
}

pub(crate) fn clip(
    grads: &mut GradStore,
    vars: &[candle_core::Var],
    max_norm: f64,
) -> candle_core::Result<f64> {
    let mut sq = 0.0;
    for v in vars {
        if let Some(g) = grads.get(v) {
            sq += g.sqr()?.sum_all()?.to_scalar::<f32>()? as f64;
        }
    }
    let norm = sq.sqrt();
    if norm > max_norm {
        for v in vars {
            if let Some(g) = grads.get(v) {
                let scaled = (g * (max_norm / norm))?;
                grads.insert(v, scaled);
            }
        }
    }
    Ok(norm)
}

pub fn train(root: &Path, seed: u64, minutes: u64, steps: usize) -> Result<(), String> {
    let e = |err: candle_core::Error| err.to_string();
    let (train_digits, val_digits, test_digits) = raw_digits(&root.join("assets"))?;
    let model = Detr::new(seed).map_err(e)?;
    let vars = model.vars();
    println!(
        "train: detr, {} parameters, seed {seed}, {steps} steps of {BATCH} fresh scenes",
        model.params()
    );
    assert_eq!(model.params(), params());
    let mut opt = AdamW::new(
        vars.clone(),
        ParamsAdamW {
            lr: LR,
            weight_decay: 1e-4,
            ..Default::default()
        },
    )
    .map_err(e)?;
    let val = scenes(&val_digits, VAL_SCENES, seed + 1);
    let mut rng = SplitMix64::new(seed);
    let start = Instant::now();
    let budget = 60.0 * minutes as f64;
    let mut curve = Vec::new();
    let (mut window, mut window_terms) = (0.0, [0.0; 3]);
    let mut done = 0;
    for step in 1..=steps {
        // Linear warm-up, then a tenfold drop for the last fifth.
        let lr = if step <= WARMUP {
            LR * step as f64 / WARMUP as f64
        } else if step > steps * 4 / 5 {
            LR * 0.1
        } else {
            LR
        };
        opt.set_learning_rate(lr);
        let batch: Vec<Scene> = (0..BATCH)
            .map(|_| generate_scene(&train_digits.images, &train_digits.labels, &mut rng))
            .collect();
        let truth = scene_targets(&batch);
        let outs = model.forward(&images(&batch).map_err(e)?).map_err(e)?;
        let mut total: Option<Tensor> = None;
        for (l, out) in outs.iter().enumerate() {
            let terms = layer_loss(out, &truth).map_err(e)?;
            if l + 1 == outs.len() {
                for (k, t) in [&terms.class, &terms.l1, &terms.giou].iter().enumerate() {
                    window_terms[k] += t.to_scalar::<f32>().map_err(e)? as f64;
                }
            }
            let t = terms.total().map_err(e)?;
            total = Some(match total {
                None => t,
                Some(sum) => (sum + t).map_err(e)?,
            });
        }
        let loss = total.expect("the decoder has layers");
        window += loss.to_scalar::<f32>().map_err(e)? as f64;
        let mut grads = loss.backward().map_err(e)?;
        clip(&mut grads, &vars, CLIP_NORM).map_err(e)?;
        opt.step(&grads).map_err(e)?;
        done = step;
        let seconds = start.elapsed().as_secs_f64();
        if step % 50 == 0 {
            println!(
                "  step {step:>6}: loss {:.3} ({:.0} s)",
                loss.to_scalar::<f32>().map_err(e)?,
                seconds
            );
        }
        if step % EVAL_EVERY == 0 || step == steps || seconds > budget {
            let ap = average_precision(&model, &val).map_err(e)?;
            let n = (step - 1) % EVAL_EVERY + 1;
            println!(
                "  step {step:>6}: mean loss {:.3} (last layer: class {:.3}, L1 {:.3}, GIoU {:.3}); validation AP {:.3}, AP50 {:.3} ({:.0} s)",
                window / n as f64,
                window_terms[0] / n as f64,
                window_terms[1] / n as f64,
                window_terms[2] / n as f64,
                ap.ap,
                ap.ap50,
                seconds
            );
            curve.push(json!({
                "step": step,
                "seconds": seconds,
                "train_loss": window / n as f64,
                "train_class": window_terms[0] / n as f64,
                "train_l1": window_terms[1] / n as f64,
                "train_giou": window_terms[2] / n as f64,
                "val_ap": ap.ap,
                "val_ap50": ap.ap50,
                "val_ap75": ap.ap75,
            }));
            (window, window_terms) = (0.0, [0.0; 3]);
            // A checkpoint, so an interrupted run still leaves weights.
            let bytes = to_safetensors(&model.export().map_err(e)?).map_err(|x| x.to_string())?;
            let dir = root.join("assets/models/detr");
            std::fs::create_dir_all(&dir).map_err(|x| x.to_string())?;
            std::fs::write(root.join("assets").join(WEIGHTS_PATH), &bytes)
                .map_err(|x| x.to_string())?;
        }
        if seconds > budget {
            println!("  time budget of {minutes} min reached at step {step}");
            break;
        }
    }
    let train_seconds = start.elapsed().as_secs_f64();

    // Measure what ships: Q8_0 written, reloaded through the app's loader.
    let test = scenes(&test_digits, TEST_SCENES, TEST_SCENES_SEED);
    let f32_ap = average_precision(&model, &test).map_err(e)?;
    let bytes = to_safetensors(&model.export().map_err(e)?).map_err(|x| x.to_string())?;
    let shipped = load(WEIGHTS_PATH, &bytes, &specs()).map_err(|x| x.to_string())?;
    let quantized = Detr::from_export(&shipped.tensors).map_err(e)?;
    let ap = average_precision(&quantized, &test).map_err(e)?;
    let metrics = json!({
        "model": "detr",
        "test_scenes": TEST_SCENES,
        "test_scenes_seed": TEST_SCENES_SEED,
        "test_ap": ap.ap,
        "test_ap50": ap.ap50,
        "test_ap75": ap.ap75,
        "test_ap_f32": f32_ap.ap,
        "test_ap50_f32": f32_ap.ap50,
        "params": model.params(),
        "weights_bytes": bytes.len(),
        "steps": done,
        "batch": BATCH,
        "scenes_seen": done * BATCH,
        "train_seconds": train_seconds,
        "seed": seed,
        "quant": "Q8_0 for matrices (blocks of 32 int8 with an f32 scale along each row), f32 for vectors and the query embeddings",
        "optimizer": format!("AdamW lr {LR} (linear warm-up over {WARMUP} steps, x0.1 for the last fifth), weight decay 1e-4, gradient norm clipped at {CLIP_NORM}, batch {BATCH} fresh scenes per step"),
        "loss": "Hungarian matching (class 1, L1 5, GIoU 2); cross-entropy with no-object weight 0.1, L1 5, GIoU 2; the same loss on every decoder layer",
        "learning_curve": curve,
    });
    std::fs::write(root.join("assets").join(WEIGHTS_PATH), &bytes).map_err(|x| x.to_string())?;
    let text = serde_json::to_string_pretty(&metrics).map_err(|x| x.to_string())?;
    std::fs::write(root.join("assets").join(METRICS_PATH), text + "\n")
        .map_err(|x| x.to_string())?;
    println!(
        "train: detr: test AP {:.3}, AP50 {:.3}, AP75 {:.3} (f32 AP {:.3}) on {TEST_SCENES} scenes; {} bytes; {train_seconds:.0} s",
        ap.ap, ap.ap50, ap.ap75, f32_ap.ap, bytes.len()
    );
    Ok(())
}

/// `glassbox-train scenes --out <dir> [--count N] [--seed S] [--split train|val|test]`:
/// generated scenes as a COCO folder. The defaults are the held-out test set.
pub fn export_scenes(
    root: &Path,
    dir: &Path,
    split: &str,
    count: usize,
    seed: u64,
) -> Result<(), String> {
    let (train, val, test) = raw_digits(&root.join("assets"))?;
    let digits = match split {
        "train" => train,
        "val" => val,
        "test" => test,
        other => {
            return Err(format!(
                "unknown split {other}; expected train, val or test"
            ))
        }
    };
    let scenes = scenes(&digits, count, seed);
    coco::write_scenes(dir, &scenes)?;
    let objects: usize = scenes.iter().map(|s| s.objects.len()).sum();
    println!(
        "scenes: {count} {split} scenes (seed {seed}), {objects} digits, in {}",
        dir.display()
    );
    Ok(())
}

/// `glassbox-train eval-detr --coco <dir>`: the shipped (Q8_0) detector, through
/// the app's CPU path, on every image of a COCO folder; writes
/// `<dir>/detections.json` and prints COCO AP.
pub fn eval(root: &Path, dir: &Path) -> Result<ApSummary, String> {
    use compute::models::detr::model::Detr as Runtime;
    let path = root.join("assets").join(WEIGHTS_PATH);
    let bytes = std::fs::read(&path)
        .map_err(|x| format!("{}: {x} (run `cargo xtask train detr`)", path.display()))?;
    let model = Runtime::load(&bytes).map_err(|x| x.to_string())?;
    let (images, truths) = coco::read_coco(dir, compute::models::detr::scenes::CANVAS)?;
    if images.is_empty() {
        return Err(format!("{}: no images", dir.display()));
    }
    let start = Instant::now();
    let threads = std::thread::available_parallelism().map_or(2, |n| n.get());
    let chunk = images.len().div_ceil(threads);
    let found = std::thread::scope(|scope| {
        let parts: Vec<_> = images
            .chunks(chunk)
            .map(|part| {
                let model = &model;
                scope.spawn(move || {
                    let mut found = Vec::new();
                    for image in part {
                        let trace = model
                            .forward_ref(&image.pixels)
                            .map_err(|x| x.to_string())?;
                        found.extend(detections(image.id, &trace.queries()));
                    }
                    Ok::<_, String>(found)
                })
            })
            .collect();
        parts
            .into_iter()
            .map(|h| h.join().expect("an evaluation thread panicked"))
            .collect::<Result<Vec<_>, String>>()
    })?
    .concat();
    let seconds = start.elapsed().as_secs_f64();
    coco::write_detections(&dir.join("detections.json"), &found)?;
    let ap = evaluate(&truths, &found);
    println!(
        "eval: {} images, {} objects: AP@[.50:.95] {:.3}, AP50 {:.3}, AP75 {:.3} ({:.1} ms per image on {threads} threads, CPU reference)",
        images.len(),
        truths.len(),
        ap.ap,
        ap.ap50,
        ap.ap75,
        seconds * 1000.0 * threads as f64 / images.len() as f64
    );
    println!("eval: wrote {}", dir.join("detections.json").display());
    Ok(ap)
}
