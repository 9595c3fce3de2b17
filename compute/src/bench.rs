//! The kernel benchmark: each kernel on the live backend and the same
//! operation on the CPU reference, timed on this machine, with the GPU's
//! output checked against the reference. `cargo xtask bench` runs it natively
//! and in headless Chromium; the `/gpu` page runs it on a visitor's GPU.

use serde::{Deserialize, Serialize};
use web_time::Instant;

use crate::{
    backend::Backend,
    error::ComputeError,
    executor::{Executor, GpuTensor, Recording},
    inputs::uniform_signed,
    kernels::{
        attention::{attend_step, AttentionShape, KvCache},
        conv2d::{conv2d, Conv2dShape, ConvMask},
        elementwise::{activation, binary, Activation, Binary},
        gemm::{gemm_f32, GemmShape, GemmVariant},
        q8::{linear_q8, GpuQ8},
        reduce::{layernorm, softmax, Rows},
        sample::{sample, SampleTarget, Sampler},
    },
    reference::{
        attention::{attend_step_ref, KvCacheRef},
        conv2d::conv2d_ref,
        elementwise::{activation_ref, binary_ref},
        gemm::gemm_f32_ref,
        q8::{linear_q8_dequantized, linear_q8_ref},
        reduce::{layernorm_ref, softmax_ref},
        sample::sample_ref,
    },
    selftest::max_abs_diff,
    weights::Q8Matrix,
};

/// One line of `target/bench/kernels.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BenchRow {
    pub kernel: String,
    pub shape: String,
    /// "webgpu: <adapter>", "vulkan: <adapter>", or "cpu: <where>".
    pub backend: String,
    pub ms_median: f64,
    pub gflops: f64,
    pub gbps: f64,
    /// CPU reference time over this row's time (1 for CPU rows).
    pub ratio_vs_cpu: f64,
    /// Bytes that must cross memory per call (inputs, weights, outputs).
    pub bytes_per_call: f64,
    /// Bytes of stored weights the call reads (Q8_0 quants and scales), or 0.
    pub weight_bytes: f64,
    /// Largest |GPU − CPU| over the output (0 for CPU rows).
    pub max_abs_err: f32,
    pub tolerance: f32,
}

/// How big the problems are: `Full` for the report, `Small` for tests.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SuiteSize {
    Small,
    Full,
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Case {
    Gemm(GemmVariant, GemmShape),
    LinearQ8 { m: usize, rows: usize, cols: usize },
    Conv2d(Conv2dShape),
    Softmax(Rows),
    LayerNorm(Rows),
    Gelu(usize),
    Add(usize),
    Attention { shape: AttentionShape, pos: usize },
    Categorical { rows: usize, cols: usize },
}

fn cases(size: SuiteSize) -> Vec<Case> {
    let (g, q, n, rows) = match size {
        SuiteSize::Small => (64, 256, 1 << 14, 64),
        SuiteSize::Full => (512, 2048, 1 << 20, 512),
    };
    let square = GemmShape { m: g, k: g, n: g };
    vec![
        Case::Gemm(GemmVariant::F32Tiled, square),
        Case::Gemm(GemmVariant::F32Naive, square),
        Case::LinearQ8 {
            m: 1,
            rows: q,
            cols: q,
        },
        Case::LinearQ8 {
            m: 64,
            rows: q / 2,
            cols: q / 2,
        },
        Case::Conv2d(Conv2dShape {
            batch: 8,
            cin: 16,
            h: 28,
            w: 28,
            cout: 16,
            k: 3,
            stride: 1,
            pad: 1,
            mask: ConvMask::TypeB,
        }),
        Case::Softmax(Rows { rows, cols: 1024 }),
        Case::LayerNorm(Rows { rows, cols: 1024 }),
        Case::Gelu(n),
        Case::Add(n),
        Case::Attention {
            shape: AttentionShape {
                heads: 8,
                kv_heads: 2,
                head_dim: 64,
                max_len: 785,
            },
            pos: 784,
        },
        Case::Categorical {
            rows: 1024,
            cols: 16,
        },
    ]
}

