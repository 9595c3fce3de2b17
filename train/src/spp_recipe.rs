//! Chapter 9 (SPP-net):
//! - `glassbox-train face-scenes --out <dir>` writes seeded scenes of ORL
//!   faces as a COCO folder (compute::faces::scenes), by default the 500
//!   held-out scenes of people 29–40 the targets are scored on;
//! - `glassbox-train spp` trains the detector on scenes of people 1–28,
//!   both pipelines at once (SPP-net's windows pooled from whole-scene
//!   maps at their own sizes, R-CNN's warped to 40 × 48), and writes
//!   assets/models/spp/spp.safetensors and spp.json;
//! - `glassbox-train eval-spp --coco <dir>` scores a COCO folder with both
//!   pipelines and writes SPP-net's detections.

use std::{path::Path, time::Instant};

use candle_core::{Device, Tensor};
use candle_nn::{AdamW, Optimizer, ParamsAdamW};
use compute::{
    faces::{
        scenes::{background_path, scene, Scene, BACKGROUNDS, SIDE},
        Atlas, Grey, HELD_OUT_ATLAS, HELD_OUT_PEOPLE, TRAIN_ATLAS, TRAIN_PEOPLE,
    },
    inputs::SplitMix64,
    models::{
        detr::{
            boxes::{iou, Corners},
            coco_eval::{evaluate, ApSummary, Detection, GroundTruth},
        },
        spp::{
            config::{params, specs, METRICS_PATH, RCNN_HEIGHT, RCNN_WIDTH, WEIGHTS_PATH},
            model::{conv_flops, SppNet},
            race::Pipeline,
            windows::{deltas_to, detections, grid, nms, score, PixelWindow},
        },
    },
    reference::spp::crop_resize_ref,
    weights::{load, to_safetensors},
};
use serde_json::json;

use glassbox_train::{
    coco::{read_coco, write_coco, write_detections, CocoScene},
    spp::{bce_with_logits, smooth_l1, Region, SppTrainer},
};

pub const TEST_SCENES: usize = 500;
pub const TEST_SCENES_SEED: u64 = 29;
/// COCO's category for a face.
pub const FACE: u32 = 1;

fn read(root: &Path, path: &str) -> Result<Vec<u8>, String> {
    std::fs::read(root.join("assets").join(path))
        .map_err(|x| format!("{path}: {x} (run `cargo xtask data faces`)"))
}

pub fn backgrounds(root: &Path) -> Result<Vec<Grey>, String> {
    BACKGROUNDS
        .iter()
        .map(|name| {
            let path = background_path(name);
            Grey::from_png(&read(root, &path)?).map_err(|x| format!("{path}: {x}"))
        })
        .collect()
}

/// The atlas of `split`: "held-out" (people 29–40) or "train" (1–28).
pub fn atlas(root: &Path, split: &str) -> Result<Atlas, String> {
    let (path, people) = match split {
        "held-out" => (HELD_OUT_ATLAS, HELD_OUT_PEOPLE),
        "train" => (TRAIN_ATLAS, TRAIN_PEOPLE),
        other => return Err(format!("unknown split {other}; expected held-out or train")),
    };
    Atlas::from_png(&read(root, path)?, *people.start()).map_err(|x| format!("{path}: {x}"))
}

pub fn export_scenes(
    root: &Path,
    dir: &Path,
    split: &str,
    count: usize,
    seed: u64,
) -> Result<(), String> {
    let (atlas, backgrounds) = (atlas(root, split)?, backgrounds(root)?);
    let scenes = (0..count as u64)
        .map(|k| scene(&atlas, &backgrounds, seed, k).map_err(|x| x.to_string()))
        .collect::<Result<Vec<_>, String>>()?;
    let coco: Vec<CocoScene> = scenes
        .iter()
        .map(|s| CocoScene {
            pixels: &s.pixels,
            boxes: s.faces.iter().map(|f| (FACE, f.bbox)).collect(),
        })
        .collect();
    write_coco(dir, SIDE, &[(FACE, "face".to_string())], &coco)?;
    let faces: usize = scenes.iter().map(|s| s.faces.len()).sum();
    println!(
        "face-scenes: {count} {split} scenes (seed {seed}), {faces} faces, in {} \
         (faces: ORL / AT&T Database of Faces, AT&T Laboratories Cambridge)",
        dir.display()
    );
    Ok(())
}

