//! The KV-cache calculator: presets from published configurations, every
//! input in the URL, exact byte counts, charts, and DeepSeek-V2's tables
//! recomputed by the same code.

use compute::kv_cache::{
    deepseek_table1, deepseek_table9, parse_presets, Dtype, KvConfig, Preset, Variant, WindowLayers,
};
use std::{cell::RefCell, rc::Rc};

use compute::tokenizer::Gpt2Tokenizer;
use leptos::{prelude::*, task::spawn_local};

use super::{KvState, MAX_COUNT};
use crate::{
    assets::{fetch_asset, manifest},
    format::{group, human_bytes},
    math::Prose,
    url_state::use_widget_state,
    widgets::UrlNotices,
};

/// The published shapes, compiled in (they are part of the page's text).
const PRESETS_JSON: &str = include_str!("../../../../assets/reference/kv-cache-models.json");

fn presets() -> Vec<Preset> {
    // The file is committed and parsed by compute's tests; an error here is a build bug.
    parse_presets(PRESETS_JSON).unwrap_or_default()
}

#[component]
pub fn KvCalculator() -> impl IntoView {
    let (parsed, write) = use_widget_state::<KvState>();
    let state = Memo::new(move |_| parsed.read().state.clone());
    let notices = Signal::derive(move || parsed.read().notices.clone());
    let config = Memo::new(move |_| state.get().config());
    let all_presets = StoredValue::new(presets());

    let number = {
        let write = write.clone();
        move |name: &'static str,
              label: &'static str,
              get: fn(&KvState) -> u64,
              set: fn(&mut KvState, u64)| {
            let write = write.clone();
            view! {
                <label>
                    <span><Prose text=label/></span>
                    <input
                        type="number"
                        min="0"
                        max=MAX_COUNT
                        data-testid=format!("kv-{name}")
                        prop:value=move || get(&state.get())
                        on:change=move |ev| {
                            let mut next = state.get_untracked();
                            if let Ok(v) = event_target_value(&ev).trim().parse::<u64>() {
                                set(&mut next, v.min(MAX_COUNT));
                                next.preset.clear();
                            }
                            write(next);
                        }
                    />
                </label>
            }
        }
    };
    let write_preset = write.clone();
    let write_variant = write.clone();
    let write_dtype = write.clone();
    let write_wl = write.clone();
    let write_mem = write.clone();
    let write_weights = write.clone();

    view! {
        <section class="widget" data-testid="kv-calculator" aria-labelledby="kv-calculator-title">
            <h2 id="kv-calculator-title">"KV-cache calculator"</h2>
            <p>
                "How many bytes each token leaves behind in every layer's key/value cache, for real models "
                "or your own. Every input is in the page's URL, so a link reproduces the numbers."
            </p>
            <UrlNotices notices=notices/>
            <form class="controls" on:submit=|ev| ev.prevent_default()>
                <label>
                    <span>"Preset"</span>
                    <select
                        data-testid="kv-preset"
                        on:change=move |ev| {
                            let name = event_target_value(&ev);
                            let Some(p) = all_presets.with_value(|ps| ps.iter().find(|p| p.name == name).cloned()) else { return };
                            let Ok(next) = state.get_untracked().with_preset(&p) else { return };
                            write_preset(next);
                        }
                    >
                        <option value="" selected=move || state.get().preset.is_empty()>"Custom"</option>
                        {move || all_presets.get_value().into_iter().map(|p| {
                            let (value, name) = (p.name.clone(), p.name.clone());
                            view! { <option value=value selected=move || state.get().preset == name>{p.name}</option> }
                        }).collect_view()}
                    </select>
                </label>
                <label>
                    <span>"Attention"</span>
                    <select
                        data-testid="kv-variant"
                        on:change=move |ev| {
                            let mut next = state.get_untracked();
                            next.variant = match event_target_value(&ev).as_str() {
                                "mha" => Variant::Mha,
                                "mqa" => Variant::Mqa,
                                "mla" => Variant::Mla,
                                _ => Variant::Gqa,
                            };
                            next.preset.clear();
                            write_variant(next);
                        }
                    >
                        {Variant::ALL.into_iter().map(|v| view! {
                            <option value=v.label().to_lowercase() selected=move || state.get().variant == v>{v.label()}</option>
                        }).collect_view()}
                    </select>
                </label>
                {number("layers", "Layers", |s| s.layers, |s, v| s.layers = v)}
                {number("heads", "Query heads $n_h$", |s| s.heads, |s, v| s.heads = v)}
                {number("kv-heads", "KV heads $n_g$ (GQA)", |s| s.kv_heads, |s, v| s.kv_heads = v)}
                {number("head-dim", "Head dim $d_h$", |s| s.head_dim, |s, v| s.head_dim = v)}
                {number("kv-lora-rank", "MLA $d_c$", |s| s.kv_lora_rank, |s, v| s.kv_lora_rank = v)}
                {number("rope-dim", "MLA $d_h^R$", |s| s.rope_dim, |s, v| s.rope_dim = v)}
                <label>
                    <span>"Cache dtype"</span>
                    <select
                        data-testid="kv-dtype"
                        on:change=move |ev| {
                            let mut next = state.get_untracked();
                            next.dtype = Dtype::ALL.into_iter().find(|d| d.label() == event_target_value(&ev)).unwrap_or(Dtype::Bf16);
                            write_dtype(next);
                        }
                    >
                        {Dtype::ALL.into_iter().map(|d| view! {
                            <option value=d.label() selected=move || state.get().dtype == d>{d.label()}</option>
                        }).collect_view()}
                    </select>
                </label>
                {number("context", "Context (tokens)", |s| s.context, |s, v| s.context = v)}
                {number("batch", "Batch", |s| s.batch, |s, v| s.batch = v)}
                {number("window", "Sliding window (0 = none)", |s| s.window, |s, v| s.window = v)}
                <label>
                    <span>"Window on"</span>
                    <select
                        data-testid="kv-window-layers"
                        on:change=move |ev| {
                            let mut next = state.get_untracked();
                            next.window_layers = if event_target_value(&ev) == "alternate" { WindowLayers::Alternate } else { WindowLayers::All };
                            write_wl(next);
                        }
                    >
                        <option value="all" selected=move || state.get().window_layers == WindowLayers::All>"all layers"</option>
                        <option value="alternate" selected=move || state.get().window_layers == WindowLayers::Alternate>"alternate layers (Gemma 2)"</option>
                    </select>
                </label>
                <label>
                    <span>"GPU memory (GB)"</span>
                    <input type="number" min="0" step="any" data-testid="kv-memory"
                        prop:value=move || state.get().memory_gb
                        on:change=move |ev| {
                            let mut next = state.get_untracked();
                            if let Ok(v) = event_target_value(&ev).trim().parse::<f64>() { next.memory_gb = v.clamp(0.0, 1e6); }
                            write_mem(next);
                        }/>
                </label>
                <label>
                    <span>"Weights (GB)"</span>
                    <input type="number" min="0" step="any" data-testid="kv-weights"
                        prop:value=move || state.get().weights_gb
                        on:change=move |ev| {
                            let mut next = state.get_untracked();
                            if let Ok(v) = event_target_value(&ev).trim().parse::<f64>() { next.weights_gb = v.clamp(0.0, 1e6); }
                            write_weights(next);
                        }/>
                </label>
            </form>
            {move || {
                let s = state.get();
                all_presets.with_value(|ps| ps.iter().find(|p| p.name == s.preset).map(|p| view! {
                    <p class="note" data-testid="kv-preset-source">{format!("{}: {}", p.name, p.source)}</p>
                }))
            }}
            {move || config.get().warning().map(|w| view! { <p class="notices" role="status">{w}</p> })}
            <KvOutputs state config/>
            <TokenCounter config/>
            <CacheChart config/>
            <PresetBars/>
            <DeepSeekTables/>
        </section>
    }
}

