//! The committed chapter-1 models, checked by code independent of the
//! trainer: loaded through the app's loader and manifest, each reproduces
//! its published test NLL on the CPU; the GPU gives the same likelihoods
//! (1e-3 relative) and, for a seed, the same sampled digit.

use crate::common;

use std::path::{Path, PathBuf};

use compute::{
    models::ar::{
        gpu::{ArGpu, GpuChain},
        readbacks_for, ArKind, ArModel, CpuChain, Mode, PIXELS,
    },
    weights::manifest::Manifest,
};
use safetensors::SafeTensors;

fn assets() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../assets")
}

fn manifest() -> Manifest {
    Manifest::parse(&std::fs::read_to_string(assets().join("manifest.json")).unwrap()).unwrap()
}

fn committed(kind: ArKind) -> ArModel {
    let path = kind.weights_path();
    let bytes = std::fs::read(assets().join(&path)).unwrap();
    manifest().verify(&path, &bytes).unwrap();
    ArModel::load(kind, &bytes).unwrap()
}

fn metrics(kind: ArKind) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(assets().join(kind.metrics_path())).unwrap())
        .unwrap()
}

/// The binarised test digits.
fn test_digits() -> Vec<Vec<f32>> {
    let bytes = std::fs::read(assets().join("data/mnist-test.safetensors")).unwrap();
    let st = SafeTensors::deserialize(&bytes).unwrap();
    st.tensor("images")
        .unwrap()
        .data()
        .chunks(PIXELS)
        .map(|d| d.iter().map(|&p| (p >= 128) as u8 as f32).collect())
        .collect()
}

#[test]
fn each_model_reproduces_its_published_test_nll() {
    let digits = test_digits();
    assert_eq!(digits.len(), 997);
    for kind in ArKind::ALL {
        let model = committed(kind);
        let mean = digits
            .iter()
            .map(|x| model.nll_ref(x).unwrap() as f64)
            .sum::<f64>()
            / digits.len() as f64;
        let m = metrics(kind);
        let published = m["test_nll_nats"].as_f64().unwrap();
        assert!(
            (mean - published).abs() < 1e-3 * published,
            "{kind:?}: recomputed {mean:.4} nats, published {published:.4}"
        );
        assert_eq!(
            m["params"].as_u64().unwrap() as usize,
            model.params(),
            "{kind:?} params"
        );
        let f32_nll = m["test_nll_nats_f32"].as_f64().unwrap();
        assert!(
            (published - f32_nll).abs() <= 0.5,
            "{kind:?}: Q8_0 costs {:.3} nats",
            published - f32_nll
        );
    }
}

#[test]
fn the_chapter_weights_fit_in_three_megabytes() {
    let total: u64 = ArKind::ALL
        .iter()
        .map(|k| {
            std::fs::metadata(assets().join(k.weights_path()))
                .unwrap()
                .len()
        })
        .sum();
    assert!(total <= 3_000_000, "{total} bytes of weights");
}

#[test]
fn gpu_likelihoods_match_the_cpu() {
    let Some(exec) = common::gpu() else { return };
    let digits = test_digits();
    for kind in ArKind::ALL {
        let model = committed(kind);
        let on_gpu = ArGpu::upload(&exec, &model);
        for x in digits.iter().step_by(97).take(6) {
            let want = model.nll_ref(x).unwrap();
            let logits = pollster::block_on(on_gpu.logits(&exec, x)).unwrap();
            let got = compute::models::ar::bernoulli_nll(&logits, x);
            assert!(
                (got - want).abs() < 1e-3 * want,
                "{kind:?}: GPU {got} vs CPU {want} nats"
            );
        }
    }
}