const LR: f64 = 2e-3;
const WARMUP: usize = 200;
const CLIP_NORM: f64 = 5.0;
const SCENES_PER_STEP: usize = 2;
/// Per scene: every positive window up to this many, then negatives, half
/// of them near a face (0.1 ≤ IoU < 0.5) when there are any.
const POSITIVES: usize = 16;
const NEGATIVES: usize = 40;
/// A window is a face at IoU ≥ 0.5 with one (the AP50 criterion).
const POSITIVE_IOU: f64 = 0.5;
const HARD_IOU: f64 = 0.1;
/// The refinement's loss weighs each delta by 1/σ (R-CNN's normalisation).
const DELTA_SCALE: [f32; 4] = [10.0, 10.0, 5.0, 5.0];
const EVAL_EVERY: usize = 400;
const VAL_SCENES: usize = 100;
/// Validation scenes are training people's, from this seed; the held-out
/// people are kept for the test.
const VAL_SEED: u64 = 1_000_029;

/// Each window's best IoU with a face and that face's box.
fn best_faces(windows: &[PixelWindow], s: &Scene) -> Vec<(f64, [f64; 4])> {
    windows
        .iter()
        .map(|w| {
            s.faces
                .iter()
                .map(|f| (iou(w.corners(), Corners::from_xywh(f.bbox)), f.bbox))
                .fold((0.0, [0.0; 4]), |a, b| if b.0 > a.0 { b } else { a })
        })
        .collect()
}

/// The windows of one scene a step trains on, positives first.
fn sample(best: &[(f64, [f64; 4])], rng: &mut SplitMix64) -> Vec<usize> {
    let pick = |mut pool: Vec<usize>, n: usize, rng: &mut SplitMix64| {
        // A partial Fisher–Yates shuffle: the first n of a seeded order.
        let n = n.min(pool.len());
        for i in 0..n {
            let j = i + rng.below(pool.len() - i);
            pool.swap(i, j);
        }
        pool.truncate(n);
        pool
    };
    let by = |keep: &dyn Fn(f64) -> bool| -> Vec<usize> {
        (0..best.len()).filter(|&i| keep(best[i].0)).collect()
    };
    let mut chosen = pick(by(&|v| v >= POSITIVE_IOU), POSITIVES, rng);
    let hard = pick(
        by(&|v| (HARD_IOU..POSITIVE_IOU).contains(&v)),
        NEGATIVES / 2,
        rng,
    );
    let rest: Vec<usize> = by(&|v| v < POSITIVE_IOU)
        .into_iter()
        .filter(|i| !hard.contains(i))
        .collect();
    let easy = pick(rest, NEGATIVES - hard.len(), rng);
    chosen.extend(hard);
    chosen.extend(easy);
    chosen
}

/// What a step's windows should give: labels [n] and normalised deltas [n, 4]
/// (zero for negatives, which the refinement loss skips).
struct Targets {
    labels: Tensor,
    deltas: Tensor,
    positive: Tensor,
}

fn targets(windows: &[PixelWindow], best: &[(f64, [f64; 4])]) -> candle_core::Result<Targets> {
    let dev = &Device::Cpu;
    let n = windows.len();
    let mut labels = Vec::with_capacity(n);
    let mut deltas = Vec::with_capacity(n * 4);
    for (w, (v, bbox)) in windows.iter().zip(best) {
        let face = *v >= POSITIVE_IOU;
        labels.push(if face { 1f32 } else { 0.0 });
        let d = if face { deltas_to(w, *bbox) } else { [0.0; 4] };
        deltas.extend(d.iter().zip(DELTA_SCALE).map(|(d, s)| d * s));
    }
    let labels = Tensor::from_vec(labels, n, dev)?;
    Ok(Targets {
        positive: labels.reshape((n, 1))?,
        labels,
        deltas: Tensor::from_vec(deltas, (n, 4), dev)?,
    })
}

