//! Chapter 3's detector on both backends: the new kernels against their
//! references, and the whole forward pass on the GPU against the CPU
//! reference to 1e-3, with untrained weights and with the shipped ones.

use crate::common;

use common::{assert_close, gpu, run, tol_f32, TOL_F32_ELEMENTWISE};
use compute::{
    detr::{
        config::{TEST_SCENES_SEED, WEIGHTS_PATH},
        gpu::DetrGpu,
        model::Detr,
        scenes::{generate_scene, CANVAS},
    },
    inputs::{uniform_signed, SplitMix64},
    kernels::{
        elementwise::transpose,
        full_attention::{full_attention, FullAttentionShape},
    },
    models::digit_transformer::SIDE,
    reference::full_attention::full_attention_ref,
};

#[test]
fn full_attention_and_transpose_match_their_references() {
    let Some(exec) = gpu() else { return };
    for (tq, tk) in [(10, 144), (144, 144), (3, 10)] {
        let shape = FullAttentionShape {
            heads: 4,
            head_dim: 16,
            tq,
            tk,
        };
        let q = uniform_signed(1, tq * 64);
        let k = uniform_signed(2, tk * 64);
        let v = uniform_signed(3, tk * 64);
        let (want_out, want_probs) = full_attention_ref(&q, &k, &v, shape).unwrap();
        let (gq, gk, gv) = (exec.upload(&q), exec.upload(&k), exec.upload(&v));
        let mut probs = None;
        let out = run(&exec, |rec| {
            let (o, p) = full_attention(rec, &gq, &gk, &gv, shape).unwrap();
            probs = Some(p);
            o
        });
        assert_close(&out, &want_out, tol_f32(tk), "attention output");
        let probs = pollster::block_on(exec.read(&probs.unwrap())).unwrap();
        assert_close(
            &probs,
            &want_probs,
            TOL_F32_ELEMENTWISE,
            "attention weights",
        );
    }
    // Too many keys is a typed error, not a crash.
    let big = FullAttentionShape {
        heads: 1,
        head_dim: 1,
        tq: 1,
        tk: 1000,
    };
    let (a, b) = (exec.upload(&[0.0]), exec.upload(&vec![0.0; 1000]));
    let mut rec = exec.begin();
    assert!(full_attention(&mut rec, &a, &b, &b, big).is_err());
    let m: Vec<f32> = (0..12).map(|i| i as f32).collect();
    let gm = exec.upload(&m);
    let t = run(&exec, |rec| transpose(rec, &gm, 3, 4).unwrap());
    assert_eq!(t, vec![0., 4., 8., 1., 5., 9., 2., 6., 10., 3., 7., 11.]);
}

fn scene_image(seed: u64) -> Vec<f32> {
    // Blocky fake digits: the parity test needs ink, not MNIST.
    let mut images = vec![0u8; 2 * SIDE * SIDE];
    for (k, (x0, w)) in [(6, 16), (12, 4)].iter().enumerate() {
        for y in 4..24 {
            for x in *x0..x0 + w {
                images[k * SIDE * SIDE + y * SIDE + x] = 200;
            }
        }
    }
    generate_scene(&images, &[0, 1], &mut SplitMix64::new(seed)).pixels
}

#[test]
fn gpu_forward_matches_the_cpu_reference() {
    let Some(exec) = gpu() else { return };
    let shipped = std::fs::read(format!(
        "{}/../assets/{WEIGHTS_PATH}",
        env!("CARGO_MANIFEST_DIR")
    ))
    .expect("the shipped DETR weights (cargo xtask train detr)");
    for (name, model) in [
        ("untrained", Detr::random(5)),
        ("shipped", Detr::load(&shipped).unwrap()),
    ] {
        let gpu_model = DetrGpu::upload(&exec, &model);
        for seed in [TEST_SCENES_SEED, 7] {
            let image = scene_image(seed);
            let want = model.forward_ref(&image).unwrap();
            let before = exec.readbacks();
            let got = pollster::block_on(gpu_model.forward(&exec, &image)).unwrap();
            assert_eq!(exec.readbacks(), before + 1, "one readback per pass");
            let diff = got.max_abs_diff(&want);
            assert!(
                diff < 1e-3,
                "{name} weights, scene {seed}: GPU and CPU differ by {diff}"
            );
            let (a, b) = (got.queries(), want.queries());
            assert!(a
                .iter()
                .zip(&b)
                .all(|(x, y)| x.label == y.label || (x.score - y.score).abs() < 1e-3));
        }
        // A bad image is a typed error on the GPU path too.
        assert!(pollster::block_on(gpu_model.forward(&exec, &[0.0; 10])).is_err());
    }
    assert_eq!(CANVAS, 96);
}