impl Case {
    fn kernel(&self) -> String {
        match self {
            Case::Gemm(v, _) => v.entry_point().into(),
            Case::LinearQ8 { m: 1, .. } => "gemv_q8".into(),
            Case::LinearQ8 { .. } => "gemm_q8".into(),
            Case::Conv2d(_) => "conv2d_f32 (type B)".into(),
            Case::Softmax(_) => "softmax_rows".into(),
            Case::LayerNorm(_) => "layernorm_rows".into(),
            Case::Gelu(_) => "gelu".into(),
            Case::Add(_) => "add".into(),
            Case::Attention { .. } => "attention (kv_write + attend)".into(),
            Case::Categorical { .. } => "categorical".into(),
        }
    }

    fn shape(&self) -> String {
        match self {
            Case::Gemm(_, s) => format!("{}x{}x{}", s.m, s.k, s.n),
            Case::LinearQ8 { m, rows, cols } => format!("{m}x{cols} · {rows}x{cols}ᵀ"),
            Case::Conv2d(s) => format!("{}x{}x{}x{} k{}", s.batch, s.cin, s.h, s.w, s.k),
            Case::Softmax(r) | Case::LayerNorm(r) => format!("{}x{}", r.rows, r.cols),
            Case::Gelu(n) | Case::Add(n) => format!("{n}"),
            Case::Attention { shape, pos } => format!(
                "h{} kv{} d{} ctx{}",
                shape.heads,
                shape.kv_heads,
                shape.head_dim,
                pos + 1
            ),
            Case::Categorical { rows, cols } => format!("{rows}x{cols}"),
        }
    }

    /// (floating-point operations, bytes that must cross memory) per run.
    fn work(&self) -> (f64, f64) {
        let f = |v: usize| v as f64;
        match *self {
            Case::Gemm(_, s) => (s.flops(), 4.0 * f(s.m * s.k + s.k * s.n + s.m * s.n)),
            Case::LinearQ8 { m, rows, cols } => {
                let cp = cols.div_ceil(32) * 32;
                (
                    2.0 * f(m * rows * cols),
                    f(rows * cp + 4 * rows * cp / 32) + 4.0 * f(m * cols + m * rows),
                )
            }
            Case::Conv2d(s) => {
                let out = s.batch * s.cout * s.h * s.w;
                (
                    2.0 * f(out * s.cin * s.k * s.k),
                    4.0 * f(s.batch * s.cin * s.h * s.w + s.cout * s.cin * s.k * s.k + out),
                )
            }
            Case::Softmax(r) | Case::LayerNorm(r) => {
                (5.0 * f(r.rows * r.cols), 8.0 * f(r.rows * r.cols))
            }
            Case::Gelu(n) => (10.0 * f(n), 8.0 * f(n)),
            Case::Add(n) => (f(n), 12.0 * f(n)),
            Case::Attention { shape, pos } => {
                let ctx = f(pos + 1);
                (
                    4.0 * ctx * f(shape.heads * shape.head_dim),
                    4.0 * 2.0 * ctx * f(shape.kv_heads * shape.head_dim),
                )
            }
            Case::Categorical { rows, cols } => (2.0 * f(rows * cols), 4.0 * f(rows * cols + rows)),
        }
    }

    fn weight_bytes(&self) -> f64 {
        match *self {
            Case::LinearQ8 { rows, cols, .. } => {
                let cp = cols.div_ceil(32) * 32;
                (rows * cp + 4 * rows * cp / 32) as f64
            }
            _ => 0.0,
        }
    }

    fn tolerance(&self) -> f32 {
        match *self {
            Case::Gemm(_, s) => 1e-6 * s.k as f32 + 1e-6,
            Case::LinearQ8 { cols, .. } => 1e-6 * cols as f32 + 1e-6,
            Case::Conv2d(s) => 1e-6 * (s.cin * s.k * s.k) as f32 + 1e-6,
            Case::Softmax(_) | Case::Gelu(_) | Case::Add(_) => 2e-5,
            Case::LayerNorm(_) | Case::Attention { .. } => 1e-4,
            Case::Categorical { .. } => 0.0,
        }
    }
}

