//! `cargo xtask bench`: the kernel suite natively (lavapipe) and in headless
//! Chromium on WebGPU (SwiftShader), each beside the CPU reference on the
//! same machine, written to target/bench/kernels.json.

use std::{path::PathBuf, time::Duration};

use compute::{
    bench::{run_suite, BenchRow, SuiteSize},
    Backend,
};
use glassbox_tests::{Chromedriver, GpuMode, StaticServer};

fn main() {
    if let Err(e) = run() {
        eprintln!("bench: {e}");
        std::process::exit(1);
    }
}

fn run() -> Result<(), String> {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
    let arg = std::env::args().nth(1);
    let backend = pollster::block_on(Backend::detect());
    if let Backend::Cpu(reason) = &backend {
        return Err(format!(
            "no native GPU adapter ({reason}); install mesa-vulkan-drivers"
        ));
    }
    // The first load of `/`, from the build xtask just made.
    let size = glassbox_tests::first_load_json(&glassbox_tests::first_load(&root.join("dist"))?);
    println!(
        "bench: first load of / is {} B gzipped",
        size["total_gzip_9"]
    );
    std::fs::create_dir_all(root.join("target/bench")).map_err(|e| e.to_string())?;
    std::fs::write(
        root.join("target/bench/size.json"),
        serde_json::to_string_pretty(&size).map_err(|e| e.to_string())?,
    )
    .map_err(|e| e.to_string())?;
    println!("bench: profile of a LoRA step, a LLaMA poem and a DETR pass (native GPU)");
    let profiles = profile(&root, &backend)?;
    write_json(&root.join("target/bench/profile.json"), &profiles)?;
    println!("bench: chapters 4 and 5, LLaMA decoding and a LoRA step, GPU beside CPU");
    let llama = llama_and_lora(&root, &backend)?;
    write_json(&root.join("target/bench/llama.json"), &llama)?;
    // `bench profile` stops here.
    if arg.as_deref() == Some("profile") {
        return Ok(());
    }
    println!("bench: chapter 9, R-CNN against SPP-net on the same windows");
    let race = spp_race(&root, &backend)?;
    write_json(&root.join("target/bench/spp-race.json"), &race)?;
    // `bench spp` stops here.
    if arg.as_deref() == Some("spp") {
        return Ok(());
    }
    println!("bench: chapter 3, one forward pass of the detector");
    let detection = detr_forward(&root, &backend)?;
    std::fs::create_dir_all(root.join("target/bench")).map_err(|e| e.to_string())?;
    std::fs::write(
        root.join("target/bench/detr-forward.json"),
        serde_json::to_string_pretty(&detection).map_err(|e| e.to_string())?,
    )
    .map_err(|e| e.to_string())?;
    // `bench detr` stops here.
    if arg.as_deref() == Some("detr") {
        return Ok(());
    }
    println!("bench: chapter 2, decoding steps with and without the KV cache");
    let decoding = kv_decoding(&root, &backend)?;
    std::fs::create_dir_all(root.join("target/bench")).map_err(|e| e.to_string())?;
    std::fs::write(
        root.join("target/bench/kv-decode.json"),
        serde_json::to_string_pretty(&decoding).map_err(|e| e.to_string())?,
    )
    .map_err(|e| e.to_string())?;
    // `bench kv` stops here.
    if arg.as_deref() == Some("kv") {
        return Ok(());
    }
    let out = arg
        .map(PathBuf::from)
        .unwrap_or_else(|| root.join("target/bench/kernels.json"));

    println!("bench: native suite");
    let mut rows = pollster::block_on(run_suite(
        &backend,
        SuiteSize::Full,
        "native",
        |done, total, row| {
            println!(
                "  {done:>2}/{total} {:<30} {:<28} {:>10.3} ms",
                row.kernel,
                truncate(&row.backend, 28),
                row.ms_median
            );
        },
    ))
    .map_err(|e| e.to_string())?;

    println!("bench: chapter 1, one full 784-pixel sample per model");
    let sampling = ar_sampling(&root, &backend)?;
    std::fs::create_dir_all(root.join("target/bench")).map_err(|e| e.to_string())?;
    std::fs::write(
        root.join("target/bench/ar-sampling.json"),
        serde_json::to_string_pretty(&sampling).map_err(|e| e.to_string())?,
    )
    .map_err(|e| e.to_string())?;

    println!("bench: browser suite (headless Chromium, SwiftShader WebGPU)");
    rows.extend(browser_rows(&root)?);

    if let Some(dir) = out.parent() {
        std::fs::create_dir_all(dir).map_err(|e| e.to_string())?;
    }
    let json = serde_json::to_string_pretty(&rows).map_err(|e| e.to_string())?;
    std::fs::write(&out, json).map_err(|e| e.to_string())?;
    print_report(&rows);
    println!("bench: wrote {} rows to {}", rows.len(), out.display());
    match rows.iter().find(|r| r.max_abs_err > r.tolerance) {
        Some(bad) => Err(format!(
            "{} on {} disagrees with the CPU reference: {bad:?}",
            bad.kernel, bad.backend
        )),
        None => Ok(()),
    }
}

