//! The reward model against the truth: its score of held-out base poems
//! beside their true reward, its accuracy on held-out pairs, and PPO's
//! over-optimisation: the reward model's score and the true reward of the
//! rollouts over training, for the run chosen (or the first PPO run).

use compute::align::metrics::{Metrics, PpoPoint, RmReport};
use leptos::prelude::*;

use super::{percent, run_label, span, use_align_state, Frame};
use crate::{
    chapters::align::session::{align_metrics, rm_report},
    i18n::{t, t_string, td_string, use_i18n},
    shell::{format::fill, widget::UrlNotices},
};

/// Points as "x,y" pairs for a polyline.
fn line(f: &Frame, pts: impl Iterator<Item = (f64, f64)>) -> String {
    pts.map(|(x, y)| format!("{:.1},{:.1}", f.px(x), f.py(y)))
        .collect::<Vec<_>>()
        .join(" ")
}

/// One series over PPO's iterations, on its own scale.
fn curve(
    points: &[PpoPoint],
    value: fn(&PpoPoint) -> f64,
    class: &'static str,
    y_label: String,
    alt: String,
) -> impl IntoView {
    let f = Frame {
        w: 270.0,
        h: 200.0,
        left: 48.0,
        bottom: 34.0,
        x: (0.0, points.len().max(1) as f64),
        y: span(points.iter().map(value)),
    };
    let locale = use_i18n().get_locale_untracked();
    let pts = line(&f, points.iter().map(|p| (p.iteration as f64, value(p))));
    view! {
        <svg viewBox=format!("0 0 {} {}", f.w, f.h) role="img" aria-label=alt>
            {f.axes(td_string!(locale, align.axis_iteration).to_string(), y_label)}
            <polyline class=format!("series {class}") points=pts/>
        </svg>
    }
}

#[component]
pub fn AlignProxy() -> impl IntoView {
    let i18n = use_i18n();
    let (state, notices, _) = use_align_state();
    let data = LocalResource::new(|| async {
        let m = align_metrics().await?;
        let r = rm_report().await?;
        Ok::<_, crate::chapters::autoregressive::session::ModelLoadError>((m, r))
    });
    view! {
        <section class="widget align-proxy" data-testid="align-proxy-widget">
            <h3>{t!(i18n, align.proxy_title)}</h3>
            <UrlNotices notices/>
            <Suspense fallback=move || view! { <p>{t!(i18n, align.loading_metrics)}</p> }>
                {move || data.get().map(|d| match d {
                    Err(e) => view! { <p class="error" role="alert">{move || e.say(i18n.get_locale())}</p> }.into_any(),
                    Ok((m, r)) => proxy(&m, &r, &state.get().run).into_any(),
                })}
            </Suspense>
        </section>
    }
}

fn proxy(m: &Metrics, r: &RmReport, chosen: &str) -> impl IntoView {
    let i18n = use_i18n();
    let locale = i18n.get_locale_untracked();
    let f = Frame {
        w: 270.0,
        h: 220.0,
        left: 48.0,
        bottom: 34.0,
        x: span(r.scatter.iter().map(|p| p.1)),
        y: (0.0, 1.02),
    };
    let ppo = m
        .runs
        .iter()
        .filter(|run| run.method != "dpo")
        .find(|run| run.key == chosen)
        .or_else(|| m.runs.iter().find(|run| run.method == "ppo"))
        .cloned();
    let accuracy = r.held_out_pair_accuracy;
    let pearson = r.pearson_held_out;
    let scatter = r.scatter.clone();
    let n = scatter.len();
    view! {
        <div class="align-charts">
            <figure class="chart" data-testid="align-rm-scatter" data-points=n>
                <svg viewBox=format!("0 0 {} {}", f.w, f.h) role="img"
                    aria-label=move || t_string!(i18n, align.rm_scatter_alt)>
                    {f.axes(
                        td_string!(locale, align.axis_rm).to_string(),
                        td_string!(locale, align.axis_true).to_string(),
                    )}
                    {scatter.into_iter().map(|(_, score, truth)| view! {
                        <circle class="dot" cx=f.px(score) cy=f.py(truth) r="2"/>
                    }).collect_view()}
                </svg>
                <figcaption data-testid="align-rm-accuracy" data-accuracy=format!("{accuracy:.4}")>
                    {move || fill(t_string!(i18n, align.rm_caption), &[
                        ("accuracy", &percent(accuracy)), ("pearson", &format!("{pearson:.2}")),
                    ])}
                </figcaption>
            </figure>
            {ppo.map(|run| {
                let label = run_label(locale, &run);
                let first = run.ppo_curve.first().cloned();
                let last = run.ppo_curve.last().cloned();
                let peak = run
                    .ppo_curve
                    .iter()
                    .max_by(|a, b| a.true_reward.total_cmp(&b.true_reward))
                    .cloned();
                view! {
                    <figure class="chart" data-testid="align-overoptimisation" data-key=run.key.clone()>
                        {curve(&run.ppo_curve, |p| p.rm_score, "rm",
                            td_string!(locale, align.axis_rm).to_string(),
                            td_string!(locale, align.curve_rm_alt).to_string())}
                        {curve(&run.ppo_curve, |p| p.true_reward, "truth",
                            td_string!(locale, align.axis_true).to_string(),
                            td_string!(locale, align.curve_true_alt).to_string())}
                        <figcaption>
                            {label}": "
                            {move || match (&first, &last, &peak) {
                                (Some(a), Some(b), Some(top)) => fill(t_string!(i18n, align.overopt_caption), &[
                                    ("iterations", &b.iteration),
                                    ("rm0", &format!("{:.2}", a.rm_score)), ("rm1", &format!("{:.2}", b.rm_score)),
                                    ("true0", &format!("{:.3}", a.true_reward)), ("true1", &format!("{:.3}", b.true_reward)),
                                    ("kl", &format!("{:.2}", b.kl)),
                                    ("peak", &format!("{:.3}", top.true_reward)), ("peak_at", &top.iteration),
                                ]),
                                _ => String::new(),
                            }}
                        </figcaption>
                    </figure>
                }
            })}
        </div>
        <p class="note">{t!(i18n, align.proxy_note)}</p>
    }
}
