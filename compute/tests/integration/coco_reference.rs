//! Our COCO-style AP against pycocotools' on a fixed set of 40 images'
//! ground truths and detections (duplicates, wrong classes, false
//! positives). `tests/coco/make_reference.py` wrote the file with
//! pycocotools 2.0.11 from PyPI.

use compute::models::detr::coco_eval::{evaluate, Detection, GroundTruth};
use serde_json::Value;

#[test]
fn ap_matches_pycocotools() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../tests/coco/reference.json");
    let reference: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let bbox = |v: &Value| -> [f64; 4] {
        let b: Vec<f64> = v["bbox"]
            .as_array()
            .unwrap()
            .iter()
            .map(|x| x.as_f64().unwrap())
            .collect();
        [b[0], b[1], b[2], b[3]]
    };
    let truths: Vec<GroundTruth> = reference["annotations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| GroundTruth {
            image_id: a["image_id"].as_u64().unwrap(),
            category_id: a["category_id"].as_u64().unwrap() as u32,
            bbox: bbox(a),
        })
        .collect();
    let detections: Vec<Detection> = reference["detections"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| Detection {
            image_id: d["image_id"].as_u64().unwrap(),
            category_id: d["category_id"].as_u64().unwrap() as u32,
            bbox: bbox(d),
            score: d["score"].as_f64().unwrap(),
        })
        .collect();
    assert!(truths.len() > 80 && detections.len() > truths.len());
    let ours = evaluate(&truths, &detections);
    for (name, got) in [("ap", ours.ap), ("ap50", ours.ap50), ("ap75", ours.ap75)] {
        let want = reference[name].as_f64().unwrap();
        assert!(
            (got - want).abs() < 1e-9,
            "{name}: ours {got}, pycocotools {want}"
        );
    }
}