/// Milliseconds per forward pass of the committed detector on one 96×96
/// image: on the native GPU (upload, one submission, one readback of the
/// outputs and every attention map), fused and one dispatch per op as
/// before, and on the CPU reference. Median of 21
/// passes after 2 warm-up passes.
fn detr_forward(root: &std::path::Path, gpu: &Backend) -> Result<serde_json::Value, String> {
    use compute::models::detr::{
        config::WEIGHTS_PATH, gpu::DetrGpu, gpu_unfused::DetrGpuUnfused, model::Detr,
    };
    let bytes = std::fs::read(root.join("assets").join(WEIGHTS_PATH)).map_err(|e| e.to_string())?;
    let model = Detr::load(&bytes).map_err(|e| e.to_string())?;
    let image: Vec<f32> = compute::inputs::uniform_signed(5, 96 * 96)
        .into_iter()
        .map(|v| v.abs())
        .collect();
    let median = |mut pass: Box<dyn FnMut() -> Result<(), String> + '_>| -> Result<f64, String> {
        for _ in 0..2 {
            pass()?;
        }
        let mut times = Vec::new();
        for _ in 0..21 {
            let t0 = std::time::Instant::now();
            pass()?;
            times.push(t0.elapsed().as_secs_f64() * 1e3);
        }
        times.sort_by(f64::total_cmp);
        Ok(times[10])
    };
    let mut rows = Vec::new();
    if let Backend::Gpu(exec) = gpu {
        let adapter = exec.ctx().summary().adapter_name;
        let on_gpu = DetrGpu::upload(exec, &model).map_err(|e| e.to_string())?;
        let unfused = DetrGpuUnfused::upload(exec, &model);
        let fused_ms = median(Box::new(|| {
            pollster::block_on(on_gpu.forward(exec, &image))
                .map(drop)
                .map_err(|e| e.to_string())
        }))?;
        let unfused_ms = median(Box::new(|| {
            pollster::block_on(unfused.forward(exec, &image))
                .map(drop)
                .map_err(|e| e.to_string())
        }))?;
        println!("  native GPU: {adapter:<24} {fused_ms:>8.2} ms per forward pass (fused)");
        println!(
            "  native GPU: {adapter:<24} {unfused_ms:>8.2} ms per forward pass \
             (one dispatch per op, before): {:.1}x",
            unfused_ms / fused_ms
        );
        rows.push(serde_json::json!({
            "backend": format!("native GPU: {adapter}"),
            "method": "fused (one dispatch per linear layer with its bias, residual and LayerNorm)",
            "ms_per_forward": fused_ms,
        }));
        rows.push(serde_json::json!({
            "backend": format!("native GPU: {adapter}"),
            "method": "one dispatch per op (before)",
            "ms_per_forward": unfused_ms,
        }));
    }
    let ms = median(Box::new(|| {
        model
            .forward_ref(&image)
            .map(drop)
            .map_err(|e| e.to_string())
    }))?;
    println!("  native CPU reference            {ms:>8.2} ms per forward pass");
    rows.push(serde_json::json!({"backend": "native CPU reference", "ms_per_forward": ms}));
    Ok(serde_json::Value::Array(rows))
}

