//! Chapter 2's transformer on both backends: the KV cache the GPU allocates
//! is the calculator's formula, MLA's naive and absorbed forms agree, the
//! GPU and CPU decoders draw the same digit from a seed, and skipping the
//! cache changes the cost but not the result.

use crate::common;

use std::sync::Arc;

use common::gpu;
use compute::{
    kv_cache::Variant,
    models::digit_transformer::{
        gpu::GpuDecoder, sample_patch, Config, CpuDecoder, DigitTransformer, MlaForm, POSITIONS,
        START,
    },
};

fn model(variant: Variant) -> Arc<DigitTransformer> {
    Arc::new(DigitTransformer::random(Config::new(variant), 11))
}

/// Samples `steps` patches on the CPU with `seed`; returns them and the
/// logits of each step.
fn cpu_decode(
    model: &Arc<DigitTransformer>,
    form: MlaForm,
    seed: u64,
    steps: usize,
) -> (Vec<u32>, Vec<Vec<f32>>) {
    let mut decoder = CpuDecoder::new(model.clone(), form).unwrap();
    let (mut token, mut patches, mut all_logits) = (START, Vec::new(), Vec::new());
    for pos in 0..steps {
        let logits = decoder.step(token).unwrap().logits;
        token = sample_patch(&logits, seed, pos);
        patches.push(token);
        all_logits.push(logits);
    }
    (patches, all_logits)
}

fn max_diff(a: &[f32], b: &[f32]) -> f32 {
    assert_eq!(a.len(), b.len());
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f32::max)
}

#[test]
fn gpu_cache_bytes_are_the_calculators_formula() {
    let Some(exec) = gpu() else { return };
    for variant in Variant::ALL {
        let config = Config::new(variant);
        let mut decoder = GpuDecoder::new(&exec, &model(variant), MlaForm::Absorbed).unwrap();
        let formula = config.kv_config(POSITIONS);
        assert_eq!(
            decoder.cache_bytes_allocated(),
            formula.total_bytes(),
            "{variant:?}: allocated"
        );
        assert_eq!(decoder.cache_bytes_used(), 0);
        let steps = 7;
        pollster::block_on(decoder.decode(&exec, 1, steps, true)).unwrap();
        assert_eq!(
            decoder.cache_bytes_used(),
            formula.bytes_per_token() * steps as u64,
            "{variant:?}: used after {steps} steps"
        );
    }
    // By hand: MHA 2 layers × 2 × 4 heads × 16 dims × 4 bytes = 1,024 per
    // token; MLA 2 × (32 + 8) × 4 = 320.
    assert_eq!(
        Config::new(Variant::Mha).kv_config(1).bytes_per_token(),
        1024
    );
    assert_eq!(
        Config::new(Variant::Gqa).kv_config(1).bytes_per_token(),
        512
    );
    assert_eq!(
        Config::new(Variant::Mqa).kv_config(1).bytes_per_token(),
        256
    );
    assert_eq!(
        Config::new(Variant::Mla).kv_config(1).bytes_per_token(),
        320
    );
}

#[test]
fn mla_naive_and_absorbed_agree_on_cpu_and_gpu() {
    let model = model(Variant::Mla);
    let steps = 40;
    let (naive_patches, naive) = cpu_decode(&model, MlaForm::Naive, 5, steps);
    let (absorbed_patches, absorbed) = cpu_decode(&model, MlaForm::Absorbed, 5, steps);
    let cpu_worst = naive
        .iter()
        .zip(&absorbed)
        .map(|(a, b)| max_diff(a, b))
        .fold(0.0, f32::max);
    assert!(
        cpu_worst < 1e-4,
        "CPU: max |naive − absorbed| = {cpu_worst}"
    );
    assert_eq!(naive_patches, absorbed_patches);

    let Some(exec) = gpu() else { return };
    let mut gpu_worst = 0.0f32;
    let mut forms: Vec<GpuDecoder> = [MlaForm::Naive, MlaForm::Absorbed]
        .map(|form| GpuDecoder::new(&exec, &model, form).unwrap())
        .into();
    for (pos, expected) in absorbed.iter().enumerate() {
        let traces: Vec<_> = forms
            .iter_mut()
            .map(|d| pollster::block_on(d.decode(&exec, 5, 1, true)).unwrap())
            .collect();
        gpu_worst = gpu_worst.max(max_diff(&traces[0].logits, &traces[1].logits));
        assert_eq!(traces[0].logits.len(), (pos + 1) * 16);
        assert!(
            max_diff(traces[1].last_logits(), expected) < 1e-3,
            "step {pos}"
        );
        for (a, b) in traces[0].attention.iter().zip(&traces[1].attention) {
            assert!(max_diff(a, b) < 1e-4, "attention weights at step {pos}");
        }
    }
    assert!(
        gpu_worst < 1e-4,
        "GPU: max |naive − absorbed| = {gpu_worst}"
    );
}

