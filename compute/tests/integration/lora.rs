//! Chapter 5's training kernels against their CPU references, and a whole
//! LoRA step on the GPU against candle's autodiff on the same model.

use crate::common;

use common::{assert_close, created_when_warm, gpu, run, tol_f32, TOL_F32_ELEMENTWISE};
use compute::{
    executor::Creations,
    inputs::uniform_signed,
    kernels::{
        backprop::{adamw, cross_entropy, rmsnorm_backward, swiglu, swiglu_backward, SKIP},
        causal_attention::{causal_attention, causal_attention_backward, CausalShape},
        lora::{matmul_strided, Product, View},
        q8::{linear_q8_backward, GpuQ8},
    },
    models::llama::{
        lora::{
            cpu::{branch_tensors, CpuTrainer, Frozen},
            data::{Batch, PoemSet},
            gpu::GpuTrainer,
            Adapter, LoraConfig, Targets,
        },
        Llama, LlamaConfig,
    },
    profile::Clock,
    reference::backprop::{
        adamw_ref, causal_attention_backward_ref, causal_attention_ref, cross_entropy_ref,
        linear_q8_backward_ref, matmul_strided_ref, rmsnorm_backward_ref, swiglu_backward_ref,
        swiglu_ref, AdamW,
    },
    tang::Form,
    weights::Q8Matrix,
};

fn scaled(seed: u64, n: usize, s: f32) -> Vec<f32> {
    uniform_signed(seed, n).into_iter().map(|v| v * s).collect()
}

#[test]
fn rmsnorm_swiglu_and_adamw_match_their_references() {
    let Some(exec) = gpu() else { return };
    for (rows, cols) in [(1, 8), (7, 128), (3, 384), (70000, 2)] {
        let n = rows * cols;
        let (x, g, dy, base) = (
            scaled(1, n, 2.0),
            scaled(2, cols, 1.5),
            scaled(3, n, 1.0),
            scaled(4, n, 1.0),
        );
        let got = run(&exec, |rec| {
            let e = rec.exec();
            let (x, g, dy, base) = (e.upload(&x), e.upload(&g), e.upload(&dy), e.upload(&base));
            rmsnorm_backward(rec, &x, &g, &dy, &base, rows, 1e-5).unwrap()
        });
        assert_close(
            &got,
            &rmsnorm_backward_ref(&x, &g, &dy, &base, 1e-5),
            1e-4,
            &format!("rmsnorm_backward {rows}×{cols}"),
        );
    }
    let n = 1000;
    let (a, b, dg) = (scaled(5, n, 6.0), scaled(6, n, 2.0), scaled(7, n, 1.0));
    let got = run(&exec, |rec| {
        let e = rec.exec();
        let (a, b) = (e.upload(&a), e.upload(&b));
        swiglu(rec, &a, &b).unwrap()
    });
    assert_close(&got, &swiglu_ref(&a, &b), TOL_F32_ELEMENTWISE, "swiglu");
    let (want_a, want_b) = swiglu_backward_ref(&a, &b, &dg);
    let got = run(&exec, |rec| {
        let e = rec.exec();
        let (ta, tb, td) = (e.upload(&a), e.upload(&b), e.upload(&dg));
        let (da, db) = swiglu_backward(rec, &ta, &tb, &td).unwrap();
        let both = rec.exec().empty(2 * n);
        rec.copy(&da, 0, &both, 0, n);
        rec.copy(&db, 0, &both, n, n);
        both
    });
    assert_close(
        &got[..n],
        &want_a,
        TOL_F32_ELEMENTWISE,
        "swiglu_backward da",
    );
    assert_close(
        &got[n..],
        &want_b,
        TOL_F32_ELEMENTWISE,
        "swiglu_backward db",
    );

    // Three AdamW steps in place, with weight decay.
    let h = AdamW {
        weight_decay: 0.1,
        ..AdamW::with_lr(0.01)
    };
    let mut theta = scaled(8, n, 1.0);
    let (mut m, mut v) = (vec![0f32; n], vec![0f32; n]);
    let t_theta = exec.upload(&theta);
    let (t_m, t_v) = (exec.zeros(n), exec.zeros(n));
    for step in 1..=3 {
        let grad = scaled(10 + step as u64, n, 0.5);
        adamw_ref(&mut theta, &grad, &mut m, &mut v, step, h);
        let got = run(&exec, |rec| {
            let g = rec.exec().upload(&grad);
            adamw(rec, &t_theta, &g, &t_m, &t_v, step, h).unwrap();
            let out = rec.exec().empty(n);
            rec.copy(&t_theta, 0, &out, 0, n);
            out
        });
        assert_close(&got, &theta, 1e-6, &format!("adamw step {step}"));
    }
}