/// (classification, refinement) losses of outputs [n, 5].
fn losses(out: &Tensor, t: &Targets) -> candle_core::Result<(Tensor, Tensor)> {
    let logits = out.narrow(1, 0, 1)?.flatten_all()?;
    let class = bce_with_logits(&logits, &t.labels)?;
    let scale = Tensor::new(&DELTA_SCALE, &Device::Cpu)?;
    let pred = out.narrow(1, 1, 4)?.broadcast_mul(&scale)?;
    let positives = t.labels.sum_all()?.to_scalar::<f32>()?.max(1.0);
    // Negatives' rows are zeroed in both, so only positives count.
    let pred = pred.broadcast_mul(&t.positive)?;
    let n = t.labels.dim(0)? as f64;
    let boxes = (smooth_l1(&pred, &t.deltas)? * (n / positives as f64))?;
    Ok((class, boxes))
}

/// SPP-net's windows of one scene: the scene's map once, each window's
/// cells cut out and pooled, grouped by scale (one cell shape per scale).
fn spp_outputs(
    model: &SppTrainer,
    image: &Tensor,
    windows: &[PixelWindow],
) -> candle_core::Result<(Tensor, Vec<usize>)> {
    let features = model.features(image)?;
    let mut pooled = Vec::new();
    let mut order = Vec::new();
    let mut scales: Vec<usize> = windows.iter().map(|w| w.scale).collect();
    scales.sort();
    scales.dedup();
    for scale in scales {
        let mut cut = Vec::new();
        for (i, w) in windows.iter().enumerate().filter(|(_, w)| w.scale == scale) {
            let c = w.cells();
            cut.push(
                features
                    .narrow(2, c.y0, c.y1 - c.y0)?
                    .narrow(3, c.x0, c.x1 - c.x0)?,
            );
            order.push(i);
        }
        let cut = Tensor::cat(&cut, 0)?;
        let (h, w) = (cut.dim(2)?, cut.dim(3)?);
        pooled.push(SppTrainer::pool(
            &cut,
            Region {
                y0: 0,
                y1: h,
                x0: 0,
                x1: w,
            },
        )?);
    }
    Ok((model.head(&Tensor::cat(&pooled, 0)?)?, order))
}

/// R-CNN's windows: cropped, warped to 40 × 48 and convolved one by one.
fn rcnn_outputs(
    model: &SppTrainer,
    pixels: &[f32],
    windows: &[PixelWindow],
) -> candle_core::Result<Tensor> {
    let crops = crop_resize_ref(pixels, SIDE, SIDE, windows, RCNN_WIDTH, RCNN_HEIGHT)
        .map_err(|x| candle_core::Error::Msg(x.to_string()))?;
    let x = Tensor::from_vec(
        crops,
        (windows.len(), 1, RCNN_HEIGHT, RCNN_WIDTH),
        &Device::Cpu,
    )?;
    let f = model.features(&x)?;
    let (h, w) = (f.dim(2)?, f.dim(3)?);
    model.head(&SppTrainer::pool(
        &f,
        Region {
            y0: 0,
            y1: h,
            x0: 0,
            x1: w,
        },
    )?)
}

/// One image's detections (after NMS) by one pipeline.
pub fn detect(
    net: &SppNet,
    pixels: &[f32],
    windows: &[PixelWindow],
    pipeline: Pipeline,
) -> Result<Vec<compute::models::spp::windows::Scored>, String> {
    let out = match pipeline {
        Pipeline::Spp => net.spp_pipeline_ref(pixels, SIDE, SIDE, windows),
        Pipeline::Rcnn => net.rcnn_pipeline_ref(pixels, SIDE, SIDE, windows),
    }
    .map_err(|x| x.to_string())?;
    Ok(nms(&score(windows, &out)))
}