#[test]
fn gpu_and_cpu_decode_the_same_digit_for_every_variant() {
    let Some(exec) = gpu() else { return };
    for variant in Variant::ALL {
        let model = model(variant);
        let (cpu_patches, _) = cpu_decode(&model, MlaForm::Absorbed, 3, POSITIONS);
        let mut decoder = GpuDecoder::new(&exec, &model, MlaForm::Absorbed).unwrap();
        let readbacks = exec.readbacks();
        let trace = pollster::block_on(decoder.decode(&exec, 3, POSITIONS, true)).unwrap();
        assert_eq!(
            exec.readbacks() - readbacks,
            1,
            "one readback for 196 steps"
        );
        assert_eq!(trace.patches, cpu_patches, "{variant:?}");
        assert!(
            cpu_patches.iter().any(|&p| p != cpu_patches[0]),
            "a random model's sample should vary"
        );
        // The last step attends over all 196 positions, each head's weights summing to 1.
        for layer in &trace.attention {
            assert_eq!(layer.len(), Config::new(variant).heads * POSITIONS);
            for head in layer.chunks(POSITIONS) {
                let total: f32 = head.iter().sum();
                assert!((total - 1.0).abs() < 1e-4, "{variant:?}: {total}");
            }
        }
    }
}

#[test]
fn decoding_without_the_cache_gives_the_same_digit() {
    let Some(exec) = gpu() else { return };
    let model = model(Variant::Gqa);
    let steps = 24;
    let mut cached = GpuDecoder::new(&exec, &model, MlaForm::Absorbed).unwrap();
    let mut uncached = GpuDecoder::new(&exec, &model, MlaForm::Absorbed).unwrap();
    let a = pollster::block_on(cached.decode(&exec, 9, steps, true)).unwrap();
    let b = pollster::block_on(uncached.decode(&exec, 9, steps, false)).unwrap();
    assert_eq!(a.patches, b.patches);
    assert!(max_diff(&a.logits, &b.logits) < 1e-4);

    let mut cpu = CpuDecoder::new(model.clone(), MlaForm::Absorbed).unwrap();
    let mut token = START;
    for pos in 0..steps {
        let out = if pos % 2 == 0 {
            cpu.step(token).unwrap()
        } else {
            cpu.step_uncached(token).unwrap()
        };
        token = sample_patch(&out.logits, 9, pos);
        assert_eq!(token, a.patches[pos], "CPU step {pos}");
    }
}

#[test]
fn live_decoder_agrees_across_backends_in_chunks() {
    use compute::{models::digit_transformer::live::LiveDecoder, Backend, ComputeError};
    let Some(exec) = gpu() else { return };
    let model = model(Variant::Mla);
    let config = model.config;
    let backends = [
        Backend::Gpu(std::rc::Rc::new(exec)),
        Backend::Cpu(ComputeError::Cpu("test".into())),
    ];
    let mut runs = Vec::new();
    for backend in &backends {
        let mut live = LiveDecoder::new(&model, backend, MlaForm::Naive).unwrap();
        let first = pollster::block_on(live.advance(4, 7, true)).unwrap();
        assert_eq!(first.patches.len(), 7);
        let trace = pollster::block_on(live.advance(4, 13, false)).unwrap();
        assert_eq!(live.len(), 20);
        assert_eq!(
            live.cache_bytes_used(),
            20 * config.kv_config(1).bytes_per_token(),
            "on the GPU: {}",
            live.on_gpu()
        );
        runs.push(trace);
    }
    assert_eq!(runs[0].patches, runs[1].patches);
    assert!(max_diff(&runs[0].logits, &runs[1].logits) < 1e-3);
    for (a, b) in runs[0].attention.iter().zip(&runs[1].attention) {
        assert_eq!(a.len(), config.heads * 20);
        assert!(max_diff(a, b) < 1e-4);
    }
}