#[test]
fn cross_entropy_matches_its_reference_and_skips_marked_rows() {
    let Some(exec) = gpu() else { return };
    let (rows, cols) = (9, 4467);
    let logits = scaled(20, rows * cols, 8.0);
    let mut labels: Vec<u32> = (0..rows as u32).map(|r| r * 401 % cols as u32).collect();
    labels[0] = SKIP;
    labels[5] = SKIP;
    let (want_g, want_l) = cross_entropy_ref(&logits, &labels, 0.25);
    let got = run(&exec, |rec| {
        let e = rec.exec();
        let (l, t) = (e.upload(&logits), e.upload_u32(&labels));
        let (g, loss) = cross_entropy(rec, &l, &t, rows, 0.25).unwrap();
        let both = rec.exec().empty(rows * cols + rows);
        rec.copy(&g, 0, &both, 0, rows * cols);
        rec.copy(&loss, 0, &both, rows * cols, rows);
        both
    });
    assert_close(&got[..rows * cols], &want_g, 1e-6, "cross_entropy gradient");
    assert_close(&got[rows * cols..], &want_l, 1e-4, "cross_entropy loss");
    assert_eq!(got[rows * cols], 0.0);
    assert!(got[rows * cols + 1] > 0.0);
}

#[test]
fn causal_attention_forward_and_backward_match_their_references() {
    let Some(exec) = gpu() else { return };
    for s in [
        CausalShape {
            rows: 1,
            seq: 1,
            heads: 1,
            kv_heads: 1,
            head_dim: 2,
        },
        CausalShape {
            rows: 3,
            seq: 22,
            heads: 4,
            kv_heads: 2,
            head_dim: 32,
        },
        CausalShape {
            rows: 2,
            seq: 58,
            heads: 4,
            kv_heads: 1,
            head_dim: 8,
        },
    ] {
        let (q, k, v, d_out) = (
            scaled(30, s.q_len(), 2.0),
            scaled(31, s.kv_len(), 2.0),
            scaled(32, s.kv_len(), 1.0),
            scaled(33, s.q_len(), 1.0),
        );
        let (want_out, want_p) = causal_attention_ref(&q, &k, &v, s);
        let (want_dq, want_dk, want_dv) =
            causal_attention_backward_ref(&q, &k, &v, &want_p, &d_out, s);
        let got = run(&exec, |rec| {
            let e = rec.exec();
            let (tq, tk, tv, td) = (e.upload(&q), e.upload(&k), e.upload(&v), e.upload(&d_out));
            let (out, p) = causal_attention(rec, &tq, &tk, &tv, s).unwrap();
            let (dq, dk, dv) = causal_attention_backward(rec, &tq, &tk, &tv, &p, &td, s).unwrap();
            let parts = [
                (&out, s.q_len()),
                (&p, s.probs_len()),
                (&dq, s.q_len()),
                (&dk, s.kv_len()),
                (&dv, s.kv_len()),
            ];
            let all = rec.exec().empty(parts.iter().map(|p| p.1).sum());
            let mut at = 0;
            for (t, n) in parts {
                rec.copy(t, 0, &all, at, n);
                at += n;
            }
            all
        });
        let mut at = 0;
        for (name, want) in [
            ("out", &want_out),
            ("weights", &want_p),
            ("dq", &want_dq),
            ("dk", &want_dk),
            ("dv", &want_dv),
        ] {
            assert_close(
                &got[at..at + want.len()],
                want,
                1e-4,
                &format!("causal attention {name} {s:?}"),
            );
            at += want.len();
        }
    }
}