/// Chapter 9's race on held-out scene 0 (seed 29): R-CNN style and SPP-net
/// style on the same 500 and 2,000 windows, on the native GPU and the CPU
/// path, each the median of 3 runs after a warm-up, and the speed-up.
fn spp_race(root: &std::path::Path, gpu: &Backend) -> Result<serde_json::Value, String> {
    use compute::{
        faces::{
            scenes::{background_path, scene, BACKGROUNDS},
            Atlas, Grey, HELD_OUT_ATLAS, HELD_OUT_PEOPLE,
        },
        models::spp::{
            config::WEIGHTS_PATH,
            gpu::SppNetGpu,
            model::SppNet,
            race::{run, Pipeline, Runner},
            windows::{grid, spread},
        },
    };
    let read = |path: &str| {
        std::fs::read(root.join("assets").join(path)).map_err(|e| format!("{path}: {e}"))
    };
    let net = SppNet::load(&read(WEIGHTS_PATH)?).map_err(|e| e.to_string())?;
    let atlas = Atlas::from_png(&read(HELD_OUT_ATLAS)?, *HELD_OUT_PEOPLE.start())
        .map_err(|e| e.to_string())?;
    let backgrounds = BACKGROUNDS
        .iter()
        .map(|n| Grey::from_png(&read(&background_path(n))?).map_err(|e| e.to_string()))
        .collect::<Result<Vec<_>, String>>()?;
    let image = scene(&atlas, &backgrounds, 29, 0)
        .map_err(|e| e.to_string())?
        .pixels;
    let uploaded = match gpu {
        Backend::Gpu(exec) => Some((
            exec,
            SppNetGpu::upload(exec, &net).map_err(|e| e.to_string())?,
            exec.ctx().summary().adapter_name,
        )),
        Backend::Cpu(_) => None,
    };
    let mut runners = vec![("native CPU path".to_string(), Runner::Cpu(&net))];
    if let Some((exec, g, adapter)) = &uploaded {
        runners.push((format!("native GPU: {adapter}"), Runner::Gpu(exec, g)));
    }
    let mut rows = Vec::new();
    for n in [500, 2000] {
        let windows = spread(&grid(), n);
        for (label, runner) in &runners {
            let mut ms = [0.0; 2];
            for (slot, pipeline) in [Pipeline::Rcnn, Pipeline::Spp].into_iter().enumerate() {
                let lap = |()| pollster::block_on(run(runner, pipeline, &image, &windows));
                lap(()).map_err(|e| e.to_string())?;
                let mut times = (0..3)
                    .map(|_| lap(()).map(|l| l.ms).map_err(|e| e.to_string()))
                    .collect::<Result<Vec<f64>, String>>()?;
                times.sort_by(f64::total_cmp);
                ms[slot] = times[1];
            }
            println!(
                "  {label:<32} {n:>5} windows: R-CNN {:>9.1} ms, SPP-net {:>7.1} ms: {:.1}x",
                ms[0],
                ms[1],
                ms[0] / ms[1]
            );
            rows.push(serde_json::json!({
                "backend": label,
                "windows": n,
                "rcnn_ms": ms[0],
                "spp_ms": ms[1],
                "speedup": ms[0] / ms[1],
                "rcnn_conv_gflop": Pipeline::Rcnn.conv_flops(n) / 1e9,
                "spp_conv_gflop": Pipeline::Spp.conv_flops(n) / 1e9,
                "head_gflop": Pipeline::head_flops(n) / 1e9,
            }));
        }
    }
    Ok(serde_json::Value::Array(rows))
}

