//! `pictures`: the home page's picture of each chapter, drawn from that
//! chapter's own committed models and data by the code the app runs (on the
//! CPU), as small SVGs in `assets/pictures/<slug>.svg`. Seeded, so the same
//! files come out every time.

use std::{fmt::Write as _, path::Path, sync::Arc};

use compute::{
    inputs::SplitMix64,
    kv_cache::parse_presets,
    models::{
        ar::{ArKind, ArModel, CpuChain, Mode, PIXELS},
        detr::{model::Detr, scenes::generate_scene},
        llama::{
            lora::{
                cpu::{CpuTrainer, Frozen},
                data::PoetData,
                Adapter, PAGE_BATCH, PAGE_DEFAULT, PAGE_LR, SEED as LORA_SEED,
            },
            sampling::{generate_cpu, Generation, Sampling},
            Llama, LlamaConfig, CONFIG_PATH, TOKENIZER_PATH, WEIGHTS_PATH,
        },
    },
    search::{corpus_docs, Index, ScriptFold, Segmentation},
    tang::{decode_corpus, CharTokenizer, Form, CORPUS_PATH, HELD_OUT_POETS},
};
use safetensors::SafeTensors;

type Res<T> = Result<T, String>;

/// Every picture's file must stay under this (the issue's limit).
pub const MAX_BYTES: usize = 10 * 1024;

const INK: &str = "#14161a";
const PAPER: &str = "#f3f5f9";
const ACCENT: &str = "#2b59c3";
const MUTED: &str = "#4a5260";

pub fn all(root: &Path) -> Res<()> {
    let assets = root.join("assets");
    let read = |p: &str| std::fs::read(assets.join(p)).map_err(|x| format!("{p}: {x}"));
    let out = assets.join("pictures");
    std::fs::create_dir_all(&out).map_err(|x| x.to_string())?;
    let mnist = read("data/mnist-test.safetensors")?;
    let (images, labels) = mnist_test(&mnist)?;
    let pictures = [
        (
            "autoregressive",
            digits(&read(&ArKind::Nade.weights_path())?)?,
        ),
        (
            "attention",
            kv_bars(&String::from_utf8_lossy(&read(
                "reference/kv-cache-models.json",
            )?))?,
        ),
        (
            "detr",
            detr_scene(&read("models/detr/detr.safetensors")?, &images, &labels)?,
        ),
        ("llama", poem(&read)?),
        ("lora", lora_curve(&read)?),
        ("search", posting_list(&read)?),
        ("instruct", instruct_bars(&read)?),
        ("align", align_frontier(&read)?),
        ("spp", spp_faces(&read)?),
    ];
    for (slug, svg) in pictures {
        if svg.len() > MAX_BYTES {
            return Err(format!(
                "{slug}.svg is {} bytes, over {MAX_BYTES}",
                svg.len()
            ));
        }
        std::fs::write(out.join(format!("{slug}.svg")), &svg).map_err(|x| x.to_string())?;
        eprintln!("pictures: {slug}.svg, {} bytes", svg.len());
    }
    Ok(())
}

