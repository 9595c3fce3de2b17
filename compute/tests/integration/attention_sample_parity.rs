//! KV-cache attention (MHA, GQA, MQA) and the GPU samplers against the CPU.

use crate::common;

use common::{assert_close, gpu};
use compute::{
    inputs::uniform_signed,
    kernels::{
        attention::{attend_step, AttentionShape, KvCache},
        sample::{sample, SampleTarget, Sampler},
    },
    reference::{
        attention::{attend_step_ref, KvCacheRef},
        sample::sample_ref,
    },
};

#[test]
fn attention_steps_match_reference_for_every_grouping() {
    let Some(exec) = gpu() else { return };
    let cases = [
        (
            AttentionShape {
                heads: 4,
                kv_heads: 4,
                head_dim: 16,
                max_len: 40,
            },
            40,
        ), // MHA
        (
            AttentionShape {
                heads: 8,
                kv_heads: 2,
                head_dim: 8,
                max_len: 33,
            },
            33,
        ), // GQA
        (
            AttentionShape {
                heads: 6,
                kv_heads: 1,
                head_dim: 64,
                max_len: 20,
            },
            20,
        ), // MQA
        (
            AttentionShape {
                heads: 2,
                kv_heads: 1,
                head_dim: 4,
                max_len: 785,
            },
            785,
        ), // a full digit
        (
            AttentionShape {
                heads: 1,
                kv_heads: 1,
                head_dim: 1,
                max_len: 3,
            },
            3,
        ),
    ];
    for (shape, steps) in cases {
        let cache = KvCache::new(&exec, shape).unwrap();
        let mut reference = KvCacheRef::new(shape);
        let scale = 1.0 / (shape.head_dim as f32).sqrt();
        let (hd, qn, kvn) = (
            shape.head_dim,
            shape.heads * shape.head_dim,
            shape.kv_heads * shape.head_dim,
        );
        // Every step in one command buffer; outputs read at the end.
        let mut rec = exec.begin();
        let mut outs = Vec::new();
        let mut want = Vec::new();
        for pos in 0..steps {
            let q = uniform_signed(3 * pos as u64, qn)
                .into_iter()
                .map(|v| v * 3.0)
                .collect::<Vec<_>>();
            let k = uniform_signed(3 * pos as u64 + 1, kvn);
            let v = uniform_signed(3 * pos as u64 + 2, kvn);
            let (tq, tk, tv) = (exec.upload(&q), exec.upload(&k), exec.upload(&v));
            outs.push(attend_step(&mut rec, &cache, &tq, &tk, &tv, pos, scale).unwrap());
            want.push(attend_step_ref(&mut reference, &q, &k, &v, pos, scale));
        }
        exec.submit(rec).unwrap();
        for (pos, (out, want)) in outs.iter().zip(&want).enumerate() {
            let got = pollster::block_on(exec.read(out)).unwrap();
            assert_close(
                &got,
                want,
                2e-5 * (hd as f32).sqrt(),
                &format!("{shape:?} step {pos}"),
            );
        }
    }
}

#[test]
fn attention_refuses_a_position_past_the_cache() {
    let Some(exec) = gpu() else { return };
    let shape = AttentionShape {
        heads: 1,
        kv_heads: 1,
        head_dim: 2,
        max_len: 2,
    };
    let cache = KvCache::new(&exec, shape).unwrap();
    let t = exec.upload(&[0.0, 0.0]);
    let mut rec = exec.begin();
    assert!(attend_step(&mut rec, &cache, &t, &t, &t, 2, 1.0).is_err());
    assert!(KvCache::new(
        &exec,
        AttentionShape {
            heads: 3,
            kv_heads: 2,
            head_dim: 2,
            max_len: 2
        }
    )
    .is_err());
}

#[test]
fn gpu_samples_equal_cpu_samples_for_the_same_seed() {
    let Some(exec) = gpu() else { return };
    for (sampler, rows, cols) in [
        (Sampler::Bernoulli, 5000, 1),
        (Sampler::Categorical, 700, 16),
        (Sampler::Argmax, 300, 10),
        (Sampler::Categorical, 1, 2),
    ] {
        let probs: Vec<f32> = uniform_signed(9, rows * cols)
            .into_iter()
            .map(|v| 0.5 * (v + 1.0))
            .collect();
        for (seed, step) in [(0u64, 0u32), (u64::MAX - 3, 783)] {
            let tp = exec.upload(&probs);
            let out = exec.zeros(rows + 3);
            let mut rec = exec.begin();
            sample(
                &mut rec,
                sampler,
                &tp,
                rows,
                cols,
                seed,
                step,
                &out,
                SampleTarget {
                    offset: 3,
                    as_index: true,
                },
            )
            .unwrap();
            exec.submit(rec).unwrap();
            let got = pollster::block_on(exec.read_u32(&out)).unwrap();
            assert_eq!(&got[..3], &[0, 0, 0], "nothing written before the offset");
            assert_eq!(
                got[3..].to_vec(),
                sample_ref(sampler, &probs, rows, cols, seed, step),
                "{sampler:?} seed {seed} step {step}"
            );
        }
    }
}

#[test]
fn bernoulli_writes_pixels_as_floats() {
    let Some(exec) = gpu() else { return };
    let (p, out) = (exec.upload(&[1.0, 0.0]), exec.zeros(2));
    let mut rec = exec.begin();
    sample(
        &mut rec,
        Sampler::Bernoulli,
        &p,
        2,
        1,
        5,
        0,
        &out,
        SampleTarget {
            offset: 0,
            as_index: false,
        },
    )
    .unwrap();
    exec.submit(rec).unwrap();
    assert_eq!(pollster::block_on(exec.read(&out)).unwrap(), vec![1.0, 0.0]);
}