#[test]
fn a_seed_draws_the_same_digit_on_gpu_and_cpu_within_the_readback_bound() {
    let Some(exec) = common::gpu() else { return };
    let zeros = vec![0.0; PIXELS];
    let every = 112;
    for kind in ArKind::ALL {
        let model = committed(kind);
        let on_gpu = ArGpu::upload(&exec, &model);
        let mut gpu_chain =
            GpuChain::new(&exec, &on_gpu, &zeros, 0, Mode::Sample { seed: 7 }).unwrap();
        let before = exec.readbacks();
        while gpu_chain.trace().done < PIXELS {
            pollster::block_on(gpu_chain.advance(&exec, every)).unwrap();
        }
        assert_eq!(
            exec.readbacks() - before,
            readbacks_for(PIXELS, every),
            "{kind:?}"
        );
        let mut cpu_chain = CpuChain::new(&model, &zeros, 0, Mode::Sample { seed: 7 }).unwrap();
        let cpu = cpu_chain.advance(PIXELS).unwrap();
        let gpu = gpu_chain.trace();
        assert_eq!(
            gpu.image, cpu.image,
            "{kind:?}: the backends drew different digits"
        );
        let ones = gpu.image.iter().sum::<f32>();
        assert!(
            (40.0..400.0).contains(&ones),
            "{kind:?}: {ones} ink pixels is not a digit"
        );
        for (i, (a, b)) in gpu.logits.iter().zip(&cpu.logits).enumerate() {
            assert!(
                (a - b).abs() < 1e-3 * b.abs().max(1.0),
                "{kind:?} pixel {i}: logit {a} vs {b}"
            );
        }
    }
}

/// PixelCNN's chains compute each layer's position once (columns); the
/// sample must be exactly the digit that recomputing each pixel's window of
/// rows draws, from scratch and when completing a kept prefix.
#[test]
fn pixelcnn_columns_draw_the_recomputing_samples_digits() {
    let model = committed(ArKind::PixelCnn);
    let ArModel::PixelCnn(m) = &model else {
        unreachable!()
    };
    for seed in [1, 2, 3] {
        let (want, want_logits) = m.sample_recomputing(seed).unwrap();
        let zeros = vec![0.0; PIXELS];
        let mut chain = CpuChain::new(&model, &zeros, 0, Mode::Sample { seed }).unwrap();
        let got = chain.advance(PIXELS).unwrap();
        assert_eq!(got.image, want, "seed {seed}: a different digit");
        for (i, (a, b)) in got.logits.iter().zip(&want_logits).enumerate() {
            assert!(
                (a - b).abs() < 1e-4 * b.abs().max(1.0),
                "seed {seed}, pixel {i}: logit {a} vs {b}"
            );
        }
    }
    // Completion: keep the top half of a test digit, recompute the rest.
    let digit = &test_digits()[500];
    let start = 14 * 28;
    let mut want = digit.clone();
    want[start..].fill(0.0);
    for i in start..PIXELS {
        let z = m.logit_at(&want, i).unwrap();
        want[i] = compute::models::ar::draw_bernoulli(9, i, z);
    }
    let mut chain = CpuChain::new(&model, digit, start, Mode::Sample { seed: 9 }).unwrap();
    assert_eq!(chain.advance(PIXELS).unwrap().image, want, "completion");
    // The GPU's columns start from the same prefix.
    let Some(exec) = common::gpu() else { return };
    let on_gpu = ArGpu::upload(&exec, &model);
    let mut gpu_chain =
        GpuChain::new(&exec, &on_gpu, digit, start, Mode::Sample { seed: 9 }).unwrap();
    while gpu_chain.trace().done < PIXELS {
        pollster::block_on(gpu_chain.advance(&exec, 196)).unwrap();
    }
    assert_eq!(gpu_chain.trace().image, want, "GPU completion");
}

/// Asking a column chain for a pixel out of order is a typed error.
#[test]
fn pixelcnn_columns_must_be_filled_in_order() {
    let ArModel::PixelCnn(m) = committed(ArKind::PixelCnn) else {
        unreachable!()
    };
    let mut columns = compute::models::ar::pixelcnn::Columns::new();
    let x = vec![0.0; PIXELS];
    assert!(m.logit_next(&mut columns, &x, 1).is_err());
    assert!(m.logit_next(&mut columns, &x, 0).is_ok());
    assert!(m.logit_next(&mut columns, &x[..10], 1).is_err());
}