/// Inputs for one case, made once from fixed seeds.
struct Data {
    a: Vec<f32>,
    b: Vec<f32>,
    c: Vec<f32>,
    q8: Option<Q8Matrix>,
}

fn data(case: &Case) -> Data {
    let r = |seed, n| uniform_signed(seed, n);
    let empty = || Data {
        a: vec![],
        b: vec![],
        c: vec![],
        q8: None,
    };
    match *case {
        Case::Gemm(_, s) => Data {
            a: r(1, s.m * s.k),
            b: r(2, s.k * s.n),
            ..empty()
        },
        Case::LinearQ8 { m, rows, cols } => Data {
            a: r(3, m * cols),
            q8: Some(Q8Matrix::quantize(&r(4, rows * cols), rows, cols)),
            ..empty()
        },
        Case::Conv2d(s) => Data {
            a: r(5, s.batch * s.cin * s.h * s.w),
            b: r(6, s.cout * s.cin * s.k * s.k),
            c: r(7, s.cout),
            q8: None,
        },
        Case::Softmax(rw) | Case::LayerNorm(rw) => Data {
            a: r(8, rw.rows * rw.cols),
            b: r(9, rw.cols),
            c: r(10, rw.cols),
            q8: None,
        },
        Case::Gelu(n) | Case::Add(n) => Data {
            a: r(11, n),
            b: r(12, n),
            ..empty()
        },
        Case::Attention { shape, .. } => {
            let per_token = shape.kv_heads * shape.head_dim;
            Data {
                a: r(13, shape.heads * shape.head_dim),
                b: r(14, shape.max_len * per_token),
                c: r(15, shape.max_len * per_token),
                q8: None,
            }
        }
        Case::Categorical { rows, cols } => Data {
            a: r(16, rows * cols).into_iter().map(|v| v + 1.0).collect(),
            ..empty()
        },
    }
}

/// GPU-resident state of a case: inputs uploaded once, plus a KV cache
/// prefilled to `pos` for attention.
struct GpuCase {
    tensors: Vec<GpuTensor>,
    q8: Option<GpuQ8>,
    cache: Option<KvCache>,
}

impl GpuCase {
    fn new(exec: &Executor, case: &Case, d: &Data) -> Result<GpuCase, ComputeError> {
        let tensors = [&d.a, &d.b, &d.c].iter().map(|v| exec.upload(v)).collect();
        let q8 = d.q8.as_ref().map(|m| GpuQ8::upload(exec, m));
        let cache = match case {
            Case::Attention { shape, pos } => {
                let cache = KvCache::new(exec, *shape)?;
                // The cache is never pooled, so writing it directly is safe.
                let bytes =
                    |v: Vec<f32>| v.iter().flat_map(|x| x.to_le_bytes()).collect::<Vec<u8>>();
                exec.ctx().queue.write_buffer(
                    cache.k.buffer(),
                    0,
                    &bytes(cache_layout(&d.b, *shape, *pos)),
                );
                exec.ctx().queue.write_buffer(
                    cache.v.buffer(),
                    0,
                    &bytes(cache_layout(&d.c, *shape, *pos)),
                );
                Some(cache)
            }
            _ => None,
        };
        Ok(GpuCase { tensors, q8, cache })
    }

