//! Chapter 3's detector on both backends: the new kernels against their
//! references, and the whole forward pass on the GPU against the CPU
//! reference to 1e-3, with untrained weights and with the shipped ones.

use crate::common;

use common::{assert_close, created_when_warm, gpu, run, tol_f32, TOL_F32_ELEMENTWISE};
use compute::{
    executor::Creations,
    inputs::{uniform_signed, SplitMix64},
    kernels::{
        elementwise::transpose,
        full_attention::{full_attention, full_attention_views, FullAttentionShape, Operand},
        fused_linear::{
            linear_q8_fused, Fused, FusedActivation, FusedLinear, FusedNorm, GpuFusedLinear, Out,
        },
    },
    models::detr::{
        config::{TEST_SCENES_SEED, WEIGHTS_PATH},
        gpu::DetrGpu,
        gpu_unfused::DetrGpuUnfused,
        model::Detr,
        scenes::{generate_scene, CANVAS},
    },
    models::digit_transformer::SIDE,
    reference::{full_attention::full_attention_ref, fused_linear::linear_q8_fused_ref},
    weights::Q8Matrix,
};

fn fused_layer(seed: u64, rows: usize, cols: usize, norm: bool) -> FusedLinear {
    FusedLinear {
        w: Q8Matrix::quantize(&uniform_signed(seed, rows * cols), rows, cols),
        b: uniform_signed(seed + 1, rows),
        norm: norm.then(|| FusedNorm {
            gamma: uniform_signed(seed + 2, rows)
                .iter()
                .map(|v| 1.0 + v)
                .collect(),
            beta: uniform_signed(seed + 3, rows),
            eps: 1e-5,
        }),
    }
}

#[test]
fn fused_linear_matches_the_ops_it_replaces() {
    let Some(exec) = gpu() else { return };
    // (rows, cols, m, positional add on the first 64 features, residual,
    // activation, LayerNorm): widths that are not multiples of the tiles,
    // Q, K and V stacked, and the LayerNorm epilogue.
    let cases = [
        (130, 70, 20, true, true, FusedActivation::Relu, false),
        (192, 64, 144, true, false, FusedActivation::None, false),
        (4, 64, 30, false, false, FusedActivation::Sigmoid, false),
        (64, 128, 37, false, true, FusedActivation::None, true),
    ];
    for (k, &(rows, cols, m, with_add, with_residual, act, norm)) in cases.iter().enumerate() {
        let what = format!("case {k}: [{m}, {cols}] · [{rows}, {cols}]ᵀ");
        let layer = fused_layer(10 * k as u64, rows, cols, norm);
        let x = uniform_signed(1, m * cols);
        let add = uniform_signed(2, m * cols);
        let residual = uniform_signed(3, m * rows);
        let (want_y, want_normed) = linear_q8_fused_ref(
            &x,
            &layer,
            m,
            with_add.then_some((add.as_slice(), 64)),
            with_residual.then_some(residual.as_slice()),
            act,
        )
        .unwrap();
        let gpu_layer = GpuFusedLinear::upload(&exec, &layer).unwrap();
        let (gx, gadd, gres) = (exec.upload(&x), exec.upload(&add), exec.upload(&residual));
        // The LayerNorm's output goes into a larger buffer at an offset, as
        // DETR writes its heads' input.
        let packed = exec.zeros(m * rows + 7);
        let mut rec = exec.begin();
        let out = linear_q8_fused(
            &mut rec,
            &gx,
            &gpu_layer,
            m,
            Fused {
                add: with_add.then_some((&gadd, 64)),
                residual: with_residual.then_some(&gres),
                activation: act,
                normed: if norm { Out::At(&packed, 7) } else { Out::New },
                ..Fused::default()
            },
        )
        .unwrap();
        exec.submit(rec).unwrap();
        let y = pollster::block_on(exec.read(out.y.as_ref().unwrap())).unwrap();
        assert_close(&y, &want_y, 1e-4, &format!("{what}: y"));
        if let Some(want) = want_normed {
            assert!(out.normed.is_none());
            let got = pollster::block_on(exec.read(&packed)).unwrap();
            assert!(
                got[..7].iter().all(|&v| v == 0.0),
                "{what}: wrote before the offset"
            );
            assert_close(&got[7..], &want, 1e-3, &format!("{what}: LayerNorm"));
        }
    }
    // Shapes that do not fit are typed errors.
    assert!(GpuFusedLinear::upload(&exec, &fused_layer(1, 32, 64, true)).is_err());
    let layer = GpuFusedLinear::upload(&exec, &fused_layer(1, 64, 64, false)).unwrap();
    let (x, small) = (exec.zeros(2 * 64), exec.zeros(10));
    let mut rec = exec.begin();
    let bad_add = Fused {
        add: Some((&x, 32)),
        ..Fused::default()
    };
    assert!(linear_q8_fused(&mut rec, &x, &layer, 2, bad_add).is_err());
    let too_small = Fused {
        y: Out::At(&small, 0),
        ..Fused::default()
    };
    assert!(linear_q8_fused(&mut rec, &x, &layer, 2, too_small).is_err());
    assert!(linear_q8_fused(&mut rec, &x, &layer, 3, Fused::default()).is_err());
}