/// Milliseconds per decoding step of each committed chapter-2 variant, on
/// the native GPU and the CPU reference: with the cache over a whole digit
/// (196 steps, one submission), and without it over the first 32 positions
/// (every step recomputes all earlier tokens). Median of 3 seeds.
fn kv_decoding(root: &std::path::Path, gpu: &Backend) -> Result<serde_json::Value, String> {
    use compute::{
        kv_cache::Variant,
        models::digit_transformer::{
            live::LiveDecoder, Config, DigitTransformer, MlaForm, POSITIONS,
        },
    };
    let cpu = Backend::Cpu(compute::ComputeError::WebGpuUnsupported);
    let adapter = match gpu {
        Backend::Gpu(exec) => exec.ctx().summary().adapter_name,
        Backend::Cpu(_) => "none".into(),
    };
    let mut rows = Vec::new();
    for variant in Variant::ALL {
        let config = Config::new(variant);
        let bytes = std::fs::read(root.join("assets").join(config.weights_path()))
            .map_err(|e| e.to_string())?;
        let model =
            std::sync::Arc::new(DigitTransformer::load(config, &bytes).map_err(|e| e.to_string())?);
        let forms: &[MlaForm] = if variant == Variant::Mla {
            &[MlaForm::Absorbed, MlaForm::Naive]
        } else {
            &[MlaForm::Absorbed]
        };
        for &form in forms {
            for (label, backend) in [
                (format!("native GPU: {adapter}"), gpu),
                ("native CPU reference".to_string(), &cpu),
            ] {
                let per_step = |steps: usize, use_cache: bool| -> Result<f64, String> {
                    let mut times = Vec::new();
                    for seed in 1..=3 {
                        let mut d =
                            LiveDecoder::new(&model, backend, form).map_err(|e| e.to_string())?;
                        let t0 = std::time::Instant::now();
                        pollster::block_on(d.advance(seed, steps, use_cache))
                            .map_err(|e| e.to_string())?;
                        times.push(t0.elapsed().as_secs_f64() * 1e3 / steps as f64);
                    }
                    times.sort_by(f64::total_cmp);
                    Ok(times[1])
                };
                let cached = per_step(POSITIONS, true)?;
                let cached_32 = per_step(32, true)?;
                let uncached_32 = per_step(32, false)?;
                let name = match (variant, form) {
                    (Variant::Mla, MlaForm::Naive) => "MLA (naive)".to_string(),
                    (Variant::Mla, MlaForm::Absorbed) => "MLA (absorbed)".to_string(),
                    _ => variant.label().to_string(),
                };
                println!(
                    "  {name:<15} {label:<32} {cached:>7.3} ms/step over 196 cached; first 32: {cached_32:>7.3} cached, {uncached_32:>8.3} uncached"
                );
                rows.push(serde_json::json!({
                    "variant": name,
                    "backend": label,
                    "kv_bytes_per_token": config.kv_config(1).bytes_per_token(),
                    "ms_per_step_cached_196": cached,
                    "ms_per_step_cached_first_32": cached_32,
                    "ms_per_step_uncached_first_32": uncached_32,
                }));
            }
        }
    }
    Ok(serde_json::Value::Array(rows))
}

/// Milliseconds for one full sample of each committed chapter-1 model, on
/// the native GPU and on the CPU reference (median of 3 seeds).
fn ar_sampling(root: &std::path::Path, gpu: &Backend) -> Result<serde_json::Value, String> {
    use compute::models::ar::{
        gpu::pixelcnn_sample_recomputing, ArKind, ArModel, ArRunner, Mode, PIXELS,
    };
    let cpu = Backend::Cpu(compute::ComputeError::WebGpuUnsupported);
    let adapter = match gpu {
        Backend::Gpu(exec) => exec.ctx().summary().adapter_name,
        Backend::Cpu(_) => "none".into(),
    };
    // Median of three seeds, in milliseconds.
    let median = |f: &mut dyn FnMut(u64) -> Result<(), String>| -> Result<Vec<f64>, String> {
        let mut times = Vec::new();
        for seed in 1..=3 {
            let t0 = std::time::Instant::now();
            f(seed)?;
            times.push(t0.elapsed().as_secs_f64() * 1e3);
        }
        times.sort_by(f64::total_cmp);
        Ok(times)
    };
    let mut rows = Vec::new();
    let mut row = |model: &str, method: &str, label: &str, times: Vec<f64>| {
        println!("  {model:<9} {method:<22} {label:<40} {:>9.1} ms", times[1]);
        rows.push(serde_json::json!({
            "model": model,
            "method": method,
            "backend": label,
            "ms_per_sample_median": times[1],
            "ms_all": times,
        }));
    };
    let gpu_label = format!("native GPU: {adapter}");
    for kind in ArKind::ALL {
        let bytes = std::fs::read(root.join("assets").join(kind.weights_path()))
            .map_err(|e| e.to_string())?;
        let model = ArModel::load(kind, &bytes).map_err(|e| e.to_string())?;
        for (label, backend) in [(gpu_label.as_str(), gpu), ("native CPU reference", &cpu)] {
            let runner = ArRunner::new(model.clone(), backend);
            let zeros = vec![0.0; PIXELS];
            let times = median(&mut |seed| {
                let mut chain = runner
                    .chain(&zeros, 0, Mode::Sample { seed })
                    .map_err(|e| e.to_string())?;
                pollster::block_on(chain.advance(PIXELS)).map_err(|e| e.to_string())?;
                Ok(())
            })?;
            row(kind.slug(), "chain", label, times);
        }
        // PixelCNN's baseline: each pixel recomputes its window of rows.
        if let (ArModel::PixelCnn(m), Backend::Gpu(exec)) = (&model, gpu) {
            let on_gpu = compute::models::ar::pixelcnn::PixelCnnGpu::upload(exec, m);
            let times = median(&mut |seed| {
                pollster::block_on(pixelcnn_sample_recomputing(exec, &on_gpu, seed))
                    .map(drop)
                    .map_err(|e| e.to_string())
            })?;
            row(kind.slug(), "recomputing windows", &gpu_label, times);
            let times = median(&mut |seed| {
                m.sample_recomputing(seed)
                    .map(drop)
                    .map_err(|e| e.to_string())
            })?;
            row(
                kind.slug(),
                "recomputing windows",
                "native CPU reference",
                times,
            );
        }
    }
    Ok(serde_json::Value::Array(rows))
}