#[test]
fn strided_products_and_the_q8_backward_product_match_their_references() {
    let Some(exec) = gpu() else { return };
    // dA = duᵀ·x into the middle of a larger buffer, then C += α·A·Bᵀ.
    let (m, k, n) = (5, 300, 7);
    let a = scaled(40, k * m + 3, 1.0);
    let b = scaled(41, k * n, 1.0);
    let mut c = scaled(42, 11 + m * n, 1.0);
    let (av, bv, cv) = (View::transposed(3, m), View::rows(0, n), View::rows(11, n));
    let got = run(&exec, |rec| {
        let e = rec.exec();
        let (ta, tb) = (e.upload(&a), e.upload(&b));
        let tc = e.upload(&c);
        matmul_strided(
            rec,
            (&ta, av),
            (&tb, bv),
            (&tc, cv),
            Product { m, k, n },
            0.5,
            true,
        )
        .unwrap();
        tc
    });
    matmul_strided_ref((&a, av), (&b, bv), (&mut c, cv), (m, k, n), 0.5, true);
    assert_close(&got, &c, tol_f32(k), "matmul_strided");
    // Out of the buffer: a typed error, nothing recorded.
    let mut rec = exec.begin();
    let (ta, tb) = (exec.upload(&a), exec.upload(&b));
    assert!(matmul_strided(
        &mut rec,
        (&ta, av),
        (&tb, bv),
        (&ta, View::rows(1500, n)),
        Product { m, k, n },
        1.0,
        false
    )
    .is_err());
    drop(rec);

    for (tokens, rows, cols) in [(1, 40, 32), (37, 4467, 128), (20, 128, 384), (130, 33, 45)] {
        let w = Q8Matrix::quantize(&scaled(43, rows * cols, 0.2), rows, cols);
        let dy = scaled(44, tokens * rows, 1.0);
        let base = scaled(45, tokens * cols, 1.0);
        let mut want = linear_q8_backward_ref(&dy, &w, tokens);
        let got = run(&exec, |rec| {
            let e = rec.exec();
            let (tw, tdy, dx) = (GpuQ8::upload(e, &w), e.upload(&dy), e.upload(&base));
            linear_q8_backward(rec, &tdy, &tw, tokens, &dx, true).unwrap();
            dx
        });
        for (x, b) in want.iter_mut().zip(&base) {
            *x += b;
        }
        assert_close(
            &got,
            &want,
            tol_f32(rows) * 4.0,
            &format!("q8_backward {tokens}×{rows}×{cols}"),
        );
    }
}

fn small_config() -> LlamaConfig {
    LlamaConfig {
        dim: 64,
        n_layers: 2,
        n_heads: 4,
        n_kv_heads: 2,
        hidden_dim: 96,
        vocab_size: 50,
        norm_eps: 1e-5,
        rope_theta: 10000.0,
        max_seq_len: 66,
    }
}

/// Three 五绝-length poems of random tokens past the specials.
fn batch(vocab: usize) -> Batch {
    let len = Form::Wujue.chars() + 3;
    let tokens = (0..3 * len)
        .map(|i| 7 + (uniform_signed(50 + i as u64, 1)[0].abs() * (vocab - 8) as f32) as u32)
        .collect();
    Batch {
        form: Form::Wujue,
        rows: 3,
        len,
        tokens,
    }
}

/// An adapter mid-training: A and B both non-zero, so every gradient is.
fn adapter(c: &LlamaConfig, targets: Targets, rank: usize) -> Adapter {
    let mut a = Adapter::init(
        c,
        LoraConfig {
            rank,
            alpha: 2.0 * rank as f32,
            targets,
        },
        7,
    );
    let n = a.len();
    a.set_flat(&scaled(60, n, 0.1));
    a
}

fn relative_gap(got: &[f32], want: &[f32]) -> f32 {
    let top = want.iter().fold(0f32, |m, v| m.max(v.abs()));
    let gap = got
        .iter()
        .zip(want)
        .fold(0f32, |m, (g, w)| m.max((g - w).abs()));
    gap / top.max(f32::MIN_POSITIVE)
}

