//! The trainer's candle DETR and compute's forward pass (the app's CPU
//! path) must compute the same function on the same shipped weights, and
//! the trainer's batched set loss must equal compute's per-image one.

use std::path::Path;

use compute::{
    inputs::SplitMix64,
    models::detr::{
        config::{specs, QUERIES, WEIGHTS_PATH},
        model::Detr as Runtime,
        output::read_queries,
        scenes::generate_scene,
        set_loss::{set_loss, CostMatrix, NO_OBJECT_WEIGHT},
    },
    weights::{load, to_safetensors},
};
use glassbox_train::{
    data::raw_digits,
    detr::{images, layer_loss, scene_targets, Detr},
};

#[test]
fn trainer_and_runtime_agree_and_so_do_their_losses() {
    let (_, _, test) =
        raw_digits(&Path::new(env!("CARGO_MANIFEST_DIR")).join("../assets")).unwrap();
    let mut rng = SplitMix64::new(3);
    let scenes: Vec<_> = (0..3)
        .map(|_| generate_scene(&test.images, &test.labels, &mut rng))
        .collect();
    let model = Detr::new(4).unwrap();
    let bytes = to_safetensors(&model.export().unwrap()).unwrap();
    let shipped = load(WEIGHTS_PATH, &bytes, &specs()).unwrap();
    let quantized = Detr::from_export(&shipped.tensors).unwrap();
    let runtime = Runtime::from_weights(&shipped).unwrap();
    let outs = quantized.forward(&images(&scenes).unwrap()).unwrap();
    let truth = scene_targets(&scenes);
    for (layer, out) in outs.iter().enumerate() {
        let logits = out.logits.flatten_all().unwrap().to_vec1::<f32>().unwrap();
        let boxes = out.boxes.flatten_all().unwrap().to_vec1::<f32>().unwrap();
        let per_image = logits.len() / scenes.len();
        let (mut want, mut weights) = ([0.0f64; 3], 0.0);
        for (i, scene) in scenes.iter().enumerate() {
            let trace = runtime.forward_ref(&scene.pixels).unwrap();
            let n = per_image;
            let b = boxes.len() / scenes.len();
            let diff = |a: &[f32], b: &[f32]| {
                a.iter()
                    .zip(b)
                    .map(|(x, y)| (x - y).abs())
                    .fold(0.0, f32::max)
            };
            assert!(
                diff(&trace.logits[layer], &logits[i * n..(i + 1) * n]) < 1e-4,
                "logits, layer {layer}"
            );
            assert!(
                diff(&trace.boxes[layer], &boxes[i * b..(i + 1) * b]) < 1e-4,
                "boxes, layer {layer}"
            );
            let predictions: Vec<_> = read_queries(&trace.logits[layer], &trace.boxes[layer])
                .into_iter()
                .map(|q| q.prediction)
                .collect();
            let assignment = CostMatrix::new(&predictions, &truth[i]).assignment();
            let terms = set_loss(&predictions, &truth[i], &assignment);
            // The trainer normalizes L1 and GIoU per object in the batch
            // and the cross-entropy by the batch's weights.
            let objects = truth[i].len() as f64;
            want[1] += terms.l1 * objects;
            want[2] += terms.giou * objects;
            let weight = NO_OBJECT_WEIGHT * (QUERIES as f64 - objects) + objects;
            want[0] += terms.class * weight;
            weights += weight;
        }
        let loss = layer_loss(out, &truth).unwrap();
        let objects: usize = truth.iter().map(Vec::len).sum();
        let got = |t: &candle_core::Tensor| t.to_scalar::<f32>().unwrap() as f64;
        assert!((got(&loss.l1) - want[1] / objects as f64).abs() < 1e-4);
        assert!((got(&loss.giou) - want[2] / objects as f64).abs() < 1e-4);
        assert!((got(&loss.class) - want[0] / weights).abs() < 1e-4);
    }
}