/// Every image's detections by one pipeline, on all cores, in image order.
fn detect_all(
    net: &SppNet,
    images: &[(u64, &[f32])],
    pipeline: Pipeline,
) -> Result<Vec<Detection>, String> {
    let windows = grid();
    let threads = std::thread::available_parallelism().map_or(2, |n| n.get());
    let chunk = images.len().div_ceil(threads).max(1);
    let parts = std::thread::scope(|scope| {
        let handles: Vec<_> = images
            .chunks(chunk)
            .map(|part| {
                let windows = &windows;
                scope.spawn(move || {
                    let mut found = Vec::new();
                    for (id, pixels) in part {
                        found.extend(detections(*id, &detect(net, pixels, windows, pipeline)?));
                    }
                    Ok::<_, String>(found)
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("an evaluation thread panicked"))
            .collect::<Result<Vec<_>, String>>()
    })?;
    Ok(parts.concat())
}

fn truths(scenes: &[Scene]) -> Vec<GroundTruth> {
    scenes
        .iter()
        .enumerate()
        .flat_map(|(i, s)| {
            s.faces.iter().map(move |f| GroundTruth {
                image_id: i as u64 + 1,
                category_id: FACE,
                bbox: f.bbox,
            })
        })
        .collect()
}

fn scene_ap(net: &SppNet, scenes: &[Scene], pipeline: Pipeline) -> Result<ApSummary, String> {
    let images: Vec<(u64, &[f32])> = scenes
        .iter()
        .enumerate()
        .map(|(i, s)| (i as u64 + 1, s.pixels.as_slice()))
        .collect();
    Ok(evaluate(
        &truths(scenes),
        &detect_all(net, &images, pipeline)?,
    ))
}

fn runtime(model: &SppTrainer) -> Result<(SppNet, Vec<u8>), String> {
    let bytes =
        to_safetensors(&model.export().map_err(|x| x.to_string())?).map_err(|x| x.to_string())?;
    Ok((SppNet::load(&bytes).map_err(|x| x.to_string())?, bytes))
}

/// `glassbox-train spp [--seed N] [--max-minutes M] [--steps S]`.
pub fn train(root: &Path, seed: u64, minutes: u64, steps: usize) -> Result<(), String> {
    let e = |err: candle_core::Error| err.to_string();
    let (train_atlas, backgrounds) = (atlas(root, "train")?, backgrounds(root)?);
    let model = SppTrainer::new(seed).map_err(e)?;
    assert_eq!(model.params(), params());
    let vars = model.vars();
    println!(
        "train: spp, {} parameters, seed {seed}, {steps} steps of {SCENES_PER_STEP} scenes (≤ {POSITIVES} face and {NEGATIVES} other windows each, through both pipelines)",
        model.params()
    );
    let mut opt = AdamW::new(
        vars.clone(),
        ParamsAdamW {
            lr: LR,
            weight_decay: 1e-4,
            ..Default::default()
        },
    )
    .map_err(e)?;
    let val: Vec<Scene> = (0..VAL_SCENES as u64)
        .map(|k| scene(&train_atlas, &backgrounds, VAL_SEED, k).map_err(|x| x.to_string()))
        .collect::<Result<_, _>>()?;
    let all = grid();
    let mut rng = SplitMix64::new(seed);
    let start = Instant::now();
    let budget = 60.0 * minutes as f64;
    let mut curve = Vec::new();
    let mut sums = [0.0f64; 4];
    let mut done = 0;
    let dir = root.join("assets/models/spp");
    std::fs::create_dir_all(&dir).map_err(|x| x.to_string())?;
    for step in 1..=steps {
        let lr = if step <= WARMUP {
            LR * step as f64 / WARMUP as f64
        } else if step > steps * 4 / 5 {
            LR * 0.1
        } else {
            LR
        };
        opt.set_learning_rate(lr);
        let mut terms: Vec<Tensor> = Vec::new();
        for i in 0..SCENES_PER_STEP {
            let k = (step * SCENES_PER_STEP + i) as u64;
            let s = scene(&train_atlas, &backgrounds, seed, k).map_err(|x| x.to_string())?;
            let best = best_faces(&all, &s);
            let chosen = sample(&best, &mut rng);
            let windows: Vec<PixelWindow> = chosen.iter().map(|&i| all[i]).collect();
            let image =
                Tensor::from_slice(&s.pixels, (1, 1, SIDE, SIDE), &Device::Cpu).map_err(e)?;
            let (out, order) = spp_outputs(&model, &image, &windows).map_err(e)?;
            let spp_windows: Vec<PixelWindow> = order.iter().map(|&i| windows[i]).collect();
            let spp_best: Vec<(f64, [f64; 4])> = order.iter().map(|&i| best[chosen[i]]).collect();
            let (c, b) = losses(&out, &targets(&spp_windows, &spp_best).map_err(e)?).map_err(e)?;
            terms.extend([c, b]);
            let out = rcnn_outputs(&model, &s.pixels, &windows).map_err(e)?;
            let own: Vec<(f64, [f64; 4])> = chosen.iter().map(|&i| best[i]).collect();
            let (c, b) = losses(&out, &targets(&windows, &own).map_err(e)?).map_err(e)?;
            terms.extend([c, b]);
        }
        for (k, t) in terms.iter().enumerate() {
            sums[k % 4] += t.to_scalar::<f32>().map_err(e)? as f64 / SCENES_PER_STEP as f64;
        }
        let loss = (Tensor::stack(&terms, 0).map_err(e)?.sum_all().map_err(e)?
            / SCENES_PER_STEP as f64)
            .map_err(e)?;
        let mut grads = loss.backward().map_err(e)?;
        crate::detr_recipe::clip(&mut grads, &vars, CLIP_NORM).map_err(e)?;
        opt.step(&grads).map_err(e)?;
        done = step;
        let seconds = start.elapsed().as_secs_f64();
        if step % EVAL_EVERY == 0 || step == steps || seconds > budget {
            let (net, bytes) = runtime(&model)?;
            std::fs::write(root.join("assets").join(WEIGHTS_PATH), &bytes)
                .map_err(|x| x.to_string())?;
            let ap = scene_ap(&net, &val, Pipeline::Spp)?;
            let n = ((step - 1) % EVAL_EVERY + 1) as f64;
            let mean = sums.map(|v| v / n);
            println!(
                "  step {step:>6}: SPP-net class {:.4} box {:.4}, R-CNN class {:.4} box {:.4}; validation SPP-net AP50 {:.3}, AP {:.3} ({seconds:.0} s)",
                mean[0], mean[1], mean[2], mean[3], ap.ap50, ap.ap
            );
            curve.push(json!({
                "step": step,
                "seconds": seconds,
                "spp_class": mean[0],
                "spp_box": mean[1],
                "rcnn_class": mean[2],
                "rcnn_box": mean[3],
                "val_spp_ap50": ap.ap50,
                "val_spp_ap": ap.ap,
            }));
            sums = [0.0; 4];
        }
        if seconds > budget {
            println!("  time budget of {minutes} min reached at step {step}");
            break;
        }
    }
    let train_seconds = start.elapsed().as_secs_f64();

    // Measure what ships: Q8_0 written and reloaded through the app's loader.
    let (net, bytes) = runtime(&model)?;
    load(WEIGHTS_PATH, &bytes, &specs()).map_err(|x| x.to_string())?;
    std::fs::write(root.join("assets").join(WEIGHTS_PATH), &bytes).map_err(|x| x.to_string())?;
    let held_out = atlas(root, "held-out")?;
    let test: Vec<Scene> = (0..TEST_SCENES as u64)
        .map(|k| scene(&held_out, &backgrounds, TEST_SCENES_SEED, k).map_err(|x| x.to_string()))
        .collect::<Result<_, _>>()?;
    let t = Instant::now();
    let spp = scene_ap(&net, &test, Pipeline::Spp)?;
    let spp_seconds = t.elapsed().as_secs_f64();
    let t = Instant::now();
    let rcnn = scene_ap(&net, &test, Pipeline::Rcnn)?;
    let rcnn_seconds = t.elapsed().as_secs_f64();
    let metrics = json!({
        "model": "spp",
        "test_scenes": TEST_SCENES,
        "test_scenes_seed": TEST_SCENES_SEED,
        "test_people": "29-40 (held out)",
        "windows_per_scene": all.len(),
        "spp": {"ap": spp.ap, "ap50": spp.ap50, "ap75": spp.ap75, "cpu_seconds": spp_seconds},
        "rcnn": {"ap": rcnn.ap, "ap50": rcnn.ap50, "ap75": rcnn.ap75, "cpu_seconds": rcnn_seconds},
        "conv_flops_per_scene": {
            "spp": conv_flops(SIDE, SIDE),
            "rcnn": all.len() as f64 * conv_flops(RCNN_HEIGHT, RCNN_WIDTH),
        },
        "params": model.params(),
        "weights_bytes": bytes.len(),
        "steps": done,
        "scenes_seen": done * SCENES_PER_STEP,
        "train_seconds": train_seconds,
        "seed": seed,
        "quant": "Q8_0 for matrices (blocks of 32 int8 with an f32 scale along each row), f32 for biases",
        "optimizer": format!("AdamW lr {LR} (linear warm-up over {WARMUP} steps, x0.1 for the last fifth), weight decay 1e-4, gradient norm clipped at {CLIP_NORM}"),
        "loss": "per scene, both pipelines on the same sampled windows: binary cross-entropy (face at IoU >= 0.5) plus smooth L1 on the positives' deltas scaled by (10, 10, 5, 5)",
        "learning_curve": curve,
    });
    let text = serde_json::to_string_pretty(&metrics).map_err(|x| x.to_string())?;
    std::fs::write(root.join("assets").join(METRICS_PATH), text + "\n")
        .map_err(|x| x.to_string())?;
    println!(
        "train: spp: held-out AP50 SPP-net {:.3} ({spp_seconds:.0} s), R-CNN {:.3} ({rcnn_seconds:.0} s) on {TEST_SCENES} scenes; {} bytes; {train_seconds:.0} s",
        spp.ap50,
        rcnn.ap50,
        bytes.len()
    );
    Ok(())
}

/// `glassbox-train eval-spp --coco <dir>`: the shipped detector through the
/// app's CPU path on every image of a COCO folder, both pipelines on the
/// grid's windows; writes SPP-net's `<dir>/detections.json` and prints AP.
pub fn eval(root: &Path, dir: &Path) -> Result<(ApSummary, ApSummary), String> {
    let path = root.join("assets").join(WEIGHTS_PATH);
    let bytes = std::fs::read(&path)
        .map_err(|x| format!("{}: {x} (run `cargo xtask train spp`)", path.display()))?;
    let net = SppNet::load(&bytes).map_err(|x| x.to_string())?;
    let (images, truths) = read_coco(dir, SIDE)?;
    if images.is_empty() {
        return Err(format!("{}: no images", dir.display()));
    }
    let pairs: Vec<(u64, &[f32])> = images.iter().map(|i| (i.id, i.pixels.as_slice())).collect();
    let mut results = Vec::new();
    for pipeline in [Pipeline::Spp, Pipeline::Rcnn] {
        let start = Instant::now();
        let found = detect_all(&net, &pairs, pipeline)?;
        let seconds = start.elapsed().as_secs_f64();
        if pipeline == Pipeline::Spp {
            write_detections(&dir.join("detections.json"), &found)?;
        }
        let ap = evaluate(&truths, &found);
        println!(
            "eval: {}: {} images, {} faces, {} windows each: AP@[.50:.95] {:.3}, AP50 {:.3}, AP75 {:.3} ({:.1} ms per image, CPU reference)",
            pipeline.name(),
            images.len(),
            truths.len(),
            grid().len(),
            ap.ap,
            ap.ap50,
            ap.ap75,
            seconds * 1000.0 / images.len() as f64
        );
        results.push(ap);
    }
    println!("eval: wrote {}", dir.join("detections.json").display());
    Ok((results[0], results[1]))
}

#[cfg(test)]
mod tests {
    use super::*;
    use glassbox_train::coco::read_coco;

    /// The committed assets' held-out scenes survive the round trip through
    /// a COCO folder: same boxes, same pixels to within rounding to 8 bits.
    #[test]
    fn held_out_scenes_round_trip_through_coco() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        let dir = std::env::temp_dir().join(format!("glassbox-face-scenes-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        export_scenes(&root, &dir, "held-out", 3, TEST_SCENES_SEED).unwrap();
        let (images, truths) = read_coco(&dir, SIDE).unwrap();
        let (atlas, backgrounds) = (
            atlas(&root, "held-out").unwrap(),
            backgrounds(&root).unwrap(),
        );
        assert_eq!(images.len(), 3);
        for image in &images {
            let s = scene(&atlas, &backgrounds, TEST_SCENES_SEED, image.id - 1).unwrap();
            let boxes: Vec<[f64; 4]> = truths
                .iter()
                .filter(|t| t.image_id == image.id)
                .inspect(|t| assert_eq!(t.category_id, FACE))
                .map(|t| t.bbox)
                .collect();
            assert_eq!(boxes, s.faces.iter().map(|f| f.bbox).collect::<Vec<_>>());
            let worst = image
                .pixels
                .iter()
                .zip(&s.pixels)
                .map(|(a, b)| (a - b).abs())
                .fold(0.0f32, f32::max);
            assert!(worst <= 0.5 / 255.0 + 1e-6, "{worst}");
        }
        let _ = std::fs::remove_dir_all(&dir);
        assert!(atlas_err_names_the_splits());
    }

    fn atlas_err_names_the_splits() -> bool {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        atlas(&root, "test")
            .err()
            .is_some_and(|e| e.contains("held-out or train"))
    }
}