#[test]
fn a_whole_gpu_step_equals_candles_autodiff() {
    let Some(exec) = gpu() else { return };
    let c = small_config();
    let model = Llama::random(c, 3);
    let b = batch(c.vocab_size);
    for (targets, rank) in [(Targets::Qv, 4), (Targets::All, 2)] {
        let start = adapter(&c, targets, rank);
        let h = AdamW::with_lr(1e-2);
        let mut cpu = CpuTrainer::new(Frozen::new(&model).unwrap(), start.clone(), h);
        let mut gpu = GpuTrainer::new(&exec, &model, &start, h).unwrap();
        let (cpu_loss, cpu_grad) = cpu.gradients(&b).unwrap();
        let (gpu_loss, gpu_grad) = pollster::block_on(gpu.gradients(&exec, &b)).unwrap();
        assert!(
            (cpu_loss - gpu_loss).abs() < 1e-4 * cpu_loss,
            "loss {cpu_loss} vs {gpu_loss}"
        );
        // Each matrix's A and B on their own: 1e-3 of the largest entry.
        let mut at = 0;
        for p in &start.pairs {
            for (what, len) in [("A", p.a.len()), ("B", p.b.len())] {
                let gap = relative_gap(&gpu_grad[at..at + len], &cpu_grad[at..at + len]);
                assert!(
                    gap <= 1e-3,
                    "{targets:?} {} d{what}: relative gap {gap}",
                    p.name()
                );
                assert!(cpu_grad[at..at + len].iter().any(|&g| g != 0.0));
                at += len;
            }
        }
        // One AdamW step gives the same adapter.
        cpu.step(&b).unwrap();
        pollster::block_on(gpu.step(&exec, &b)).unwrap();
        let after = pollster::block_on(gpu.adapter(&exec)).unwrap();
        assert_close(
            &after.flat(),
            &cpu.adapter.flat(),
            2e-5,
            &format!("{targets:?} after one AdamW step"),
        );
    }
}

#[test]
fn training_lowers_the_loss_on_both_backends() {
    let Some(exec) = gpu() else { return };
    let c = small_config();
    let model = Llama::random(c, 4);
    let b = batch(c.vocab_size);
    let fresh = Adapter::init(
        &c,
        LoraConfig {
            rank: 4,
            alpha: 8.0,
            targets: Targets::Qv,
        },
        1,
    );
    let h = AdamW::with_lr(1e-2);
    let mut cpu = CpuTrainer::new(Frozen::new(&model).unwrap(), fresh.clone(), h);
    let mut gpu = GpuTrainer::new(&exec, &model, &fresh, h).unwrap();
    let (mut first, mut last) = ((0.0, 0.0), (0.0, 0.0));
    for s in 0..8 {
        let l = (
            cpu.step(&b).unwrap(),
            pollster::block_on(gpu.step(&exec, &b)).unwrap(),
        );
        if s == 0 {
            first = l;
        }
        last = l;
    }
    assert!(
        last.0 < first.0 - 0.05 && last.1 < first.1 - 0.05,
        "{first:?} → {last:?}"
    );
    // B starts at zero: the first step's loss is the base model's.
    let base = Frozen::new(&model).unwrap();
    let set = PoemSet {
        by_form: [b.tokens.clone(), vec![], vec![], vec![]],
        poems: 3,
        scored_tokens: b.scored(),
    };
    assert!((base.mean_nll(None, &set).unwrap() as f32 - first.0).abs() < 1e-4);
    // The GPU's held-out NLL is the CPU's for the same adapter.
    let adapter = pollster::block_on(gpu.adapter(&exec)).unwrap();
    let want = base.mean_nll(Some(&adapter), &set).unwrap();
    let got = pollster::block_on(gpu.mean_nll(&exec, &set)).unwrap();
    assert!((want - got).abs() < 1e-4 * want, "{want} vs {got}");
}