#[component]
fn KvOutputs(state: Memo<KvState>, config: Memo<KvConfig>) -> impl IntoView {
    let fits = move || {
        let s = state.get();
        let free = ((s.memory_gb - s.weights_gb) * 1e9).max(0.0) as u64;
        config.get().max_context(free)
    };
    view! {
        <dl class="result kv-result">
            <dt>"Elements per token per layer"</dt>
            <dd data-testid="kv-elems-per-token-layer" data-value=move || config.get().elems_per_token_layer().to_string()>
                {move || {
                    let c = config.get();
                    let formula = match c.variant {
                        Variant::Mha => format!("$2 n_h d_h$ = 2 · {} · {}", c.heads, c.head_dim),
                        Variant::Gqa => format!("$2 n_g d_h$ = 2 · {} · {}", c.kv_heads, c.head_dim),
                        Variant::Mqa => format!("$2 d_h$ = 2 · {}", c.head_dim),
                        Variant::Mla => format!("$d_c + d_h^R$ = {} + {}", c.kv_lora_rank, c.rope_dim),
                    };
                    view! { <Prose text=format!("{} ({formula})", group(c.elems_per_token_layer()))/> }
                }}
            </dd>
            <dt>"Bytes per token (all layers)"</dt>
            <dd data-testid="kv-bytes-per-token" data-value=move || config.get().bytes_per_token().to_string()>
                {move || {
                    let c = config.get();
                    format!("{} ({} B = {} elements × {} layers × {} bits / 8)", human_bytes(c.bytes_per_token()), group(c.bytes_per_token()), group(c.elems_per_token_layer()), c.layers, c.dtype.bits())
                }}
            </dd>
            <dt>"Cache for context × batch"</dt>
            <dd data-testid="kv-bytes-total" data-value=move || config.get().total_bytes().to_string()>
                {move || {
                    let c = config.get();
                    let capped = if c.windowed_layers() > 0 && c.window < c.context {
                        format!(", {} of {} layers capped at {} tokens", c.windowed_layers(), c.layers, group(c.window))
                    } else {
                        String::new()
                    };
                    format!("{} ({} B for {} tokens × batch {}{capped})", human_bytes(c.total_bytes()), group(c.total_bytes()), group(c.context), c.batch)
                }}
            </dd>
            <dt>"Longest context that fits"</dt>
            <dd data-testid="kv-max-context" data-value=move || fits().map(|v| v.to_string()).unwrap_or_else(|| "unbounded".into())>
                {move || {
                    let s = state.get();
                    match fits() {
                        Some(0) => format!("none: {} GB of memory leaves no room after {} GB of weights", s.memory_gb, s.weights_gb),
                        Some(t) => format!("{} tokens at batch {} in {} GB after {} GB of weights", group(t), s.batch, s.memory_gb, s.weights_gb),
                        None => "unbounded: the window caps every layer's cache".into(),
                    }
                }}
            </dd>
        </dl>
    }
}