fn browser_rows(root: &std::path::Path) -> Result<Vec<BenchRow>, String> {
    let server = StaticServer::start(&root.join("dist"))?;
    let driver = Chromedriver::start()?;
    let profile = std::env::temp_dir().join(format!("glassbox-bench-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&profile);
    let session = driver.session(GpuMode::WebGpu, &profile)?;
    session.goto(&format!(
        "{}/embed/gpu-bench?size=full&autorun=true",
        server.origin
    ))?;
    let status = session.wait_for(
        "['done', 'failed'].includes(document.querySelector('[data-testid=\"gpu-bench-status\"]')?.dataset.status) \
         && document.querySelector('[data-testid=\"gpu-bench-status\"]').dataset.status",
        Duration::from_secs(1800),
    )?;
    if status != "done" {
        let text = session.execute(
            "return document.querySelector('[data-testid=\"gpu-bench-status\"]').innerText",
        )?;
        return Err(format!("the browser suite failed: {text}"));
    }
    let json = session
        .execute("return document.querySelector('[data-testid=\"gpu-bench-json\"]').textContent")?;
    drop(session);
    let _ = std::fs::remove_dir_all(&profile);
    serde_json::from_str(json.as_str().unwrap_or("[]")).map_err(|e| e.to_string())
}

fn print_report(rows: &[BenchRow]) {
    println!(
        "\n{:<30} {:<22} {:<34} {:>10} {:>9} {:>8} {:>8} {:>9}",
        "kernel", "shape", "backend", "ms", "GFLOP/s", "GB/s", "×CPU", "max|err|"
    );
    for r in rows {
        println!(
            "{:<30} {:<22} {:<34} {:>10.3} {:>9.2} {:>8.2} {:>8.1} {:>9.1e}",
            r.kernel,
            r.shape,
            truncate(&r.backend, 34),
            r.ms_median,
            r.gflops,
            r.gbps,
            r.ratio_vs_cpu,
            r.max_abs_err
        );
    }
    // The targets, as measured here.
    let mut backends: Vec<&str> = rows
        .iter()
        .map(|r| r.backend.as_str())
        .filter(|b| !b.starts_with("cpu"))
        .collect();
    backends.dedup();
    for backend in backends {
        let ms = |kernel: &str| {
            rows.iter()
                .find(|r| r.backend == backend && r.kernel == kernel)
                .map(|r| r.ms_median)
        };
        if let (Some(tiled), Some(naive)) = (ms("gemm_f32"), ms("gemm_f32_naive")) {
            println!(
                "target: tiled GEMM is {:.2}x the naive one at 512^3 on {backend} (target >= 5x)",
                naive / tiled
            );
        }
        if let Some(gemv) = rows
            .iter()
            .find(|r| r.backend == backend && r.kernel == "gemv_q8")
        {
            println!(
                "target: gemv_q8 {} moves {:.0} bytes per call for {:.0} bytes of weights (+{:.2}%, target <= 10%) on {backend}",
                gemv.shape,
                gemv.bytes_per_call,
                gemv.weight_bytes,
                100.0 * (gemv.bytes_per_call / gemv.weight_bytes - 1.0)
            );
        }
    }
}

fn truncate(s: &str, n: usize) -> String {
    s.chars().take(n).collect()
}

fn write_json(path: &std::path::Path, value: &serde_json::Value) -> Result<(), String> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(|e| e.to_string())?;
    }
    let json = serde_json::to_string_pretty(value).map_err(|e| e.to_string())?;
    std::fs::write(path, json).map_err(|e| e.to_string())
}