#[test]
fn merged_equals_unmerged_and_a_round_trip_changes_nothing() {
    let c = small_config();
    let model = Llama::random(c, 5);
    let b = batch(c.vocab_size);
    let a = adapter(&c, Targets::All, 4);
    let frozen = Frozen::new(&model).unwrap();
    let merged = Frozen::merged(&model, &a).unwrap();
    let tokens =
        candle_core::Tensor::from_vec(b.tokens.clone(), (b.rows, b.len), &candle_core::Device::Cpu)
            .unwrap();
    let branches = branch_tensors(&a).unwrap();
    let unmerged_logits = frozen
        .logits(&tokens, Some((&branches, a.config.scale() as f64)))
        .unwrap();
    let merged_logits = merged.logits(&tokens, None).unwrap();
    let gap = (unmerged_logits - &merged_logits)
        .unwrap()
        .abs()
        .unwrap()
        .max_all()
        .unwrap()
        .to_scalar::<f32>()
        .unwrap();
    assert!(gap < 1e-4, "merged and unmerged logits differ by {gap}");
    // The adapter changes the model at all.
    let base_logits = frozen.logits(&tokens, None).unwrap();
    let moved = (base_logits - &merged_logits)
        .unwrap()
        .abs()
        .unwrap()
        .max_all()
        .unwrap()
        .to_scalar::<f32>()
        .unwrap();
    assert!(moved > 1e-2);
    let back = Adapter::from_safetensors("round trip", &c, &a.to_safetensors().unwrap()).unwrap();
    let again = frozen
        .logits(
            &tokens,
            Some((&branch_tensors(&back).unwrap(), back.config.scale() as f64)),
        )
        .unwrap()
        .flatten_all()
        .unwrap()
        .to_vec1::<f32>()
        .unwrap();
    let first = frozen
        .logits(&tokens, Some((&branches, a.config.scale() as f64)))
        .unwrap()
        .flatten_all()
        .unwrap()
        .to_vec1::<f32>()
        .unwrap();
    assert_eq!(again, first);
}

#[test]
fn an_adapter_hot_swaps_on_both_decoders() {
    use compute::models::llama::{
        gpu::GpuLlama,
        sampling::{generate_cpu, generate_cpu_adapted, Generation, Sampling},
    };
    use std::sync::Arc;
    let Some(exec) = gpu() else { return };
    let c = LlamaConfig {
        vocab_size: 60,
        ..small_config()
    };
    let model = Arc::new(Llama::random(c, 8));
    // A strong adapter, so the samples must differ.
    let mut a = Adapter::init(
        &c,
        LoraConfig {
            rank: 4,
            alpha: 16.0,
            targets: Targets::All,
        },
        2,
    );
    let n = a.len();
    a.set_flat(&scaled(70, n, 0.5));
    let a = Arc::new(a);
    let g = Generation::poem(Form::Wujue, Sampling::default(), 11);
    let base_cpu = generate_cpu(&model, &g).unwrap();
    let adapted_cpu = generate_cpu_adapted(&model, Some(a.clone()), &g).unwrap();
    assert_ne!(base_cpu.tokens, adapted_cpu.tokens);
    let gpu = GpuLlama::new(&exec, &model).unwrap();
    let on_gpu = |adapter: Option<&Adapter>| {
        gpu.set_adapter(&exec, adapter);
        pollster::block_on(gpu.generate(&exec, &g)).unwrap()
    };
    let adapted = on_gpu(Some(&a));
    assert_eq!(adapted.tokens, adapted_cpu.tokens);
    assert_close(
        &adapted.logits.concat(),
        &adapted_cpu.logits.concat(),
        1e-3,
        "adapted logits",
    );
    // Back to the base: its exact sample again.
    assert_eq!(on_gpu(None).tokens, base_cpu.tokens);
}