/// A long visit must not leak GPU memory: after a warm-up sample, the
/// executor holds the same bytes however many more samples run, and
/// creates no buffers or bind groups (so the browser's soak can be short).
#[test]
fn gpu_memory_stays_flat_over_repeated_samples() {
    let Some(exec) = common::gpu() else { return };
    let zeros = vec![0.0; PIXELS];
    for kind in [ArKind::Nade, ArKind::PixelCnn] {
        let on_gpu = ArGpu::upload(&exec, &committed(kind));
        let sample = |seed| {
            let mut chain =
                GpuChain::new(&exec, &on_gpu, &zeros, 0, Mode::Sample { seed }).unwrap();
            pollster::block_on(chain.advance(&exec, PIXELS)).unwrap();
        };
        sample(1);
        sample(2);
        let (warm, created) = (exec.bytes_held(), exec.creations());
        for seed in 3..7 {
            sample(seed);
        }
        assert_eq!(
            exec.bytes_held(),
            warm,
            "{kind:?}: GPU bytes grew over 4 samples"
        );
        assert_eq!(
            exec.creations() - created,
            compute::executor::Creations::default(),
            "{kind:?}: 4 warm samples created"
        );
        assert!(warm > 0);
    }
}

/// The receptive fields `receptive` finds from the models' structure hold
/// for the committed weights: flipping a pixel outside pixel i's field
/// leaves its logit bit-for-bit unchanged, and flipping one inside usually
/// moves it. Pixel 400 is row 14, column 8.
#[test]
fn receptive_fields_hold_for_the_committed_weights() {
    use compute::models::ar::{pixelcnn, receptive, SIDE};
    let x = test_digits().swap_remove(0);
    let flipped = |j: usize| {
        let mut y = x.clone();
        y[j] = 1.0 - y[j];
        y
    };
    let i = 400;

    // PixelCNN: every pixel its logit reads (the window of rows up to i's).
    let ArModel::PixelCnn(cnn) = committed(ArKind::PixelCnn) else {
        unreachable!()
    };
    let seen = receptive::pixelcnn_sees(i);
    let base = cnn.logit_at(&x, i).unwrap();
    let (r0, rows) = pixelcnn::window(i);
    let mut moved = 0;
    for (j, &in_view) in seen
        .iter()
        .enumerate()
        .take((r0 + rows) * SIDE)
        .skip(r0 * SIDE)
    {
        let z = cnn.logit_at(&flipped(j), i).unwrap();
        if in_view {
            moved += (z != base) as usize;
        } else {
            assert_eq!(
                z, base,
                "PixelCNN's logit {i} moved with pixel {j}, outside its field"
            );
        }
    }
    let field = receptive::count(&seen);
    assert!(
        moved * 10 >= field * 9,
        "{moved} of {field} pixels in view move the logit"
    );

    // MADE: nothing at or after i reaches output i; before i, the direct
    // connections reach every pixel.
    let made = committed(ArKind::Made);
    let ArModel::Made(m) = &made else {
        unreachable!()
    };
    let seen = receptive::made_sees(&m.degrees, i);
    let base = made.logits_ref(&x).unwrap()[i];
    let mut moved = 0;
    for (j, &in_view) in seen.iter().enumerate() {
        let z = made.logits_ref(&flipped(j)).unwrap()[i];
        if in_view {
            moved += (z != base) as usize;
        } else {
            assert_eq!(z, base, "MADE's logit {i} moved with pixel {j}");
        }
    }
    assert_eq!(receptive::count(&seen), i);
    assert!(
        moved * 10 >= i * 9,
        "{moved} of {i} pixels move MADE's logit"
    );
    println!(
        "pixel {i}: PixelCNN sees {field}, MADE {} ({} through its hidden layer), FVSBN and NADE {i}",
        receptive::count(&seen),
        receptive::count(&receptive::made_through_hidden(&m.degrees, i))
    );
}

