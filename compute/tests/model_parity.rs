//! Whole models on both backends: a random-weight transformer block's logits
//! at every step, and FVSBN sampling entirely on the GPU with counted
//! readbacks and the same pixels as the CPU.

mod common;

use common::{assert_close, gpu};
use compute::{
    inputs::{uniform_signed, SplitMix64},
    models::{
        fvsbn::{Fvsbn, FvsbnGpu},
        tiny_transformer::{Config, CpuModel, GpuModel, Weights},
    },
    weights::Q8Matrix,
};

#[test]
fn transformer_block_logits_match_on_both_backends() {
    let Some(exec) = gpu() else { return };
    for kv_heads in [4, 2, 1] {
        let config = Config {
            vocab: 16,
            dim: 64,
            heads: 4,
            kv_heads,
            ffn: 128,
            max_len: 32,
        };
        let weights = Weights::random(config, 7);
        let gpu_model = GpuModel::upload(&exec, config, &weights).unwrap();
        let mut cpu_model = CpuModel::new(config, weights);
        let mut rng = SplitMix64::new(3);
        for pos in 0..20 {
            let token = (rng.next_u64() % config.vocab as u64) as u32;
            let ids = exec.upload_u32(&[token]);
            let mut rec = exec.begin();
            let logits = gpu_model.step_gpu(&mut rec, &ids, pos).unwrap();
            exec.submit(rec).unwrap();
            let got = pollster::block_on(exec.read(&logits)).unwrap();
            let want = cpu_model.step_ref(token, pos).unwrap();
            assert_close(
                &got,
                &want,
                1e-3,
                &format!("kv_heads {kv_heads}, step {pos}"),
            );
            assert!(
                want.iter().any(|v| v.abs() > 0.1),
                "logits should not be trivially small"
            );
        }
    }
}

fn random_fvsbn(pixels: usize) -> Fvsbn {
    // Strictly lower-triangular weights, like a trained FVSBN's used part.
    let mut alpha = uniform_signed(1, pixels * pixels)
        .into_iter()
        .map(|v| 0.3 * v)
        .collect::<Vec<_>>();
    for i in 0..pixels {
        for j in i..pixels {
            alpha[i * pixels + j] = 0.0;
        }
    }
    Fvsbn {
        alpha: Q8Matrix::quantize(&alpha, pixels, pixels),
        bias: uniform_signed(2, pixels),
    }
}

#[test]
fn fvsbn_sampling_stays_on_the_gpu_and_matches_the_cpu() {
    let Some(exec) = gpu() else { return };
    let model = random_fvsbn(784);
    let on_gpu = FvsbnGpu::upload(&exec, &model);
    for k in [0usize, 7, 100, 784] {
        let before = exec.readbacks();
        let mut progress = Vec::new();
        let image =
            pollster::block_on(on_gpu.sample(&exec, 11, k, |done, _| progress.push(done))).unwrap();
        let readbacks = exec.readbacks() - before;
        let bound = if k == 0 { 1 } else { 784usize.div_ceil(k) + 1 };
        assert!(
            readbacks <= bound,
            "k = {k}: {readbacks} readbacks, bound {bound}"
        );
        assert_eq!(readbacks, progress.len());
        assert_eq!(progress.last(), Some(&784));
        assert!(image.iter().all(|&v| v == 0.0 || v == 1.0));
        if k == 100 {
            assert_eq!(
                image,
                model.sample_ref(11).unwrap(),
                "GPU and CPU drew different pixels"
            );
            let ones = image.iter().sum::<f32>();
            assert!(
                ones > 50.0 && ones < 734.0,
                "{ones} ones: the sampler looks stuck"
            );
        }
    }
    let pipelines = exec.pipelines_compiled();
    pollster::block_on(on_gpu.sample(&exec, 12, 0, |_, _| {})).unwrap();
    assert_eq!(
        exec.pipelines_compiled(),
        pipelines,
        "pipelines are compiled once"
    );
}

#[test]
fn pooled_buffers_are_reused_across_steps() {
    let Some(exec) = gpu() else { return };
    let on_gpu = FvsbnGpu::upload(&exec, &random_fvsbn(64));
    pollster::block_on(on_gpu.sample(&exec, 1, 0, |_, _| {})).unwrap();
    let created = exec.buffers_created();
    pollster::block_on(on_gpu.sample(&exec, 2, 0, |_, _| {})).unwrap();
    // A second run of 64 steps (4 dispatches each) needs only its image and scratch slot.
    assert!(
        exec.buffers_created() - created <= 2,
        "{} new buffers",
        exec.buffers_created() - created
    );
}