/// The chart with this id as an SVG data URL.
fn svg_data_url(target: &str) -> String {
    let svg = document()
        .get_element_by_id(target)
        .map(|e| e.outer_html())
        .unwrap_or_default();
    format!(
        "data:image/svg+xml;charset=utf-8,{}",
        String::from(js_sys::encode_uri_component(&svg))
    )
}

/// Renders the SVG at 2× onto a canvas (crisp on a projector) and downloads it as PNG.
fn download_png(target: &'static str, file: &'static str) {
    use wasm_bindgen::JsCast;
    let Ok(img) = web_sys::HtmlImageElement::new() else {
        return;
    };
    let loaded = img.clone();
    let onload = gloo_events::EventListener::once(&img, "load", move |_| {
        let (w, h) = (loaded.natural_width() * 2, loaded.natural_height() * 2);
        let Some(canvas) = document()
            .create_element("canvas")
            .ok()
            .and_then(|c| c.dyn_into::<web_sys::HtmlCanvasElement>().ok())
        else {
            return;
        };
        canvas.set_width(w);
        canvas.set_height(h);
        let ctx = canvas
            .get_context("2d")
            .ok()
            .flatten()
            .and_then(|c| c.dyn_into::<web_sys::CanvasRenderingContext2d>().ok());
        let Some(ctx) = ctx else { return };
        let _ = ctx.draw_image_with_html_image_element_and_dw_and_dh(
            &loaded, 0.0, 0.0, w as f64, h as f64,
        );
        if let Ok(url) = canvas.to_data_url_with_type("image/png") {
            if let Some(a) = document()
                .create_element("a")
                .ok()
                .and_then(|a| a.dyn_into::<web_sys::HtmlAnchorElement>().ok())
            {
                a.set_href(&url);
                a.set_download(file);
                a.click();
            }
        }
    });
    // The listener lives until the image loads, then removes itself.
    onload.forget();
    img.set_src(&svg_data_url(target));
}