    fn record(&self, rec: &mut Recording<'_>, case: &Case) -> Result<GpuTensor, ComputeError> {
        let t = &self.tensors;
        Ok(match *case {
            Case::Gemm(v, s) => gemm_f32(rec, &t[0], &t[1], s, v)?,
            Case::LinearQ8 { m, .. } => linear_q8(
                rec,
                &t[0],
                self.q8.as_ref().expect("q8 case has weights"),
                m,
            )?,
            Case::Conv2d(s) => conv2d(rec, &t[0], &t[1], &t[2], s)?,
            Case::Softmax(r) => softmax(rec, &t[0], r)?,
            Case::LayerNorm(r) => layernorm(rec, &t[0], &t[1], &t[2], r, 1e-5)?,
            Case::Gelu(_) => activation(rec, &t[0], Activation::Gelu),
            Case::Add(_) => binary(rec, &t[0], &t[1], Binary::Add)?,
            Case::Attention { shape, pos } => {
                let cache = self.cache.as_ref().expect("attention case has a cache");
                let kv = rec.exec().empty(shape.kv_heads * shape.head_dim);
                rec.copy(&t[1], pos * shape.kv_heads * shape.head_dim, &kv, 0, kv.len);
                let v = rec.exec().empty(kv.len);
                rec.copy(&t[2], pos * shape.kv_heads * shape.head_dim, &v, 0, v.len);
                attend_step(
                    rec,
                    cache,
                    &t[0],
                    &kv,
                    &v,
                    pos,
                    1.0 / (shape.head_dim as f32).sqrt(),
                )?
            }
            Case::Categorical { rows, cols } => {
                let out = rec.exec().empty(rows);
                sample(
                    rec,
                    Sampler::Categorical,
                    &t[0],
                    rows,
                    cols,
                    7,
                    0,
                    &out,
                    SampleTarget {
                        offset: 0,
                        as_index: true,
                    },
                )?;
                out
            }
        })
    }
}

/// Keys or values of tokens 0..pos, given token-major ([max_len, kv_heads,
/// head_dim]), in the cache's layout [kv_heads, max_len, head_dim].
fn cache_layout(token_major: &[f32], shape: AttentionShape, pos: usize) -> Vec<f32> {
    let (hd, per_token) = (shape.head_dim, shape.kv_heads * shape.head_dim);
    let mut out = vec![0.0; shape.kv_heads * shape.max_len * hd];
    for t in 0..pos {
        for g in 0..shape.kv_heads {
            let (src, dst) = (t * per_token + g * hd, (g * shape.max_len + t) * hd);
            out[dst..dst + hd].copy_from_slice(&token_major[src..src + hd]);
        }
    }
    out
}

fn reference(case: &Case, d: &Data) -> Result<Vec<f32>, ComputeError> {
    Ok(match *case {
        Case::Gemm(_, s) => gemm_f32_ref(&d.a, &d.b, s)?,
        Case::LinearQ8 { m, .. } => {
            linear_q8_ref(&d.a, d.q8.as_ref().expect("q8 case has weights"), m)?
        }
        Case::Conv2d(s) => conv2d_ref(&d.a, &d.b, &d.c, s)?,
        Case::Softmax(r) => softmax_ref(&d.a, r),
        Case::LayerNorm(r) => layernorm_ref(&d.a, &d.b, &d.c, r, 1e-5),
        Case::Gelu(_) => activation_ref(&d.a, Activation::Gelu)?,
        Case::Add(_) => binary_ref(&d.a, &d.b, Binary::Add)?,
        Case::Attention { shape, pos } => {
            let mut cache = KvCacheRef::new(shape);
            cache.k = cache_layout(&d.b, shape, pos);
            cache.v = cache_layout(&d.c, shape, pos);
            let per_token = shape.kv_heads * shape.head_dim;
            let at = pos * per_token;
            attend_step_ref(
                &mut cache,
                &d.a,
                &d.b[at..at + per_token],
                &d.c[at..at + per_token],
                pos,
                1.0 / (shape.head_dim as f32).sqrt(),
            )
        }
        Case::Categorical { rows, cols } => {
            sample_ref(Sampler::Categorical, &d.a, rows, cols, 7, 0)
                .into_iter()
                .map(f32::from_bits)
                .collect()
        }
    })
}

/// Median of `runs` timings of `run`, each averaged over enough repetitions
/// to last about 20 ms (the browser's clock is coarse).
async fn time_median<F, Fut>(runs: usize, mut run: F) -> Result<f64, ComputeError>
where
    F: FnMut(usize) -> Fut,
    Fut: std::future::Future<Output = Result<(), ComputeError>>,
{
    let start = Instant::now();
    run(1).await?;
    let once = start.elapsed().as_secs_f64() * 1e3;
    let reps = ((20.0 / once.max(0.01)).ceil() as usize).clamp(1, 50);
    let mut times = Vec::with_capacity(runs);
    for _ in 0..runs {
        let start = Instant::now();
        run(reps).await?;
        times.push(start.elapsed().as_secs_f64() * 1e3 / reps as f64);
    }
    times.sort_by(|a, b| a.total_cmp(b));
    Ok(times[runs / 2])
}