/// The contribution maps: FVSBN's are exact (they add up to its logit);
/// the others' gradients match central differences of each model's own
/// logit on a real-valued image, and vanish outside the field.
#[test]
fn contributions_follow_each_models_logit() {
    use compute::models::ar::receptive::{self, Attribution};
    let digit = test_digits().swap_remove(3);
    let i = 400;

    let fvsbn = committed(ArKind::Fvsbn);
    let (c, how) = receptive::contributions(&fvsbn, &digit, i).unwrap();
    assert_eq!(how, Attribution::Exact);
    let ArModel::Fvsbn(f) = &fvsbn else {
        unreachable!()
    };
    let bias = f.logit_at(&vec![0.0; PIXELS], i);
    let total = bias + c.iter().sum::<f32>();
    assert!((total - fvsbn.logits_ref(&digit).unwrap()[i]).abs() < 1e-3);
    assert!(c.iter().filter(|&&v| v != 0.0).count() > 10);

    // A real-valued image so that every pixel has a gradient to check.
    let x: Vec<f32> = digit
        .iter()
        .enumerate()
        .map(|(j, &v)| 0.1 + 0.7 * v + 0.01 * (j % 7) as f32)
        .collect();
    let eps = 1e-3;
    for kind in [ArKind::Nade, ArKind::Made, ArKind::PixelCnn] {
        let model = committed(kind);
        let logit = |x: &[f32]| -> f32 {
            match &model {
                ArModel::Nade(m) => {
                    let mut prefix = x[..i].to_vec();
                    prefix.resize(PIXELS, 0.0);
                    m.logit_from(&m.preactivation(&prefix), i)
                }
                ArModel::Made(m) => m.logit_from(&m.preactivation(x), x, i),
                ArModel::PixelCnn(m) => m.logit_at(x, i).unwrap(),
                ArModel::Fvsbn(_) => unreachable!(),
            }
        };
        let grad = match &model {
            ArModel::Nade(m) => m.logit_gradient(&x, i),
            ArModel::Made(m) => m.logit_gradient(&x, i),
            ArModel::PixelCnn(m) => m.logit_gradient(&x, i).unwrap(),
            ArModel::Fvsbn(_) => unreachable!(),
        };
        let seen = receptive::sees(&model, i);
        let (mut checked, mut off) = (0, Vec::new());
        for j in (0..PIXELS).step_by(3) {
            if !seen[j] {
                assert_eq!(grad[j], 0.0, "{kind:?}: gradient outside the field at {j}");
                continue;
            }
            let (mut up, mut down) = (x.clone(), x.clone());
            up[j] += eps;
            down[j] -= eps;
            // A ReLU that turns over between x − eps and x + eps bends the
            // logit; the derivative on the side without the bend must match.
            let (f_up, f, f_down) = (logit(&up), logit(&x), logit(&down));
            let near = |d: f32| (d - grad[j]).abs() <= 2e-3 + 0.02 * grad[j].abs();
            checked += 1;
            if !(near((f_up - f_down) / (2.0 * eps))
                || near((f_up - f) / eps)
                || near((f - f_down) / eps))
            {
                off.push(format!(
                    "pixel {j}: {} by differences, {}",
                    (f_up - f_down) / (2.0 * eps),
                    grad[j]
                ));
            }
        }
        assert!(
            off.is_empty(),
            "{kind:?}: of {checked} gradients, these differ: {off:?}"
        );
        let (c, how) = receptive::contributions(&model, &digit, i).unwrap();
        assert_eq!(how, Attribution::GradientTimesInput);
        assert!(c.iter().zip(&digit).all(|(c, &v)| v != 0.0 || *c == 0.0));
    }
}