#[test]
fn attention_reads_q_k_v_from_one_projection() {
    let Some(exec) = gpu() else { return };
    let (tq, width) = (12, 64);
    let shape = FullAttentionShape {
        heads: 4,
        head_dim: 16,
        tq,
        tk: tq,
    };
    let qkv = uniform_signed(9, tq * 3 * width);
    let part = |p: usize| -> Vec<f32> {
        qkv.chunks(3 * width)
            .flat_map(|row| row[p * width..(p + 1) * width].to_vec())
            .collect()
    };
    let (want_out, want_probs) = full_attention_ref(&part(0), &part(1), &part(2), shape).unwrap();
    let g = exec.upload(&qkv);
    let probs = exec.zeros(5 + want_probs.len());
    let views = [0, 1, 2].map(|p| Operand {
        t: &g,
        stride: 3 * width,
        offset: p * width,
    });
    let out = run(&exec, |rec| {
        full_attention_views(rec, views, shape, &probs, 5).unwrap()
    });
    assert_close(&out, &want_out, tol_f32(tq), "attention output");
    let got = pollster::block_on(exec.read(&probs)).unwrap();
    assert_close(
        &got[5..],
        &want_probs,
        TOL_F32_ELEMENTWISE,
        "attention weights",
    );
    // A view that runs past its buffer is a typed error.
    let mut rec = exec.begin();
    let past = Operand {
        offset: 2 * width + 4,
        ..views[2]
    };
    assert!(full_attention_views(&mut rec, [views[0], views[1], past], shape, &probs, 5).is_err());
    assert!(full_attention_views(&mut rec, views, shape, &probs, 6 + want_probs.len()).is_err());
}

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
    // Heads wider than the kernel holds, or operands of the wrong size, are
    // typed errors, not crashes.
    let wide = FullAttentionShape {
        heads: 1,
        head_dim: 40,
        tq: 1,
        tk: 2,
    };
    let (a, b) = (exec.upload(&[0.0; 40]), exec.upload(&[0.0; 80]));
    let mut rec = exec.begin();
    assert!(full_attention(&mut rec, &a, &b, &b, wide).is_err());
    let short = FullAttentionShape {
        head_dim: 20,
        ..wide
    };
    assert!(full_attention(&mut rec, &a, &b, &b, short).is_err());
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

/// The committed DETR weights' bytes.
fn shipped_weights() -> Vec<u8> {
    std::fs::read(format!(
        "{}/../assets/{WEIGHTS_PATH}",
        env!("CARGO_MANIFEST_DIR")
    ))
    .expect("the shipped DETR weights (cargo xtask train detr)")
}

