//! Inside the block, on the poem's live values: the app's CPU decoder
//! replays the poem up to the chosen character and keeps what one layer did
//! to it. RMSNorm beside LayerNorm on the real residual vector, SwiGLU's gate
//! and up projections and their product, RoPE's scores over positions for
//! the real query and key (constant along each diagonal), and GQA's sharing.

use compute::models::llama::{norm_compare, rope_pair_path, rope_scores, CpuDecoder, LayerInside};
use leptos::prelude::*;

use super::{
    signed_css, use_llama_state,
    write::{shown_position, use_written, PoemView},
};
use crate::{
    chapters::autoregressive::widgets::LoadStatus,
    i18n::{t, t_string, use_i18n},
    shell::{format::fill, math::Prose, widget::UrlNotices},
};

/// Positions in the RoPE grid.
const ROPE_POSITIONS: usize = 12;

/// A row of values as coloured cells, scaled by its largest magnitude.
#[component]
fn Strip(values: Vec<f32>, label: String, testid: &'static str) -> impl IntoView {
    let max = values.iter().fold(0f32, |m, v| m.max(v.abs())).max(1e-12);
    let data = values
        .iter()
        .map(|v| format!("{v:.5}"))
        .collect::<Vec<_>>()
        .join(",");
    view! {
        <div class="strip-row">
            <span class="strip-label">{label.clone()}</span>
            <div class="strip" role="img" aria-label=label data-testid=testid data-values=data>
                {values
                    .iter()
                    .map(|&v| view! { <span style=format!("background:{}", signed_css(v / max))></span> })
                    .collect_view()}
            </div>
        </div>
    }
}

