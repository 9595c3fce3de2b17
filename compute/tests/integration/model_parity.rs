//! Whole models on both backends: a random-weight transformer block's logits
//! at every step, and a random FVSBN's sampling chain entirely on the GPU,
//! with counted readbacks, cached pipelines, pooled buffers, and the same
//! pixels as the CPU.

use crate::common;

use common::{assert_close, gpu};
use compute::{
    inputs::{uniform_signed, SplitMix64},
    models::{
        ar::{
            fvsbn::Fvsbn,
            gpu::{ArGpu, GpuChain},
            readbacks_for, ArModel, CpuChain, Mode, PIXELS,
        },
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

fn random_fvsbn() -> ArModel {
    // Strictly lower-triangular weights, like a trained FVSBN's used part.
    let mut alpha = uniform_signed(1, PIXELS * PIXELS)
        .into_iter()
        .map(|v| 0.3 * v)
        .collect::<Vec<_>>();
    for i in 0..PIXELS {
        for j in i..PIXELS {
            alpha[i * PIXELS + j] = 0.0;
        }
    }
    ArModel::Fvsbn(Fvsbn::new(
        Q8Matrix::quantize(&alpha, PIXELS, PIXELS),
        uniform_signed(2, PIXELS),
    ))
}

fn sample_on_gpu(
    exec: &compute::Executor,
    model: &ArGpu,
    seed: u64,
    every: usize,
) -> (Vec<f32>, usize) {
    let zeros = vec![0.0; PIXELS];
    let mut chain = GpuChain::new(exec, model, &zeros, 0, Mode::Sample { seed }).unwrap();
    let before = exec.readbacks();
    while chain.trace().done < PIXELS {
        pollster::block_on(chain.advance(exec, every)).unwrap();
    }
    (chain.trace().image.clone(), exec.readbacks() - before)
}

#[test]
fn fvsbn_sampling_stays_on_the_gpu_and_matches_the_cpu() {
    let Some(exec) = gpu() else { return };
    let model = random_fvsbn();
    let on_gpu = ArGpu::upload(&exec, &model);
    let zeros = vec![0.0; PIXELS];
    for every in [100, PIXELS] {
        let (image, readbacks) = sample_on_gpu(&exec, &on_gpu, 11, every);
        let bound = readbacks_for(PIXELS, every);
        assert!(
            readbacks <= bound,
            "every {every}: {readbacks} readbacks, bound {bound}"
        );
        assert!(image.iter().all(|&v| v == 0.0 || v == 1.0));
        let mut cpu = CpuChain::new(&model, &zeros, 0, Mode::Sample { seed: 11 }).unwrap();
        assert_eq!(
            image,
            cpu.advance(PIXELS).unwrap().image,
            "GPU and CPU drew different pixels"
        );
        let ones = image.iter().sum::<f32>();
        assert!(
            ones > 50.0 && ones < 734.0,
            "{ones} ones: the sampler looks stuck"
        );
    }
    let pipelines = exec.pipelines_compiled();
    sample_on_gpu(&exec, &on_gpu, 12, PIXELS);
    assert_eq!(
        exec.pipelines_compiled(),
        pipelines,
        "pipelines are compiled once"
    );
}

#[test]
fn pooled_buffers_are_reused_across_chains() {
    let Some(exec) = gpu() else { return };
    let on_gpu = ArGpu::upload(&exec, &random_fvsbn());
    sample_on_gpu(&exec, &on_gpu, 1, PIXELS);
    let created = exec.buffers_created();
    sample_on_gpu(&exec, &on_gpu, 2, PIXELS);
    // A second chain of 784 steps needs only its image and trace buffers.
    assert!(
        exec.buffers_created() - created <= 2,
        "{} new buffers",
        exec.buffers_created() - created
    );
}