/// Chapter 9: held-out scene 0 as an 8 × 8 mosaic, and the boxes the
/// committed detector keeps on it, each cut into its pyramid's 2 × 2 and
/// 4 × 4 bins.
fn spp_faces(read: &dyn Fn(&str) -> Res<Vec<u8>>) -> Res<String> {
    use compute::{
        faces::{
            scenes::{background_path, scene, BACKGROUNDS, SIDE},
            Atlas, Grey, HELD_OUT_ATLAS, HELD_OUT_PEOPLE,
        },
        models::spp::{
            config::WEIGHTS_PATH as SPP_WEIGHTS,
            model::SppNet,
            windows::{grid, nms, score},
        },
    };
    let net = SppNet::load(&read(SPP_WEIGHTS)?).map_err(|x| x.to_string())?;
    let atlas = Atlas::from_png(&read(HELD_OUT_ATLAS)?, *HELD_OUT_PEOPLE.start())
        .map_err(|x| x.to_string())?;
    let backgrounds = BACKGROUNDS
        .iter()
        .map(|n| Grey::from_png(&read(&background_path(n))?).map_err(|x| x.to_string()))
        .collect::<Res<Vec<_>>>()?;
    let s = scene(&atlas, &backgrounds, 29, 0).map_err(|x| x.to_string())?;
    let windows = grid();
    let out = net
        .spp_pipeline_ref(&s.pixels, SIDE, SIDE, &windows)
        .map_err(|x| x.to_string())?;
    let kept = nms(&score(&windows, &out));
    let (tiles, tile) = (8, SIDE / 8);
    let mut body = String::new();
    for ty in 0..tiles {
        for tx in 0..tiles {
            let mut sum = 0.0;
            for y in ty * tile..(ty + 1) * tile {
                sum += s.pixels[y * SIDE + tx * tile..][..tile].iter().sum::<f32>();
            }
            let g = (255.0 * sum / (tile * tile) as f32) as u8;
            let _ = write!(
                body,
                r#"<rect x="{}" y="{}" width="{tile}" height="{tile}" fill="rgb({g},{g},{g})"/>"#,
                tx * tile,
                ty * tile
            );
        }
    }
    for k in kept.iter().filter(|k| k.score >= 0.5) {
        let [x, y, w, h] = k.bbox;
        let _ = write!(
            body,
            r#"<rect x="{}" y="{}" width="{}" height="{}" fill="none" stroke="{ACCENT}" stroke-width="2"/>"#,
            num(x),
            num(y),
            num(w),
            num(h)
        );
        for n in [2.0, 4.0] {
            for i in 1..n as usize {
                let f = i as f64 / n;
                let _ = write!(
                    body,
                    r#"<path d="M{} {}v{}M{} {}h{}" stroke="{ACCENT}" stroke-width="{}" fill="none"/>"#,
                    num(x + w * f),
                    num(y),
                    num(h),
                    num(x),
                    num(y + h * f),
                    num(w),
                    if n == 2.0 { "1" } else { "0.5" }
                );
            }
        }
    }
    Ok(svg(SIDE as u32, SIDE as u32, &body))
}

fn mnist_test(bytes: &[u8]) -> Res<(Vec<u8>, Vec<u8>)> {
    let st = SafeTensors::deserialize(bytes).map_err(|x| x.to_string())?;
    let get = |n: &str| {
        st.tensor(n)
            .map(|t| t.data().to_vec())
            .map_err(|x| x.to_string())
    };
    Ok((get("images")?, get("labels")?))
}

fn svg(width: u32, height: u32, body: &str) -> String {
    format!(
        r#"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" width="{width}" height="{height}"><rect width="{width}" height="{height}" fill="{PAPER}"/>{body}</svg>
"#
    )
}

/// Runs of ink along each row of a binary image, as one path's commands,
/// the image's pixel (x, y) at (left + x·scale, top + y·scale).
fn ink_path(
    ink: impl Fn(usize, usize) -> bool,
    side: (usize, usize),
    at: (f64, f64),
    scale: f64,
) -> String {
    let mut d = String::new();
    for y in 0..side.1 {
        let mut x = 0;
        while x < side.0 {
            if !ink(x, y) {
                x += 1;
                continue;
            }
            let start = x;
            while x < side.0 && ink(x, y) {
                x += 1;
            }
            let _ = write!(
                d,
                "M{} {}h{}v{}h-{}z",
                num(at.0 + start as f64 * scale),
                num(at.1 + y as f64 * scale),
                num((x - start) as f64 * scale),
                num(scale),
                num((x - start) as f64 * scale)
            );
        }
    }
    d
}

/// Short numbers: at most one decimal.
fn num(v: f64) -> String {
    let r = (v * 10.0).round() / 10.0;
    if r.fract() == 0.0 {
        format!("{}", r as i64)
    } else {
        format!("{r:.1}")
    }
}