/// Download links for the chart with this id: SVG, and PNG at 2×.
#[component]
fn SvgDownload(target: &'static str, file: &'static str, png: &'static str) -> impl IntoView {
    let href = RwSignal::new(String::new());
    let prepare = move || href.set(svg_data_url(target));
    view! {
        <a class="download" href=move || href.get() download=file on:pointerdown=move |_| prepare() on:focus=move |_| prepare()>
            "Download SVG"
        </a>
        <button type="button" class="link-button" on:click=move |_| download_png(target, png)>"Download PNG"</button>
    }
}

/// Cache size against context for the four variants at this model's shape.
#[component]
fn CacheChart(config: Memo<KvConfig>) -> impl IntoView {
    const W: f64 = 640.0;
    const H: f64 = 300.0;
    const L: f64 = 70.0;
    const B: f64 = 40.0;
    let series = move || {
        let c = config.get();
        let max_ctx = c.context.max(2);
        let lines: Vec<(Variant, Vec<(u64, u64)>)> = Variant::ALL
            .into_iter()
            .map(|v| {
                let cv = KvConfig { variant: v, ..c };
                let pts = (0..=32)
                    .map(|k| {
                        let t = max_ctx * k / 32;
                        (t, cv.bytes_at(t))
                    })
                    .collect();
                (v, pts)
            })
            .collect();
        let ymax = lines
            .iter()
            .flat_map(|(_, p)| p.iter().map(|&(_, b)| b))
            .max()
            .unwrap_or(1)
            .max(1);
        (max_ctx, ymax, lines)
    };
    let colour = |v: Variant| match v {
        Variant::Mha => "#b91c1c",
        Variant::Gqa => "#1d4ed8",
        Variant::Mqa => "#047857",
        Variant::Mla => "#7c3aed",
    };
    // The dark theme's colours for the same series (style.css).
    let series_class = |v: Variant| match v {
        Variant::Mha => "series-mha",
        Variant::Gqa => "series-gqa",
        Variant::Mqa => "series-mqa",
        Variant::Mla => "series-mla",
    };
    view! {
        <figure class="chart">
            {move || {
                let (max_ctx, ymax, lines) = series();
                let x = move |t: u64| L + (W - L - 10.0) * t as f64 / max_ctx as f64;
                let y = move |b: u64| H - B - (H - B - 10.0) * b as f64 / ymax as f64;
                view! {
                    <svg id="kv-chart" xmlns="http://www.w3.org/2000/svg" viewBox=format!("0 0 {W} {H}") role="img"
                        aria-label="KV cache size against context length for MHA, GQA, MQA and MLA" data-testid="kv-chart">
                        <rect width=W height=H fill="white" class="chart-bg"/>
                        <line x1=L y1=H - B x2=W - 10.0 y2=H - B stroke="#444" class="chart-axis"/>
                        <line x1=L y1=10 x2=L y2=H - B stroke="#444" class="chart-axis"/>
                        <text x=L y=H - 12.0 font-size="12" fill="#222" class="chart-text">"0"</text>
                        <text x=W - 10.0 y=H - 12.0 font-size="12" text-anchor="end" fill="#222" class="chart-text">{format!("{} tokens", group(max_ctx))}</text>
                        <text x=L - 6.0 y=16 font-size="12" text-anchor="end" fill="#222" class="chart-text">{human_bytes(ymax)}</text>
                        <text x=L - 6.0 y=H - B font-size="12" text-anchor="end" fill="#222" class="chart-text">"0"</text>
                        {lines.into_iter().enumerate().map(|(k, (v, pts))| {
                            let d = pts.iter().enumerate().map(|(i, &(t, b))| format!("{}{:.1},{:.1}", if i == 0 { "M" } else { " L" }, x(t), y(b))).collect::<String>();
                            let last = pts.last().map_or(0, |p| p.1);
                            view! {
                                <path d=d fill="none" stroke=colour(v) stroke-width="2.5" class=series_class(v)/>
                                <text x=L + 10.0 y=24.0 + 16.0 * k as f64 font-size="13" fill=colour(v) class=series_class(v)>
                                    {format!("{}: {}", v.label(), human_bytes(last))}
                                </text>
                            }
                        }).collect_view()}
                    </svg>
                }
            }}
            <figcaption>
                "Cache against context at this model's shape and batch, one line per variant. "
                <SvgDownload target="kv-chart" file="kv-cache-by-context.svg" png="kv-cache-by-context.png"/>
            </figcaption>
        </figure>
    }
}