#[component]
pub fn LlamaInside() -> impl IntoView {
    let i18n = use_i18n();
    let (state, notices, write) = use_llama_state();
    let (written, progress, error, run_error) = use_written(state, false);
    let selected =
        Signal::derive(move || written.with(|w| shown_position(&state.get(), w.as_ref())));
    let write_pick = write.clone();
    let pick = move |pos: usize| {
        let mut next = state.get_untracked();
        next.at = pos as u32;
        write_pick(next);
    };
    // The chosen layer's values for the selected character, on the CPU.
    // Only the layer and the character decide it (and the poem itself).
    let layer_wanted = Memo::new(move |_| state.with(|s| s.layer));
    let inside = Memo::new(move |_| {
        let wanted = layer_wanted.get();
        let pos = selected.get();
        written.with(|w| {
            let w = w.as_ref()?;
            let c = w.model.config;
            let layer = (wanted as usize).min(c.n_layers - 1);
            let mut decoder = CpuDecoder::new(w.model.clone());
            decoder.look_inside = true;
            let mut last = None;
            // The last token (an <eos> after 66 inputs) may lie past the cache.
            for &t in w.trace.tokens.iter().take((pos + 1).min(c.max_seq_len)) {
                last = Some(decoder.step(t).ok()?);
            }
            let l: LayerInside = last?.inside.get(layer)?.clone();
            Some((l, c, layer))
        })
    });
    let write_layer = write.clone();
    let write_head = write.clone();
    let views = move || {
        let (l, c, layer) = inside.get()?;
        let s = state.get();
        let hd = c.head_dim();
        let head = (s.head as usize).min(c.n_heads - 1);
        let group = c.n_heads / c.n_kv_heads;
        let kv_head = head / group;
        let norms = norm_compare(&l.x, c.norm_eps);
        let scores = rope_scores(
            &l.q_raw[head * hd..(head + 1) * hd],
            &l.k_raw[kv_head * hd..(kv_head + 1) * hd],
            ROPE_POSITIONS,
            c.rope_theta,
        );
        let drift = (0..ROPE_POSITIONS - 1)
            .flat_map(|m| (0..ROPE_POSITIONS - 1).map(move |n| (m, n)))
            .map(|(m, n)| (scores[m + 1][n + 1] - scores[m][n]).abs())
            .fold(0f32, f32::max);
        let score_max = scores
            .iter()
            .flatten()
            .fold(0f32, |m, v| m.max(v.abs()))
            .max(1e-12);
        let q_head = &l.q_raw[head * hd..(head + 1) * hd];
        let wheel = pair_wheel(
            &[
                rope_pair_path(q_head, 0, ROPE_POSITIONS, c.rope_theta),
                rope_pair_path(q_head, hd / 4, ROPE_POSITIONS, c.rope_theta),
            ],
            t_string!(i18n, llama.inside_rope_pairs),
        );
        let product: Vec<f32> = l.gate.iter().zip(&l.up).map(|(a, b)| a * b).collect();
        let gate_max = l.gate.iter().fold(0f32, |m, v| m.max(v.abs()));
        let closed = l.gate.iter().filter(|v| v.abs() < 0.05 * gate_max).count();
        let mha_bytes = 2 * c.n_layers * c.n_heads * hd * 4;
        Some(view! {
            <div class="inside-views" data-testid="llama-inside-views" data-layer=layer>
                <section aria-labelledby="llama-norm-heading">
                    <h3 id="llama-norm-heading">{t!(i18n, llama.inside_norm)}</h3>
                    <Strip values=l.x.clone() label=t_string!(i18n, llama.inside_x).to_string() testid="llama-inside-x"/>
                    <Strip values=norms.rmsnorm.clone() label=t_string!(i18n, llama.inside_rms).to_string() testid="llama-inside-rms"/>
                    <Strip values=norms.layernorm.clone() label=t_string!(i18n, llama.inside_ln).to_string() testid="llama-inside-ln"/>
                    <p data-testid="llama-inside-norm-stats" data-mean=norms.mean data-rms=norms.rms>
                        {move || fill(t_string!(i18n, llama.inside_norm_stats), &[
                            ("mean", &format!("{:.3}", norms.mean)),
                            ("rms", &format!("{:.3}", norms.rms)),
                            ("std", &format!("{:.3}", norms.std)),
                        ])}
                    </p>
                </section>
                <section aria-labelledby="llama-swiglu-heading">
                    <h3 id="llama-swiglu-heading">{t!(i18n, llama.inside_swiglu)}</h3>
                    <Strip values=l.gate.clone() label=t_string!(i18n, llama.inside_gate).to_string() testid="llama-inside-gate"/>
                    <Strip values=l.up.clone() label=t_string!(i18n, llama.inside_up).to_string() testid="llama-inside-up"/>
                    <Strip values=product label=t_string!(i18n, llama.inside_product).to_string() testid="llama-inside-product"/>
                    <p>{move || fill(t_string!(i18n, llama.inside_gate_closed), &[("closed", &closed), ("hidden", &c.hidden_dim)])}</p>
                </section>
                <section aria-labelledby="llama-rope-heading">
                    <h3 id="llama-rope-heading">{t!(i18n, llama.inside_rope)}</h3>
                    <div
                        class="rope-grid"
                        role="img"
                        aria-label=move || t_string!(i18n, llama.inside_rope_label)
                        data-testid="llama-inside-rope"
                        data-drift=drift
                        style=format!("grid-template-columns: repeat({ROPE_POSITIONS}, 1fr)")
                    >
                        {scores
                            .iter()
                            .flatten()
                            .map(|&v| view! { <span title=format!("{v:.3}") style=format!("background:{}", signed_css(v / score_max))></span> })
                            .collect_view()}
                    </div>
                    <div class="rope-wheel" inner_html=wheel></div>
                    <p>{move || fill(t_string!(i18n, llama.inside_rope_note), &[
                        ("head", &head), ("kv", &kv_head), ("drift", &format!("{drift:.1e}")),
                    ])}</p>
                </section>
                <section aria-labelledby="llama-gqa-heading">
                    <h3 id="llama-gqa-heading">{t!(i18n, llama.inside_gqa)}</h3>
                    <ul class="gqa-map" data-testid="llama-inside-gqa">
                        {(0..c.n_heads)
                            .map(|h| view! {
                                <li class:current=h == head>
                                    {move || fill(t_string!(i18n, llama.inside_gqa_head), &[("q", &h), ("kv", &(h / group))])}
                                </li>
                            })
                            .collect_view()}
                    </ul>
                    <p data-testid="llama-inside-kv-bytes" data-bytes=c.kv_bytes_per_token()>
                        {move || fill(t_string!(i18n, llama.inside_gqa_bytes), &[
                            ("bytes", &c.kv_bytes_per_token()),
                            ("mha", &mha_bytes),
                            ("heads", &c.n_heads),
                            ("kv", &c.n_kv_heads),
                        ])}
                    </p>
                </section>
            </div>
        })
    };
    let layers = move || written.with(|w| w.as_ref().map_or(1, |w| w.model.config.n_layers));
    let heads = move || written.with(|w| w.as_ref().map_or(1, |w| w.model.config.n_heads));
    view! {
        <section class="widget" data-testid="llama-inside" aria-labelledby="llama-inside-title">
            <h2 id="llama-inside-title">{t!(i18n, llama.inside_title)}</h2>
            <p>{move || view! { <Prose text=t_string!(i18n, llama.inside_intro).to_string()/> }}</p>
            <UrlNotices notices/>
            <form class="controls" on:submit=|ev| ev.prevent_default()>
                <label>
                    <span>{t!(i18n, llama.inside_layer)}</span>
                    <select data-testid="llama-inside-layer" on:change=move |ev| {
                        let mut next = state.get_untracked();
                        next.layer = event_target_value(&ev).parse().unwrap_or(0);
                        write_layer(next);
                    }>
                        {move || (0..layers()).map(|i| view! {
                            <option value=i selected=move || (state.get().layer as usize).min(layers() - 1) == i>{i + 1}</option>
                        }).collect_view()}
                    </select>
                </label>
                <label>
                    <span>{t!(i18n, llama.inside_head)}</span>
                    <select data-testid="llama-inside-head" on:change=move |ev| {
                        let mut next = state.get_untracked();
                        next.head = event_target_value(&ev).parse().unwrap_or(0);
                        write_head(next);
                    }>
                        {move || (0..heads()).map(|i| view! {
                            <option value=i selected=move || (state.get().head as usize).min(heads() - 1) == i>{i}</option>
                        }).collect_view()}
                    </select>
                </label>
            </form>
            <LoadStatus what=Signal::derive(move || t_string!(i18n, llama.weights_what).to_string()) progress error/>
            {move || run_error.get().map(|e| view! { <p class="error" role="alert">{e}</p> })}
            <PoemView written selected on_select=pick testid="llama-inside-poem"/>
            {views}
        </section>
    }
}

/// Two of the query's coordinate pairs at each position, as arrows from the
/// origin (SVG markup): the first pair turns fast, a middle one slowly.
fn pair_wheel(paths: &[Vec<[f32; 2]>], label: &str) -> String {
    let r = paths
        .iter()
        .flatten()
        .fold(1e-6f32, |m, p| m.max(p[0].hypot(p[1])));
    let colours = ["#1d4ed8", "#b45309"];
    let mut svg = format!(
        r#"<svg viewBox="-1.1 -1.1 2.2 2.2" role="img" aria-label="{}" data-testid="llama-inside-rope-pairs">"#,
        label.replace('"', "&quot;")
    );
    for (k, path) in paths.iter().enumerate() {
        for (pos, p) in path.iter().enumerate() {
            let opacity = 0.25 + 0.75 * pos as f32 / path.len().max(1) as f32;
            svg += &format!(
                r#"<line x1="0" y1="0" x2="{:.3}" y2="{:.3}" stroke="{}" stroke-width="0.02" opacity="{opacity:.2}"/>"#,
                p[0] / r,
                -p[1] / r,
                colours[k % 2]
            );
        }
    }
    svg + "</svg>"
}