/// Chapter 1: nine digits NADE samples, seeds 1 to 9, as the page draws them.
fn digits(weights: &[u8]) -> Res<String> {
    let model = ArModel::load(ArKind::Nade, weights).map_err(|x| x.to_string())?;
    let (cell, gap, scale) = (28.0 * 2.0, 4.0, 2.0);
    let mut d = String::new();
    for i in 0..9 {
        let mut chain = CpuChain::new(&model, &[0.0; PIXELS], 0, Mode::Sample { seed: i + 1 })
            .map_err(|x| x.to_string())?;
        let image = chain
            .advance(PIXELS)
            .map_err(|x| x.to_string())?
            .image
            .clone();
        let at = (
            gap + (i % 3) as f64 * (cell + gap),
            gap + (i / 3) as f64 * (cell + gap),
        );
        d += &ink_path(|x, y| image[y * 28 + x] > 0.5, (28, 28), at, scale);
    }
    let side = (gap + 3.0 * (cell + gap)) as u32;
    Ok(svg(side, side, &format!(r#"<path fill="{INK}" d="{d}"/>"#)))
}

/// Chapter 2: bytes of KV cache per token (bf16) for published models,
/// from the calculator's presets.
fn kv_bars(presets_json: &str) -> Res<String> {
    let presets = parse_presets(presets_json)?;
    let names = [
        "Llama-2-7B",
        "Falcon-7B",
        "Llama-3.1-8B",
        "Gemma-2-9B",
        "DeepSeek-V2",
    ];
    let mut rows = Vec::new();
    for name in names {
        let p = presets
            .iter()
            .find(|p| p.name == name)
            .ok_or_else(|| format!("no preset {name}"))?;
        rows.push((name, p.attention.clone(), p.config()?.bytes_per_token()));
    }
    let max = rows.iter().map(|r| r.2).max().unwrap_or(1) as f64;
    let (width, bar_left, bar_max, row_h) = (300.0, 96.0, 150.0, 30.0);
    let mut body = String::new();
    for (i, (name, attention, bytes)) in rows.iter().enumerate() {
        let y = 12.0 + i as f64 * row_h;
        let w = (*bytes as f64 / max * bar_max).max(1.0);
        let _ = write!(
            body,
            r#"<text x="4" y="{ty}" font-size="11" fill="{INK}">{name}</text><text x="4" y="{ay}" font-size="9" fill="{MUTED}">{attention}</text><rect x="{bar_left}" y="{y}" width="{w}" height="14" fill="{ACCENT}"/><text x="{lx}" y="{ty}" font-size="10" fill="{INK}">{kib} KiB</text>"#,
            ty = num(y + 11.0),
            ay = num(y + 22.0),
            y = num(y),
            w = num(w),
            lx = num(bar_left + w + 4.0),
            kib = num(*bytes as f64 / 1024.0),
        );
    }
    let height = (12.0 + rows.len() as f64 * row_h) as u32;
    Ok(svg(width as u32, height, &body))
}

/// Chapter 3: a scene of test digits (seed 3) and the boxes the committed
/// detector draws on it, with their digits.
fn detr_scene(weights: &[u8], images: &[u8], labels: &[u8]) -> Res<String> {
    let detr = Detr::load(weights).map_err(|x| x.to_string())?;
    let mut rng = SplitMix64::new(3);
    let scene = generate_scene(images, labels, &mut rng);
    let trace = detr.forward_ref(&scene.pixels).map_err(|x| x.to_string())?;
    let scale = 2.0;
    let canvas = 96;
    let mut body = format!(
        r#"<path fill="{INK}" d="{}"/>"#,
        ink_path(
            |x, y| scene.pixels[y * canvas + x] > 0.5,
            (canvas, canvas),
            (0.0, 0.0),
            scale
        )
    );
    for q in trace.queries().iter().filter(|q| q.score >= 0.5) {
        let [x, y, w, h] = q.bbox;
        let _ = write!(
            body,
            r#"<rect x="{}" y="{}" width="{}" height="{}" fill="none" stroke="{ACCENT}" stroke-width="2"/><text x="{}" y="{}" font-size="12" fill="{ACCENT}">{}</text>"#,
            num(x * scale),
            num(y * scale),
            num(w * scale),
            num(h * scale),
            num(x * scale + 2.0),
            num((y * scale - 3.0).max(11.0)),
            q.label
        );
    }
    let side = canvas as u32 * scale as u32;
    Ok(svg(side, side, &body))
}

fn llama(read: &dyn Fn(&str) -> Res<Vec<u8>>) -> Res<(Arc<Llama>, CharTokenizer)> {
    let config: LlamaConfig =
        serde_json::from_slice(&read(CONFIG_PATH)?).map_err(|x| x.to_string())?;
    let tokenizer = CharTokenizer::from_json(&read(TOKENIZER_PATH)?).map_err(|x| x.to_string())?;
    let model = Llama::load(config, &read(WEIGHTS_PATH)?).map_err(|x| x.to_string())?;
    Ok((Arc::new(model), tokenizer))
}

/// Chapter 4: a five-character quatrain the tiny LLaMA writes (the page's
/// sampling, seed 1), one line per row.
fn poem(read: &dyn Fn(&str) -> Res<Vec<u8>>) -> Res<String> {
    let (model, tokenizer) = llama(read)?;
    let sampling = Sampling {
        temperature: 0.8,
        top_k: 0,
        top_p: 1.0,
    };
    let trace = generate_cpu(&model, &Generation::poem(Form::Wujue, sampling, 1))
        .map_err(|x| x.to_string())?;
    let text = tokenizer.decode(trace.poem_ids());
    let mut lines = Vec::new();
    let mut line = String::new();
    for c in text.chars().filter(|c| !c.is_ascii() && *c != '\u{0}') {
        line.push(c);
        if c == '，' || c == '。' {
            lines.push(std::mem::take(&mut line));
        }
    }
    if !line.is_empty() {
        lines.push(line);
    }
    let mut body = String::new();
    for (i, l) in lines.iter().enumerate() {
        let _ = write!(
            body,
            r#"<text x="20" y="{}" font-size="22" fill="{INK}" font-family="serif">{l}</text>"#,
            34 + i * 34
        );
    }
    Ok(svg(180, 34 * lines.len() as u32 + 16, &body))
}

/// Chapter 5: the loss of 40 LoRA steps with the page's defaults (rank 4 on
/// W_q and W_v, lr 0.002, batches of 8) on the first held-out poet, on the
/// CPU as the page's fallback trains.
fn lora_curve(read: &dyn Fn(&str) -> Res<Vec<u8>>) -> Res<String> {
    let (model, tokenizer) = llama(read)?;
    let corpus = decode_corpus(&read(CORPUS_PATH)?).map_err(|x| x.to_string())?;
    let poet = PoetData::new(&tokenizer, &corpus, HELD_OUT_POETS[0]);
    let steps = 40;
    let plan = poet.train.plan(PAGE_BATCH, steps, LORA_SEED);
    let adapter = Adapter::init(&model.config, PAGE_DEFAULT, LORA_SEED);
    let frozen = Frozen::new(&model).map_err(|x| x.to_string())?;
    let mut trainer = CpuTrainer::new(
        frozen,
        adapter,
        compute::reference::backprop::AdamW::with_lr(PAGE_LR),
    );
    let mut losses = Vec::with_capacity(steps);
    for batch in &plan {
        losses.push(trainer.step(batch).map_err(|x| x.to_string())? as f64);
    }
    let (lo, hi) = losses
        .iter()
        .fold((f64::MAX, f64::MIN), |(lo, hi), &l| (lo.min(l), hi.max(l)));
    let (w, h, left, top, plot_w, plot_h) = (300.0, 160.0, 40.0, 14.0, 248.0, 116.0);
    let points: Vec<String> = losses
        .iter()
        .enumerate()
        .map(|(i, l)| {
            format!(
                "{},{}",
                num(left + i as f64 / (steps - 1) as f64 * plot_w),
                num(top + (hi - l) / (hi - lo).max(1e-9) * plot_h)
            )
        })
        .collect();
    let body = format!(
        r#"<path d="M{left} {top}v{plot_h}h{plot_w}" fill="none" stroke="{MUTED}"/><polyline points="{}" fill="none" stroke="{ACCENT}" stroke-width="2"/><text x="2" y="{}" font-size="10" fill="{INK}">{:.2}</text><text x="2" y="{}" font-size="10" fill="{INK}">{:.2}</text><text x="{left}" y="{}" font-size="10" fill="{MUTED}">1</text><text x="{}" y="{}" font-size="10" fill="{MUTED}">{steps}</text>"#,
        points.join(" "),
        num(top + 4.0),
        hi,
        num(top + plot_h),
        lo,
        num(top + plot_h + 14.0),
        num(left + plot_w - 10.0),
        num(top + plot_h + 14.0),
    );
    Ok(svg(w as u32, h as u32, &body))
}

/// Chapter 6: the start of 明月's posting list in the committed corpus: the
/// poems' ids, and the gaps between them that the index stores.
fn posting_list(read: &dyn Fn(&str) -> Res<Vec<u8>>) -> Res<String> {
    let table = String::from_utf8_lossy(&read("tokenizer/opencc-st-characters.txt")?).into_owned();
    let fold = ScriptFold::from_opencc(&table);
    let poems = decode_corpus(&read(CORPUS_PATH)?).map_err(|x| x.to_string())?;
    let index = Index::build(&corpus_docs(&poems, &fold), Segmentation::Bigrams)
        .map_err(|x| x.to_string())?;
    let postings = index.postings("明月").map_err(|x| x.to_string())?;
    let shown = 6;
    let mut body = format!(
        r#"<text x="8" y="22" font-size="16" fill="{INK}">明月 · {}</text>"#,
        postings.ids.len()
    );
    let mut previous = 0;
    for (i, id) in postings.ids.iter().take(shown).enumerate() {
        let x = 8.0 + i as f64 * 48.0;
        let _ = write!(
            body,
            r#"<rect x="{}" y="36" width="44" height="26" rx="4" fill="white" stroke="{ACCENT}"/><text x="{}" y="54" font-size="11" text-anchor="middle" fill="{INK}">{id}</text><text x="{}" y="80" font-size="10" text-anchor="middle" fill="{MUTED}">+{}</text>"#,
            num(x),
            num(x + 22.0),
            num(x + 22.0),
            id - previous,
        );
        previous = *id;
    }
    Ok(svg(300, 90, &body))
}

/// Chapter 7: per instruction type, the share of held-out instructions the
/// base (muted) and the tuned model (accent) follow, from the trainer's
/// metrics.
/// Chapter 8: the frontier, mean true reward against KL, best-of-N's line
/// in grey, DPO's and PPO's runs as dots.
fn align_frontier(read: &dyn Fn(&str) -> Res<Vec<u8>>) -> Res<String> {
    use compute::align::metrics::{Metrics, METRICS_PATH};
    let m = Metrics::parse(&read(METRICS_PATH)?)?;
    let evals: Vec<(&str, &compute::align::metrics::Eval)> = std::iter::once(("base", &m.base))
        .chain(m.best_of_n.iter().map(|e| ("bon", e)))
        .chain(m.runs.iter().map(|r| (r.method.as_str(), &r.eval)))
        .collect();
    let max_kl = evals.iter().map(|(_, e)| e.kl).fold(1.0, f64::max);
    let (lo, hi) = evals
        .iter()
        .map(|(_, e)| e.mean_reward)
        .fold((f64::MAX, f64::MIN), |(a, b), v| (a.min(v), b.max(v)));
    let (left, bottom, w, h) = (24.0, 150.0, 256.0, 130.0);
    let x = |kl: f64| left + kl / max_kl * w;
    let y = |r: f64| bottom - (r - lo) / (hi - lo).max(1e-9) * h;
    let mut body = format!(
        r#"<path d="M{left} {bottom}h{w}M{left} {bottom}v-{h}" stroke="{MUTED}" fill="none"/>"#
    );
    let line: Vec<String> = evals
        .iter()
        .filter(|(k, _)| matches!(*k, "base" | "bon"))
        .map(|(_, e)| format!("{},{}", num(x(e.kl)), num(y(e.mean_reward))))
        .collect();
    let _ = write!(
        body,
        r#"<polyline points="{}" stroke="{MUTED}" fill="none"/>"#,
        line.join(" ")
    );
    for (kind, e) in &evals {
        let colour = match *kind {
            "dpo" => ACCENT,
            "ppo" | "ppo-oracle" => "#b3261e",
            _ => MUTED,
        };
        let _ = write!(
            body,
            r#"<circle cx="{}" cy="{}" r="5" fill="{colour}"/>"#,
            num(x(e.kl)),
            num(y(e.mean_reward))
        );
    }
    Ok(svg(300, 176, &body))
}

fn instruct_bars(read: &dyn Fn(&str) -> Res<Vec<u8>>) -> Res<String> {
    let metrics: serde_json::Value =
        serde_json::from_slice(&read(compute::instruct::model::METRICS_PATH)?)
            .map_err(|x| x.to_string())?;
    let table = &metrics["accuracy"]["table"]["per_kind"];
    let labels = ["体裁", "含字", "避字", "藏头", "续写"];
    let (left, bottom, bar_h) = (20.0, 150.0, 120.0);
    let mut body = format!(r#"<path d="M{left} {bottom}h260" stroke="{MUTED}"/>"#);
    for (i, kind) in compute::instruct::Kind::ALL.iter().enumerate() {
        let row = &table[kind.name()];
        let x = left + 8.0 + i as f64 * 52.0;
        for (j, (key, colour)) in [("base", MUTED), ("tuned", ACCENT)].iter().enumerate() {
            let v = row[*key].as_f64().unwrap_or(0.0);
            let h = v * bar_h;
            let _ = write!(
                body,
                r#"<rect x="{}" y="{}" width="18" height="{}" fill="{colour}"/>"#,
                num(x + j as f64 * 20.0),
                num(bottom - h),
                num(h)
            );
        }
        let _ = write!(
            body,
            r#"<text x="{}" y="{}" font-size="12" fill="{INK}" font-family="serif">{}</text>"#,
            num(x + 2.0),
            num(bottom + 16.0),
            labels[i]
        );
    }
    Ok(svg(300, 176, &body))
}