/// Bytes per token of every preset, in bf16.
#[component]
fn PresetBars() -> impl IntoView {
    let rows: Vec<(String, String, u64)> = presets()
        .into_iter()
        .filter_map(|p| {
            p.config()
                .ok()
                .map(|c| (p.name, p.attention, c.bytes_per_token()))
        })
        .collect();
    let max = rows.iter().map(|r| r.2).max().unwrap_or(1).max(1) as f64;
    let row_h = 22.0;
    let h = 20.0 + row_h * rows.len() as f64;
    view! {
        <figure class="chart">
            <svg id="kv-presets" xmlns="http://www.w3.org/2000/svg" viewBox=format!("0 0 640 {h}") role="img"
                aria-label="Bytes per token of each preset model in bf16" data-testid="kv-presets-chart">
                <rect width="640" height=h fill="white" class="chart-bg"/>
                {rows.into_iter().enumerate().map(|(i, (name, attn, b))| {
                    let y = 10.0 + row_h * i as f64;
                    let w = 300.0 * b as f64 / max;
                    view! {
                        <text x="150" y=y + 15.0 font-size="12" text-anchor="end" fill="#222" class="chart-text">{format!("{name} ({attn})")}</text>
                        <rect x="158" y=y + 3.0 width=w.max(1.0) height=row_h - 6.0 fill="#1d4ed8" class="series-gqa"/>
                        <text x=164.0 + w y=y + 15.0 font-size="12" fill="#222" class="chart-text">{human_bytes(b)}</text>
                    }
                }).collect_view()}
            </svg>
            <figcaption>
                "KV cache per token of each preset, bf16, from the published configurations. "
                <SvgDownload target="kv-presets" file="kv-cache-presets.svg" png="kv-cache-presets.png"/>
            </figcaption>
        </figure>
    }
}

/// DeepSeek-V2's Tables 1 and 9, recomputed.
#[component]
fn DeepSeekTables() -> impl IntoView {
    let t1 = deepseek_table1(128, 8, 128, 60);
    let unit = (128 * 60) as f64;
    let t9 = deepseek_table9();
    let k = |c: &KvConfig| format!("{:.1}K", c.elems_per_token() as f64 / 1000.0);
    view! {
        <div class="deepseek-tables">
        <h3>"Cross-check: DeepSeek-V2, Tables 1 and 9"</h3>
        <div class="table-scroll">
            <table data-testid="kv-deepseek-table1">
                <caption><Prose text="Table 1: KV elements per token, with $d_c = 4 d_h$ and $d_h^R = d_h/2$ (here $d_h = 128$, $l = 60$, $n_h = 128$, $n_g = 8$)"/></caption>
                <thead><tr><th scope="col">"Variant"</th><th scope="col">"Formula"</th><th scope="col">"Elements"</th><th scope="col"><Prose text="In $d_h l$"/></th></tr></thead>
                <tbody>
                    {t1.into_iter().map(|(v, e)| {
                        let formula = match v {
                            Variant::Mha => "$2 n_h d_h l$",
                            Variant::Gqa => "$2 n_g d_h l$",
                            Variant::Mqa => "$2 d_h l$",
                            Variant::Mla => "$(d_c + d_h^R)\\, l \\approx 9/2\\, d_h l$",
                        };
                        view! { <tr><th scope="row">{v.label()}</th><td><Prose text=formula/></td><td>{group(e)}</td><td>{format!("{}", e as f64 / unit)}</td></tr> }
                    }).collect_view()}
                </tbody>
            </table>
            <p class="note"><Prose text="MLA's $4.5\\, d_h l$ equals GQA with 2.25 groups (2 · 2.25 = 4.5)."/></p>
            <table data-testid="kv-deepseek-table9">
                <caption>"Table 9: KV elements per token of the ablation models (paper: 110.6K vs 15.6K and 860.2K vs 34.6K)"</caption>
                <thead><tr><th scope="col">"Model"</th><th scope="col">"MHA"</th><th scope="col">"MLA"</th><th scope="col">"Shapes"</th></tr></thead>
                <tbody>
                    {t9.into_iter().map(|(name, mha, mla)| view! {
                        <tr>
                            <th scope="row">{name}</th>
                            <td data-value=mha.elems_per_token().to_string()>{k(&mha)}</td>
                            <td data-value=mla.elems_per_token().to_string()>{k(&mla)}</td>
                            <td>{format!("{} layers; MHA {} heads × {}; MLA d_c {} + d_h^R {}", mha.layers, mha.heads, mha.head_dim, mla.kv_lora_rank, mla.rope_dim)}</td>
                        </tr>
                    }).collect_view()}
                </tbody>
            </table>
        </div>
        </div>
    }
}

