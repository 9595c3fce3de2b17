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
    i18n::{t, t_string, td_string, use_i18n, Locale},
    shell::{
        assets::{fetch_asset, manifest},
        format::fill,
        format::{group, human_bytes},
        math::Prose,
        url_state::use_widget_state,
        widget::UrlNotices,
    },
};

/// The published shapes, compiled in (they are part of the page's text).
const PRESETS_JSON: &str = include_str!("../../../../../assets/reference/kv-cache-models.json");

fn presets() -> Vec<Preset> {
    // The file is committed and parsed by compute's tests; an error here is a build bug.
    parse_presets(PRESETS_JSON).unwrap_or_default()
}

#[component]
pub fn KvCalculator() -> impl IntoView {
    let i18n = use_i18n();
    let (parsed, write) = use_widget_state::<KvState>();
    let state = Memo::new(move |_| parsed.read().state.clone());
    let notices = Signal::derive(move || parsed.read().notices.clone());
    let config = Memo::new(move |_| state.get().config());
    let all_presets = StoredValue::new(presets());

    let number = {
        let write = write.clone();
        move |name: &'static str,
              label: fn(Locale) -> &'static str,
              get: fn(&KvState) -> u64,
              set: fn(&mut KvState, u64)| {
            let write = write.clone();
            view! {
                <label>
                    <span>{move || view! { <Prose text=label(i18n.get_locale()).to_string()/> }}</span>
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
            <h2 id="kv-calculator-title">{t!(i18n, attention.calc_title)}</h2>
            <p>{t!(i18n, attention.calc_intro)}</p>
            <UrlNotices notices=notices/>
            <form class="controls" on:submit=|ev| ev.prevent_default()>
                <label>
                    <span>{t!(i18n, attention.calc_preset)}</span>
                    <select
                        data-testid="kv-preset"
                        on:change=move |ev| {
                            let name = event_target_value(&ev);
                            let Some(p) = all_presets.with_value(|ps| ps.iter().find(|p| p.name == name).cloned()) else { return };
                            let Ok(next) = state.get_untracked().with_preset(&p) else { return };
                            write_preset(next);
                        }
                    >
                        <option value="" selected=move || state.get().preset.is_empty()>{t!(i18n, attention.calc_custom)}</option>
                        {move || all_presets.get_value().into_iter().map(|p| {
                            let (value, name) = (p.name.clone(), p.name.clone());
                            view! { <option value=value selected=move || state.get().preset == name>{p.name}</option> }
                        }).collect_view()}
                    </select>
                </label>
                <label>
                    <span>{t!(i18n, attention.attention)}</span>
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
                {number("layers", |l| td_string!(l, attention.calc_layers), |s| s.layers, |s, v| s.layers = v)}
                {number("heads", |l| td_string!(l, attention.calc_heads), |s| s.heads, |s, v| s.heads = v)}
                {number("kv-heads", |l| td_string!(l, attention.calc_kv_heads), |s| s.kv_heads, |s, v| s.kv_heads = v)}
                {number("head-dim", |l| td_string!(l, attention.calc_head_dim), |s| s.head_dim, |s, v| s.head_dim = v)}
                {number("kv-lora-rank", |_| "MLA $d_c$", |s| s.kv_lora_rank, |s, v| s.kv_lora_rank = v)}
                {number("rope-dim", |_| "MLA $d_h^R$", |s| s.rope_dim, |s, v| s.rope_dim = v)}
                <label>
                    <span>{t!(i18n, attention.calc_dtype)}</span>
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
                {number("context", |l| td_string!(l, attention.calc_context), |s| s.context, |s, v| s.context = v)}
                {number("batch", |l| td_string!(l, attention.calc_batch), |s| s.batch, |s, v| s.batch = v)}
                {number("window", |l| td_string!(l, attention.calc_window), |s| s.window, |s, v| s.window = v)}
                <label>
                    <span>{t!(i18n, attention.calc_window_on)}</span>
                    <select
                        data-testid="kv-window-layers"
                        on:change=move |ev| {
                            let mut next = state.get_untracked();
                            next.window_layers = if event_target_value(&ev) == "alternate" { WindowLayers::Alternate } else { WindowLayers::All };
                            write_wl(next);
                        }
                    >
                        <option value="all" selected=move || state.get().window_layers == WindowLayers::All>{t!(i18n, attention.calc_window_all)}</option>
                        <option value="alternate" selected=move || state.get().window_layers == WindowLayers::Alternate>{t!(i18n, attention.calc_window_alternate)}</option>
                    </select>
                </label>
                <label>
                    <span>{t!(i18n, attention.calc_memory)}</span>
                    <input type="number" min="0" step="any" data-testid="kv-memory-gb"
                        prop:value=move || state.get().memory_gb
                        on:change=move |ev| {
                            let mut next = state.get_untracked();
                            if let Ok(v) = event_target_value(&ev).trim().parse::<f64>() { next.memory_gb = v.clamp(0.0, 1e6); }
                            write_mem(next);
                        }/>
                </label>
                <label>
                    <span>{t!(i18n, attention.calc_weights)}</span>
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
                    <p class="note" data-testid="kv-preset-source">{fill(t_string!(i18n, attention.calc_preset_source), &[("name", &p.name), ("source", &p.source)])}</p>
                }))
            }}
            {move || {
                // compute's warning() decides when; the words are ours.
                let c = config.get();
                c.warning().map(|_| {
                    let w = fill(t_string!(i18n, attention.calc_gqa_uneven), &[("heads", &c.heads), ("groups", &c.kv_heads)]);
                    view! { <p class="notices" role="status">{w}</p> }
                })
            }}
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
    let i18n = use_i18n();
    let fits = move || {
        let s = state.get();
        let free = ((s.memory_gb - s.weights_gb) * 1e9).max(0.0) as u64;
        config.get().max_context(free)
    };
    view! {
        <dl class="result kv-result">
            <dt>{t!(i18n, attention.out_elems)}</dt>
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
            <dt>{t!(i18n, attention.out_bytes)}</dt>
            <dd data-testid="kv-bytes-per-token" data-value=move || config.get().bytes_per_token().to_string()>
                {move || {
                    let c = config.get();
                    fill(
                        t_string!(i18n, attention.out_bytes_value),
                        &[
                            ("size", &human_bytes(c.bytes_per_token())),
                            ("bytes", &group(c.bytes_per_token())),
                            ("elements", &group(c.elems_per_token_layer())),
                            ("layers", &c.layers),
                            ("bits", &c.dtype.bits()),
                        ],
                    )
                }}
            </dd>
            <dt>{t!(i18n, attention.out_total)}</dt>
            <dd data-testid="kv-bytes-total" data-value=move || config.get().total_bytes().to_string()>
                {move || {
                    let c = config.get();
                    let capped = if c.windowed_layers() > 0 && c.window < c.context {
                        fill(
                            t_string!(i18n, attention.out_capped),
                            &[("windowed", &c.windowed_layers()), ("layers", &c.layers), ("window", &group(c.window))],
                        )
                    } else {
                        String::new()
                    };
                    fill(
                        t_string!(i18n, attention.out_total_value),
                        &[
                            ("size", &human_bytes(c.total_bytes())),
                            ("bytes", &group(c.total_bytes())),
                            ("tokens", &group(c.context)),
                            ("batch", &c.batch),
                            ("capped", &capped),
                        ],
                    )
                }}
            </dd>
            <dt>{t!(i18n, attention.out_fits)}</dt>
            <dd data-testid="kv-max-context" data-value=move || fits().map(|v| v.to_string()).unwrap_or_else(|| "unbounded".into())>
                {move || {
                    let s = state.get();
                    match fits() {
                        Some(0) => fill(
                            t_string!(i18n, attention.out_fits_none),
                            &[("memory", &s.memory_gb), ("weights", &s.weights_gb)],
                        ),
                        Some(t) => fill(
                            t_string!(i18n, attention.out_fits_tokens),
                            &[("tokens", &group(t)), ("batch", &s.batch), ("memory", &s.memory_gb), ("weights", &s.weights_gb)],
                        ),
                        None => t_string!(i18n, attention.out_fits_unbounded).to_string(),
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
    let i18n = use_i18n();
    let href = RwSignal::new(String::new());
    let prepare = move || href.set(svg_data_url(target));
    view! {
        <a class="download" href=move || href.get() download=file on:pointerdown=move |_| prepare() on:focus=move |_| prepare()>
            {t!(i18n, attention.download_svg)}
        </a>
        <button type="button" class="link-button" on:click=move |_| download_png(target, png)>{t!(i18n, attention.download_png)}</button>
    }
}

/// Cache size against context for the four variants at this model's shape.
#[component]
fn CacheChart(config: Memo<KvConfig>) -> impl IntoView {
    let i18n = use_i18n();
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
                        aria-label=move || t_string!(i18n, attention.chart_label) data-testid="kv-chart">
                        <rect width=W height=H fill="white" class="chart-bg"/>
                        <line x1=L y1=H - B x2=W - 10.0 y2=H - B stroke="#444" class="chart-axis"/>
                        <line x1=L y1=10 x2=L y2=H - B stroke="#444" class="chart-axis"/>
                        <text x=L y=H - 12.0 font-size="12" fill="#222" class="chart-text">"0"</text>
                        <text x=W - 10.0 y=H - 12.0 font-size="12" text-anchor="end" fill="#222" class="chart-text">{fill(t_string!(i18n, attention.tokens_n), &[("count", &group(max_ctx))])}</text>
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
                {t!(i18n, attention.chart_caption)}
                <SvgDownload target="kv-chart" file="kv-cache-by-context.svg" png="kv-cache-by-context.png"/>
            </figcaption>
        </figure>
    }
}

/// Bytes per token of every preset, in bf16.
#[component]
fn PresetBars() -> impl IntoView {
    let i18n = use_i18n();
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
                aria-label=move || t_string!(i18n, attention.presets_label) data-testid="kv-presets-chart">
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
                {t!(i18n, attention.presets_caption)}
                <SvgDownload target="kv-presets" file="kv-cache-presets.svg" png="kv-cache-presets.png"/>
            </figcaption>
        </figure>
    }
}

/// DeepSeek-V2's Tables 1 and 9, recomputed.
#[component]
fn DeepSeekTables() -> impl IntoView {
    let i18n = use_i18n();
    let t1 = deepseek_table1(128, 8, 128, 60);
    let unit = (128 * 60) as f64;
    let t9 = deepseek_table9();
    let k = |c: &KvConfig| format!("{:.1}K", c.elems_per_token() as f64 / 1000.0);
    view! {
        <div class="deepseek-tables">
        <h3>{t!(i18n, attention.ds_title)}</h3>
        <div class="table-scroll" tabindex="0">
            <table data-testid="kv-deepseek-table1">
                <caption>{move || view! { <Prose text=t_string!(i18n, attention.ds_table1_caption).to_string()/> }}</caption>
                <thead><tr>
                    <th scope="col">{t!(i18n, attention.ds_variant)}</th>
                    <th scope="col">{t!(i18n, attention.ds_formula)}</th>
                    <th scope="col">{t!(i18n, attention.ds_elements)}</th>
                    <th scope="col">{move || view! { <Prose text=t_string!(i18n, attention.ds_in_units).to_string()/> }}</th>
                </tr></thead>
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
            <p class="note">{move || view! { <Prose text=t_string!(i18n, attention.ds_note).to_string()/> }}</p>
            <table data-testid="kv-deepseek-table9">
                <caption>{t!(i18n, attention.ds_table9_caption)}</caption>
                <thead><tr>
                    <th scope="col">{t!(i18n, attention.ds_model)}</th>
                    <th scope="col">"MHA"</th>
                    <th scope="col">"MLA"</th>
                    <th scope="col">{t!(i18n, attention.ds_shapes)}</th>
                </tr></thead>
                <tbody>
                    {t9.into_iter().map(|(name, mha, mla)| view! {
                        <tr>
                            <th scope="row">{move || ablation_name(i18n.get_locale(), name)}</th>
                            <td data-value=mha.elems_per_token().to_string()>{k(&mha)}</td>
                            <td data-value=mla.elems_per_token().to_string()>{k(&mla)}</td>
                            <td>{move || {
                                let shape = fill(
                                    t_string!(i18n, attention.ds_shape_row),
                                    &[
                                        ("layers", &mha.layers),
                                        ("heads", &mha.heads),
                                        ("head_dim", &mha.head_dim),
                                        ("kv_lora_rank", &mla.kv_lora_rank),
                                        ("rope_dim", &mla.rope_dim),
                                    ],
                                );
                                view! { <Prose text=shape/> }
                            }}</td>
                        </tr>
                    }).collect_view()}
                </tbody>
            </table>
        </div>
        </div>
    }
}

/// DeepSeek-V2 Table 9's model names, as compute gives them, in this language.
fn ablation_name(locale: Locale, name: &'static str) -> &'static str {
    match name {
        "Small MoE" => td_string!(locale, attention.ds_small_moe),
        "Large MoE" => td_string!(locale, attention.ds_large_moe),
        other => other,
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
    let i18n = use_i18n();
    // None until the visitor types: the sample prompt, in the page's language.
    let text = RwSignal::new(None::<String>);
    let shown = move || {
        text.get()
            .unwrap_or_else(|| t_string!(i18n, attention.token_sample).to_string())
    };
    let count = RwSignal::new(None::<Result<usize, String>>);
    let progress = RwSignal::new((0u64, 0u64));
    let run = move |_| {
        let t = text.get_untracked().unwrap_or_else(|| {
            td_string!(i18n.get_locale_untracked(), attention.token_sample).to_string()
        });
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
            <h3>{t!(i18n, attention.token_title)}</h3>
            <label class="stacked">
                <span>{t!(i18n, attention.token_label)}</span>
                <textarea
                    rows="4"
                    data-testid="kv-token-text"
                    prop:value=shown
                    on:input=move |ev| text.set(Some(event_target_value(&ev)))
                ></textarea>
            </label>
            <button type="button" data-testid="kv-token-run" on:click=run>{t!(i18n, attention.token_run)}</button>
            {move || {
                let (l, t) = progress.get();
                (t > 0 && l < t).then(|| view! {
                    <p role="status">{t!(i18n, attention.token_downloading)} <progress max=t value=l></progress></p>
                })
            }}
            {move || count.get().map(|r| match r {
                Ok(n) => {
                    let c = KvConfig { context: n as u64, ..config.get() };
                    let bytes = c.total_bytes();
                    // The sentence around the two numbers, in this language's order.
                    let sentence = fill(t_string!(i18n, attention.token_result), &[("batch", &c.batch)]);
                    let pieces = slots(&sentence, &["count", "bytes"])
                        .into_iter()
                        .map(|(words, slot)| {
                            let value = match slot {
                                Some(0) => view! {
                                    <span data-testid="kv-token-count" data-value=n.to_string()>
                                        {fill(t_string!(i18n, attention.tokens_n), &[("count", &group(n as u64))])}
                                    </span>
                                }
                                .into_any(),
                                Some(_) => view! {
                                    <span data-testid="kv-token-bytes" data-value=bytes.to_string()>
                                        {format!("{} ({} B)", human_bytes(bytes), group(bytes))}
                                    </span>
                                }
                                .into_any(),
                                None => ().into_any(),
                            };
                            view! { {words.to_string()} {value} }
                        })
                        .collect_view();
                    view! { <p role="status">{pieces}</p> }.into_any()
                }
                Err(e) => view! {
                    <p class="error" role="alert">{fill(t_string!(i18n, attention.token_error), &[("error", &e)])}</p>
                }
                .into_any(),
            })}
        </div>
    }
}

/// `text` cut at its `{name}` slots: each piece of words, then the index in
/// `names` of the slot that follows it (`None` after the last piece).
fn slots<'a>(mut text: &'a str, names: &[&str]) -> Vec<(&'a str, Option<usize>)> {
    let mut out = Vec::new();
    loop {
        let next = names
            .iter()
            .enumerate()
            .filter_map(|(i, name)| {
                let slot = format!("{{{name}}}");
                text.find(&slot).map(|at| (at, i, slot.len()))
            })
            .min();
        match next {
            Some((at, i, len)) => {
                out.push((&text[..at], Some(i)));
                text = &text[at + len..];
            }
            None => {
                out.push((text, None));
                return out;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::slots;

    #[test]
    fn slots_follow_the_language() {
        assert_eq!(
            slots("{count} leave {bytes} of cache.", &["count", "bytes"]),
            vec![("", Some(0)), (" leave ", Some(1)), (" of cache.", None)]
        );
        assert_eq!(
            slots("在此，{count} 会留下 {bytes} 的缓存。", &["count", "bytes"]),
            vec![
                ("在此，", Some(0)),
                (" 会留下 ", Some(1)),
                (" 的缓存。", None)
            ]
        );
    }
}