/// Runs every case: a CPU row, and a GPU row when the backend has a GPU.
/// `on_row(done, total, row)` reports each row as it finishes.
pub async fn run_suite(
    backend: &Backend,
    size: SuiteSize,
    cpu_label: &str,
    mut on_row: impl FnMut(usize, usize, &BenchRow),
) -> Result<Vec<BenchRow>, ComputeError> {
    let cases = cases(size);
    let per_case = if matches!(backend, Backend::Gpu(_)) {
        2
    } else {
        1
    };
    // Q8 cases also time the old CPU path (dequantize, then candle's matmul).
    let q8_cases = cases
        .iter()
        .filter(|c| matches!(c, Case::LinearQ8 { .. }))
        .count();
    let total = cases.len() * per_case + q8_cases;
    let mut rows = Vec::new();
    let gpu_label = match backend {
        Backend::Gpu(exec) => {
            let s = exec.ctx().summary();
            format!("{}: {}", s.backend, s.adapter_name)
        }
        Backend::Cpu(_) => String::new(),
    };
    for case in &cases {
        let d = data(case);
        let (flops, bytes) = case.work();
        let row = |backend: String, ms: f64, ratio: f64, err: f32| BenchRow {
            kernel: case.kernel(),
            shape: case.shape(),
            backend,
            ms_median: ms,
            gflops: flops / ms / 1e6,
            gbps: bytes / ms / 1e6,
            ratio_vs_cpu: ratio,
            bytes_per_call: bytes,
            weight_bytes: case.weight_bytes(),
            max_abs_err: err,
            tolerance: case.tolerance(),
        };
        let want = reference(case, &d)?;
        let cpu_ms = time_median(3, |reps| {
            let d = &d;
            async move {
                for _ in 0..reps {
                    reference(case, d)?;
                }
                Ok(())
            }
        })
        .await?;
        let cpu_row = row(format!("cpu: {cpu_label}"), cpu_ms, 1.0, 0.0);
        rows.push(cpu_row.clone());
        on_row(rows.len(), total, &cpu_row);
        if let (Case::LinearQ8 { m, .. }, Some(w)) = (*case, d.q8.as_ref()) {
            let ms = time_median(3, |reps| {
                let d = &d;
                async move {
                    for _ in 0..reps {
                        linear_q8_dequantized(&d.a, w, m)?;
                    }
                    Ok(())
                }
            })
            .await?;
            let err = max_abs_diff(&linear_q8_dequantized(&d.a, w, m)?, &want);
            let before = row(
                format!("cpu: {cpu_label}, dequantize + candle matmul (before)"),
                ms,
                cpu_ms / ms,
                err,
            );
            rows.push(before.clone());
            on_row(rows.len(), total, &before);
        }

        if let Backend::Gpu(exec) = backend {
            let state = GpuCase::new(exec, case, &d)?;
            // Warm-up: compiles the pipeline; its output is checked.
            let mut rec = exec.begin();
            let out = state.record(&mut rec, case)?;
            exec.submit(rec)?;
            let got = exec.read(&out).await?;
            let err = max_abs_diff(&got, &want);
            let ms = time_median(5, |reps| {
                let state = &state;
                async move {
                    let mut rec = exec.begin();
                    for _ in 0..reps {
                        state.record(&mut rec, case)?;
                    }
                    exec.submit_and_wait(rec).await
                }
            })
            .await?;
            let gpu_row = row(gpu_label.clone(), ms, cpu_ms / ms, err);
            rows.push(gpu_row.clone());
            on_row(rows.len(), total, &gpu_row);
        }
    }
    Ok(rows)
}