thread_local! {
    static TOKENIZER: RefCell<Option<Rc<Gpt2Tokenizer>>> = const { RefCell::new(None) };
}

/// GPT-2's tokenizer, downloaded (1.8 MB) the first time it is needed.
async fn gpt2(on_progress: impl FnMut(u64, u64)) -> Result<Rc<Gpt2Tokenizer>, String> {
    if let Some(t) = TOKENIZER.with(|t| t.borrow().clone()) {
        return Ok(t);
    }
    let m = manifest().await.map_err(|e| e.to_string())?;
    let bytes = fetch_asset("tokenizer/gpt2.json", &m, on_progress)
        .await
        .map_err(|e| e.to_string())?;
    let t = Rc::new(Gpt2Tokenizer::from_json(&bytes).map_err(|e| e.to_string())?);
    TOKENIZER.with(|slot| *slot.borrow_mut() = Some(t.clone()));
    Ok(t)
}

/// Paste a prompt: GPT-2's tokenizer counts it, and the selected model's
/// cache for that many tokens is computed.
#[component]
fn TokenCounter(config: Memo<KvConfig>) -> impl IntoView {
    let text = RwSignal::new(String::from(
        "Paste a prompt here. Each token it becomes leaves keys and values behind in every layer.",
    ));
    let count = RwSignal::new(None::<Result<usize, String>>);
    let progress = RwSignal::new((0u64, 0u64));
    let run = move |_| {
        let t = text.get_untracked();
        count.set(None);
        spawn_local(async move {
            let result = match gpt2(move |l, total| progress.set((l, total))).await {
                Ok(tok) => tok.count(&t).map_err(|e| e.to_string()),
                Err(e) => Err(e),
            };
            count.set(Some(result));
        });
    };
    view! {
        <div class="token-counter">
            <h3>"What does a prompt cost?"</h3>
            <label class="stacked">
                <span>"Prompt (counted with GPT-2's byte-level BPE, 50,257 tokens)"</span>
                <textarea
                    rows="4"
                    data-testid="kv-token-text"
                    prop:value=move || text.get()
                    on:input=move |ev| text.set(event_target_value(&ev))
                ></textarea>
            </label>
            <button type="button" data-testid="kv-token-run" on:click=run>"Count tokens"</button>
            {move || {
                let (l, t) = progress.get();
                (t > 0 && l < t).then(|| view! {
                    <p role="status">"Downloading the tokenizer… " <progress max=t value=l></progress></p>
                })
            }}
            {move || count.get().map(|r| match r {
                Ok(n) => {
                    let c = KvConfig { context: n as u64, ..config.get() };
                    let bytes = c.total_bytes();
                    view! {
                        <p role="status">
                            <span data-testid="kv-token-count" data-value=n.to_string()>{format!("{} tokens", group(n as u64))}</span>
                            " leave "
                            <span data-testid="kv-token-bytes" data-value=bytes.to_string()>{format!("{} ({} B)", human_bytes(bytes), group(bytes))}</span>
                            {format!(" of cache in this model at batch {}.", c.batch)}
                        </p>
                    }
                    .into_any()
                }
                Err(e) => view! { <p class="error" role="alert">{format!("Could not count: {e}")}</p> }.into_any(),
            })}
        </div>
    }
}
