//! Chapter 9's detector on both backends: R-CNN's crop-and-warp kernel
//! against its reference, and both pipelines on the GPU against the CPU
//! path to 1e-3, with untrained weights and the shipped ones on a held-out
//! scene, down to the same detections after NMS.

use std::path::PathBuf;

use crate::common;

use common::{assert_close, gpu, run};
use compute::{
    faces::{
        scenes::{background_path, scene, BACKGROUNDS, SIDE},
        Atlas, Grey, HELD_OUT_ATLAS, HELD_OUT_PEOPLE,
    },
    kernels::spp::crop_resize,
    models::spp::{
        config::{OUTPUTS, WEIGHTS_PATH},
        gpu::SppNetGpu,
        model::SppNet,
        windows::{grid, nms, score, spread, PixelWindow},
    },
    reference::spp::crop_resize_ref,
};

fn assets() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../assets")
}

/// Held-out scene k of the test seed, as `cargo xtask scenes faces` writes it.
fn held_out_scene(k: u64) -> compute::faces::scenes::Scene {
    let atlas = Atlas::from_png(
        &std::fs::read(assets().join(HELD_OUT_ATLAS)).unwrap(),
        *HELD_OUT_PEOPLE.start(),
    )
    .unwrap();
    let backgrounds: Vec<Grey> = BACKGROUNDS
        .iter()
        .map(|n| {
            Grey::from_png(&std::fs::read(assets().join(background_path(n))).unwrap()).unwrap()
        })
        .collect();
    scene(&atlas, &backgrounds, 29, k).unwrap()
}

#[test]
fn crop_resize_matches_the_reference() {
    let Some(exec) = gpu() else { return };
    let image = held_out_scene(0).pixels;
    let windows: Vec<PixelWindow> = spread(&grid(), 300);
    for (tw, th) in [(40, 48), (17, 9), (92, 112)] {
        let want = crop_resize_ref(&image, SIDE, SIDE, &windows, tw, th).unwrap();
        let got = run(&exec, |rec| {
            let input = rec.exec().upload(&image);
            crop_resize(rec, &input, SIDE, SIDE, &windows, tw, th).unwrap()
        });
        assert_close(&got, &want, 1e-5, &format!("crop_resize to {tw}×{th}"));
    }
}

fn both_pipelines_agree(net: &SppNet, image: &[f32], windows: &[PixelWindow], what: &str) {
    let Some(exec) = gpu() else { return };
    let g = SppNetGpu::upload(&exec, net).unwrap();
    let spp_cpu = net.spp_pipeline_ref(image, SIDE, SIDE, windows).unwrap();
    let spp_gpu = pollster::block_on(g.spp_pipeline(&exec, image, SIDE, SIDE, windows)).unwrap();
    assert_close(&spp_gpu, &spp_cpu, 1e-3, &format!("{what}: SPP-net"));
    let rcnn_cpu = net.rcnn_pipeline_ref(image, SIDE, SIDE, windows).unwrap();
    let rcnn_gpu = pollster::block_on(g.rcnn_pipeline(&exec, image, SIDE, SIDE, windows)).unwrap();
    assert_close(&rcnn_gpu, &rcnn_cpu, 1e-3, &format!("{what}: R-CNN"));
    assert_eq!(spp_gpu.len(), windows.len() * OUTPUTS);
    // The same faces found: NMS keeps the same windows in the same order.
    for (gpu, cpu) in [(&spp_gpu, &spp_cpu), (&rcnn_gpu, &rcnn_cpu)] {
        let (a, b) = (nms(&score(windows, gpu)), nms(&score(windows, cpu)));
        let ids = |k: &[compute::models::spp::windows::Scored]| {
            k.iter().map(|s| s.window).collect::<Vec<_>>()
        };
        assert_eq!(ids(&a), ids(&b), "{what}");
    }
    // Bad input is an error on the GPU path too, never a panic.
    assert!(pollster::block_on(g.spp_pipeline(&exec, &image[1..], SIDE, SIDE, windows)).is_err());
    assert!(pollster::block_on(g.rcnn_pipeline(&exec, image, SIDE, SIDE, &[])).is_err());
}

#[test]
fn pipelines_match_the_cpu_with_untrained_weights() {
    let image = held_out_scene(1).pixels;
    // 600 windows: three R-CNN batches, the last one partial.
    both_pipelines_agree(
        &SppNet::random(5),
        &image,
        &spread(&grid(), 600),
        "untrained",
    );
}

#[test]
fn pipelines_match_the_cpu_with_the_shipped_weights() {
    let bytes = std::fs::read(assets().join(WEIGHTS_PATH)).unwrap();
    let net = SppNet::load(&bytes).unwrap();
    let s = held_out_scene(2);
    both_pipelines_agree(&net, &s.pixels, &spread(&grid(), 700), "shipped");
    // The shipped detector finds this scene's faces on the CPU path with
    // every window.
    let all = grid();
    let kept = nms(&score(
        &all,
        &net.spp_pipeline_ref(&s.pixels, SIDE, SIDE, &all).unwrap(),
    ));
    for f in &s.faces {
        let truth = compute::models::detr::boxes::Corners::from_xywh(f.bbox);
        let best = kept
            .iter()
            .take(s.faces.len() + 2)
            .map(|k| {
                compute::models::detr::boxes::iou(
                    compute::models::detr::boxes::Corners::from_xywh(k.bbox),
                    truth,
                )
            })
            .fold(0.0, f64::max);
        assert!(best >= 0.5, "face {:?}: best IoU {best}", f.bbox);
    }
}