fn committed_llama(root: &std::path::Path) -> Result<compute::models::llama::Llama, String> {
    use compute::models::llama::{Llama, LlamaConfig, CONFIG_PATH, WEIGHTS_PATH};
    let read = |p: &str| std::fs::read(root.join("assets").join(p)).map_err(|e| e.to_string());
    let config: LlamaConfig =
        serde_json::from_slice(&read(CONFIG_PATH)?).map_err(|e| e.to_string())?;
    Llama::load(config, &read(WEIGHTS_PATH)?).map_err(|e| e.to_string())
}

/// Per kernel: dispatches, milliseconds, buffers and bind groups created,
/// for each workload on the native GPU (`compute::workloads`).
fn profile(root: &std::path::Path, backend: &Backend) -> Result<serde_json::Value, String> {
    use compute::{
        models::detr::{config::WEIGHTS_PATH, model::Detr},
        workloads,
    };
    let Backend::Gpu(exec) = backend else {
        return Err("the profile needs the native GPU".into());
    };
    let llama = committed_llama(root)?;
    let detr = Detr::load(
        &std::fs::read(root.join("assets").join(WEIGHTS_PATH)).map_err(|e| e.to_string())?,
    )
    .map_err(|e| e.to_string())?;
    // The poem twice: fused kernels, then the separate ones they replaced
    // (the "before" of one run).
    let runs = [
        ("", pollster::block_on(workloads::lora_step(exec, &llama))),
        ("", pollster::block_on(workloads::llama_poem(exec, &llama))),
        (
            "separate kernels (before)",
            pollster::block_on(workloads::llama_poem_separate(exec, &llama)),
        ),
        ("", pollster::block_on(workloads::detr_pass(exec, &detr))),
    ];
    let mut out = Vec::new();
    for (variant, run) in runs {
        let p = run.map_err(|e| e.to_string())?;
        println!(
            "  {:<11} {variant} {} units, {} dispatches ({:.1} per unit), {:.1} ms ({:?}), created {:?}",
            p.workload.slug(),
            p.units,
            p.profile.dispatches(),
            p.dispatches_per_unit(),
            p.profile.ms().unwrap_or(f64::NAN),
            p.profile.clock,
            p.profile.creations(),
        );
        for k in p.profile.kernels.iter().take(5) {
            println!(
                "      {:<34} {:>4} × {:>9.2} ms",
                k.kernel,
                k.dispatches,
                k.ms.unwrap_or(f64::NAN)
            );
        }
        let mut entry = serde_json::to_value(&p).map_err(|e| e.to_string())?;
        if !variant.is_empty() {
            entry["variant"] = variant.into();
        }
        out.push(entry);
    }
    Ok(serde_json::json!({
        "adapter": exec.ctx().summary().adapter_name,
        "workloads": out,
    }))
}