#[test]
fn cpu_cache_bytes_are_the_calculators_formula() {
    for variant in Variant::ALL {
        let config = Config::new(variant);
        let mut decoder = CpuDecoder::new(model(variant), MlaForm::Naive).unwrap();
        let formula = config.kv_config(POSITIONS);
        assert_eq!(
            decoder.cache_bytes_allocated(),
            formula.total_bytes(),
            "{variant:?}"
        );
        let mut token = START;
        for pos in 0..5 {
            token = sample_patch(&decoder.step(token).unwrap().logits, 1, pos);
        }
        assert_eq!(
            decoder.cache_bytes_used(),
            5 * formula.bytes_per_token(),
            "{variant:?}"
        );
        decoder.reset();
        assert_eq!(decoder.cache_bytes_used(), 0);
        assert_eq!(decoder.cache_bytes_allocated(), formula.total_bytes());
    }
}

/// The cache drawn as memory: after k steps each layer holds exactly k
/// filled positions, whose bytes are what the decoder reports using; every
/// cell holds the column's values, and each head's weights over the filled
/// positions add up to 1.
#[test]
fn cache_cells_fill_one_position_per_step() {
    use compute::models::digit_transformer::memory::CacheLayout;
    for variant in Variant::ALL {
        let config = Config::new(variant);
        let layout = CacheLayout::of(&config);
        let mut decoder = CpuDecoder::new(model(variant), MlaForm::Absorbed).unwrap();
        let mut token = START;
        for k in 1..=6 {
            token = sample_patch(&decoder.step(token).unwrap().logits, 3, k - 1);
            for layer in 0..layout.layers {
                let filled = (0..POSITIONS)
                    .filter(|&p| decoder.cached(layer, p, 0).is_some())
                    .count();
                assert_eq!(filled, k, "{variant:?} layer {layer}");
                for (c, column) in layout.columns.iter().enumerate() {
                    let cell = decoder.cached(layer, k - 1, c).unwrap();
                    assert_eq!(cell.len(), column.values(), "{variant:?} column {c}");
                    assert!(cell.iter().any(|&v| v != 0.0));
                }
                assert!(decoder.cached(layer, k - 1, layout.columns.len()).is_none());
                let per_head: Vec<Vec<f32>> = (0..k)
                    .map(|p| decoder.weights_on(layer, p).unwrap())
                    .collect();
                for h in 0..config.heads {
                    let total: f32 = per_head.iter().map(|w| w[h]).sum();
                    assert!((total - 1.0).abs() < 1e-4, "{variant:?} head {h}: {total}");
                }
            }
            assert_eq!(layout.bytes(k), decoder.cache_bytes_used(), "{variant:?}");
            assert_eq!(
                layout.bytes_per_position() * layout.layers as u64,
                config.kv_config(POSITIONS).bytes_per_token()
            );
        }
    }
}

/// The cache the memory view draws holds the same numbers on both
/// backends: after the same eight steps, every cell of every layer read
/// back from the GPU (in one transfer) equals the CPU decoder's.
#[test]
fn gpu_cache_cells_equal_the_cpu_decoders() {
    use compute::models::digit_transformer::memory::CacheLayout;
    let Some(exec) = gpu() else { return };
    let steps = 8;
    for variant in Variant::ALL {
        let model = model(variant);
        let mut cpu = CpuDecoder::new(model.clone(), MlaForm::Absorbed).unwrap();
        let mut token = START;
        for pos in 0..steps {
            token = sample_patch(&cpu.step(token).unwrap().logits, 3, pos);
        }
        let mut gpu_decoder = GpuDecoder::new(&exec, &model, MlaForm::Absorbed).unwrap();
        pollster::block_on(gpu_decoder.decode(&exec, 3, steps, true)).unwrap();
        let readbacks = exec.readbacks();
        let got = pollster::block_on(gpu_decoder.cells(&exec)).unwrap();
        assert_eq!(exec.readbacks(), readbacks + 1);
        let want = cpu.cells();
        let layout = CacheLayout::of(&Config::new(variant));
        assert_eq!(want.len(), layout.layers);
        for (layer, (g, w)) in got.iter().zip(&want).enumerate() {
            assert_eq!(
                g.len(),
                steps,
                "{variant:?} layer {layer}: filled positions"
            );
            assert_eq!(w.len(), steps);
            for (pos, (gc, wc)) in g.iter().zip(w).enumerate() {
                assert_eq!(gc.len(), layout.columns.len());
                for (column, (a, b)) in gc.iter().zip(wc).enumerate() {
                    assert_eq!(a.len(), layout.columns[column].values());
                    let diff = a
                        .iter()
                        .zip(b)
                        .map(|(x, y)| (x - y).abs())
                        .fold(0.0f32, f32::max);
                    assert!(
                        diff < 1e-4,
                        "{variant:?} layer {layer} pos {pos} column {column}: {diff}"
                    );
                }
            }
        }
    }
}