#[test]
fn gpu_forward_matches_the_cpu_reference() {
    let Some(exec) = gpu() else { return };
    let shipped = shipped_weights();
    for (name, model) in [
        ("untrained", Detr::random(5)),
        ("shipped", Detr::load(&shipped).unwrap()),
    ] {
        let gpu_model = DetrGpu::upload(&exec, &model).unwrap();
        let unfused = DetrGpuUnfused::upload(&exec, &model);
        for seed in [TEST_SCENES_SEED, 7] {
            let image = scene_image(seed);
            let want = model.forward_ref(&image).unwrap();
            let (readbacks, dispatches) = (exec.readbacks(), exec.dispatches_submitted());
            let got = pollster::block_on(gpu_model.forward(&exec, &image)).unwrap();
            assert_eq!(exec.readbacks(), readbacks + 1, "one readback per pass");
            // The fused pass: a GEMM with its bias, residual and LayerNorm is
            // one dispatch (the unfused pass takes about 180).
            let per_pass = exec.dispatches_submitted() - dispatches;
            assert!(per_pass <= 60, "{per_pass} dispatches in one pass");
            let diff = got.max_abs_diff(&want);
            assert!(
                diff < 1e-3,
                "{name} weights, scene {seed}: GPU and CPU differ by {diff}"
            );
            let baseline = pollster::block_on(unfused.forward(&exec, &image)).unwrap();
            let diff = baseline.max_abs_diff(&want);
            assert!(
                diff < 1e-3,
                "{name} weights, scene {seed}: the unfused GPU pass and CPU differ by {diff}"
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

/// The pipeline view's stages on the GPU equal the CPU reference's, to
/// 1e-3, for the shipped weights on a fixed canvas: one readback still.
#[test]
fn gpu_pipeline_stages_match_the_cpu_reference() {
    let Some(exec) = gpu() else { return };
    let shipped = shipped_weights();
    let model = Detr::load(&shipped).unwrap();
    let gpu_model = DetrGpu::upload(&exec, &model).unwrap();
    let image = scene_image(TEST_SCENES_SEED);
    let (want_trace, want) = model.forward_stages(&image).unwrap();
    let readbacks = exec.readbacks();
    let (trace, got) = pollster::block_on(gpu_model.forward_stages(&exec, &image)).unwrap();
    assert_eq!(exec.readbacks(), readbacks + 1);
    assert!(trace.max_abs_diff(&want_trace) < 1e-3);
    let stages = |p: &compute::models::detr::model::Pipeline| {
        p.features
            .iter()
            .chain([&p.encoder_tokens])
            .chain(&p.decoder_queries)
            .cloned()
            .collect::<Vec<_>>()
    };
    let (got, want) = (stages(&got), stages(&want));
    assert_eq!(got.len(), 8);
    for (n, (g, w)) in got.iter().zip(&want).enumerate() {
        assert_eq!(g.shape, w.shape, "stage {n}");
        let diff = g
            .values
            .iter()
            .zip(&w.values)
            .map(|(a, b)| (a - b).abs())
            .fold(0.0f32, f32::max);
        assert!(
            diff < 1e-3,
            "stage {n} {:?}: GPU and CPU differ by {diff}",
            g.shape
        );
        assert!(w.values.iter().any(|&v| v != 0.0), "stage {n} is blank");
    }
}

#[test]
fn a_warm_pass_creates_no_buffers_or_bind_groups() {
    let Some(exec) = gpu() else { return };
    let gpu_model = DetrGpu::upload(&exec, &Detr::load(&shipped_weights()).unwrap()).unwrap();
    let image = scene_image(TEST_SCENES_SEED);
    let created = created_when_warm(&exec, 10, || {
        pollster::block_on(gpu_model.forward(&exec, &image)).unwrap();
    });
    assert_eq!(created, Creations::default(), "10 warm DETR passes created");
}