/// LLaMA decoding (characters per second, a 五绝 with seed 1) and a LoRA
/// step at the page's settings (milliseconds), on the native GPU and the
/// CPU path, in one run: medians of 3 after a warm-up.
fn llama_and_lora(root: &std::path::Path, backend: &Backend) -> Result<serde_json::Value, String> {
    use compute::{
        models::llama::{
            gpu::GpuLlama,
            lora::{
                cpu::{CpuTrainer, Frozen},
                gpu::GpuTrainer,
                Adapter, PAGE_DEFAULT, PAGE_LR, SEED,
            },
            sampling::{generate_cpu, Generation, Sampling},
        },
        reference::backprop::AdamW,
        tang::Form,
        workloads::page_shaped_batch,
    };
    use std::sync::Arc;
    let Backend::Gpu(exec) = backend else {
        return Err("needs the native GPU".into());
    };
    let model = Arc::new(committed_llama(root)?);
    let median3 = |run: &mut dyn FnMut() -> Result<f64, String>| -> Result<f64, String> {
        run()?;
        let mut v = [run()?, run()?, run()?];
        v.sort_by(f64::total_cmp);
        Ok(v[1])
    };
    let g = Generation::poem(Form::Wujue, Sampling::default(), 1);
    let gpu_llama = GpuLlama::new(exec, &model).map_err(|e| e.to_string())?;
    let chars_per_s = |tokens: usize, s: f64| tokens.saturating_sub(g.prompt.len()) as f64 / s;
    // Fused kernels (4 dispatches a layer), then the separate ones they
    // replaced (17 a layer; still the path with an adapter): before and
    // after in one run.
    let decode = |fused: bool| {
        gpu_llama.set_fused(fused);
        let rate = median3(&mut || {
            let t0 = std::time::Instant::now();
            let trace =
                pollster::block_on(gpu_llama.generate(exec, &g)).map_err(|e| e.to_string())?;
            Ok(chars_per_s(trace.tokens.len(), t0.elapsed().as_secs_f64()))
        });
        (rate, gpu_llama.dispatches_per_sampled_step())
    };
    let (gpu_decode, fused_dispatches) = decode(true);
    let (separate_decode, separate_dispatches) = decode(false);
    let (gpu_decode, separate_decode) = (gpu_decode?, separate_decode?);
    gpu_llama.set_fused(true);
    let cpu_decode = median3(&mut || {
        let t0 = std::time::Instant::now();
        let trace = generate_cpu(&model, &g).map_err(|e| e.to_string())?;
        Ok(chars_per_s(trace.tokens.len(), t0.elapsed().as_secs_f64()))
    })?;
    let batch = page_shaped_batch(model.config.vocab_size);
    let adapter = Adapter::init(&model.config, PAGE_DEFAULT, SEED);
    let hyper = AdamW::with_lr(PAGE_LR);
    let mut gpu_trainer =
        GpuTrainer::new(exec, &model, &adapter, hyper).map_err(|e| e.to_string())?;
    let gpu_step = median3(&mut || {
        let t0 = std::time::Instant::now();
        pollster::block_on(gpu_trainer.step(exec, &batch)).map_err(|e| e.to_string())?;
        Ok(t0.elapsed().as_secs_f64() * 1e3)
    })?;
    let mut cpu_trainer = CpuTrainer::new(
        Frozen::new(&model).map_err(|e| e.to_string())?,
        adapter.clone(),
        hyper,
    );
    let cpu_step = median3(&mut || {
        let t0 = std::time::Instant::now();
        cpu_trainer.step(&batch).map_err(|e| e.to_string())?;
        Ok(t0.elapsed().as_secs_f64() * 1e3)
    })?;
    println!(
        "  LLaMA decoding: GPU {gpu_decode:.1} characters/s ({fused_dispatches} dispatches a \
         token), separate kernels {separate_decode:.1} ({separate_dispatches}), CPU \
         {cpu_decode:.1} ({:.1}× the GPU)",
        cpu_decode / gpu_decode
    );
    println!(
        "  LoRA step (batch {}): GPU {gpu_step:.0} ms, CPU {cpu_step:.0} ms ({:.1}× the CPU)",
        batch.rows,
        gpu_step / cpu_step
    );
    Ok(serde_json::json!({
        "adapter": exec.ctx().summary().adapter_name,
        "llama_decode_chars_per_s": {
            "gpu": gpu_decode,
            "gpu_separate_kernels": separate_decode,
            "cpu": cpu_decode,
        },
        "llama_dispatches_per_token": {"gpu": fused_dispatches, "gpu_separate_kernels": separate_dispatches},
        "lora_step_ms": {"gpu": gpu_step, "cpu": cpu_step, "batch": batch.rows},
    }))
}