/// The page's defaults, on the committed model and corpus: 20 steps of
/// 白居易's poems lower the training loss from the first step to the 20th
/// (the browser test asks the same of both backends).
#[test]
fn the_pages_default_twenty_steps_lower_the_loss() {
    use compute::{
        models::llama::{
            lora::{data::PoetData, PAGE_BATCH, PAGE_DEFAULT, PAGE_LR, SEED},
            CONFIG_PATH, TOKENIZER_PATH, WEIGHTS_PATH,
        },
        tang::{decode_corpus, CharTokenizer, CORPUS_PATH},
    };
    let assets = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../assets");
    let read = |p: &str| std::fs::read(assets.join(p)).unwrap();
    let config: LlamaConfig = serde_json::from_slice(&read(CONFIG_PATH)).unwrap();
    let model = Llama::load(config, &read(WEIGHTS_PATH)).unwrap();
    let tokenizer = CharTokenizer::from_json(&read(TOKENIZER_PATH)).unwrap();
    let poems = decode_corpus(&read(CORPUS_PATH)).unwrap();
    let data = PoetData::new(&tokenizer, &poems, "白居易");
    assert_eq!(
        data.train.poems, 1658,
        "the issue's count of 白居易's training poems"
    );
    let mut t = CpuTrainer::new(
        Frozen::new(&model).unwrap(),
        Adapter::init(&config, PAGE_DEFAULT, SEED),
        AdamW::with_lr(PAGE_LR),
    );
    let losses: Vec<f32> = data
        .train
        .plan(PAGE_BATCH, 20, SEED)
        .iter()
        .map(|b| t.step(b).unwrap())
        .collect();
    eprintln!("page defaults, 20 steps: {losses:?}");
    assert!(losses[19] < losses[0], "{losses:?}");
}

#[test]
fn a_warm_step_creates_no_buffers_or_bind_groups() {
    let Some(exec) = gpu() else { return };
    let c = small_config();
    let model = Llama::random(c, 6);
    let b = batch(c.vocab_size);
    let start = adapter(&c, Targets::All, 2);
    let mut trainer = GpuTrainer::new(&exec, &model, &start, AdamW::with_lr(1e-2)).unwrap();
    let created = created_when_warm(&exec, 10, || {
        pollster::block_on(trainer.step(&exec, &b)).unwrap();
    });
    assert_eq!(created, Creations::default(), "10 warm LoRA steps created");
}

#[test]
fn a_profiled_step_counts_and_times_every_dispatch() {
    let Some(exec) = gpu() else { return };
    let c = small_config();
    let model = Llama::random(c, 6);
    let b = batch(c.vocab_size);
    let start = adapter(&c, Targets::Qv, 4);
    let h = AdamW::with_lr(1e-2);
    let mut profiled = GpuTrainer::new(&exec, &model, &start, h).unwrap();
    let mut plain = GpuTrainer::new(&exec, &model, &start, h).unwrap();
    pollster::block_on(profiled.step(&exec, &b)).unwrap();
    pollster::block_on(plain.step(&exec, &b)).unwrap();
    let plain_loss = pollster::block_on(plain.step(&exec, &b)).unwrap();

    let dispatches = exec.dispatches_submitted();
    exec.start_profile();
    let loss = pollster::block_on(profiled.step(&exec, &b)).unwrap();
    let profile = pollster::block_on(exec.end_profile()).unwrap();
    // Profiling changes how a step is timed, not what it computes.
    let want = pollster::block_on(plain.adapter(&exec)).unwrap().flat();
    let got = pollster::block_on(profiled.adapter(&exec)).unwrap().flat();
    assert_close(&got, &want, 1e-6, "a profiled step's adapter");
    assert_eq!(loss, plain_loss);

    assert_eq!(
        profile.dispatches(),
        exec.dispatches_submitted() - dispatches
    );
    // Natively there is always a clock: timestamps, or a wait per dispatch.
    assert_ne!(profile.clock, Clock::Unavailable);
    assert!(profile
        .kernels
        .iter()
        .all(|k| k.ms.is_some_and(|ms| ms >= 0.0)));
    assert!(profile.ms().unwrap() > 0.0, "{profile:?}");
    for kernel in [
        "q8.gemm_q8",
        "q8.q8_backward",
        "lora.matmul_strided",
        "backprop.adamw",
    ] {
        assert!(
            profile
                .kernels
                .iter()
                .any(|k| k.kernel == kernel && k.dispatches > 0),
            "{kernel} missing from {profile:?}"
        );
    }
    assert_eq!(profile.creations(), Creations::default(), "a warm step");
}
