//! DPO's implicit reward, β·(log π(y) − log π_ref(y)), against the true
//! reward on held-out base poems: the reward model DPO never trains
//! separately, read off the policy, for the run chosen (or the best DPO
//! run).

use compute::align::metrics::Metrics;
use leptos::prelude::*;

use super::{run_label, span, use_align_state, Frame};
use crate::{
    chapters::align::session::align_metrics,
    i18n::{t, t_string, td_string, use_i18n},
    shell::{format::fill, widget::UrlNotices},
};

#[component]
pub fn AlignImplicit() -> impl IntoView {
    let i18n = use_i18n();
    let (state, notices, write) = use_align_state();
    let metrics = LocalResource::new(align_metrics);
    view! {
        <section class="widget align-implicit" data-testid="align-implicit-widget">
            <h3>{t!(i18n, align.implicit_title)}</h3>
            <UrlNotices notices/>
            <Suspense fallback=move || view! { <p>{t!(i18n, align.loading_metrics)}</p> }>
                {move || metrics.get().map(|m| match m {
                    Err(e) => view! { <p class="error" role="alert">{move || e.say(i18n.get_locale())}</p> }.into_any(),
                    Ok(m) => implicit(&m, &state.get().run, {
                        let write = write.clone();
                        move |key: String| {
                            let mut s = state.get_untracked();
                            s.run = key;
                            write(s);
                        }
                    }).into_any(),
                })}
            </Suspense>
        </section>
    }
}

fn implicit(m: &Metrics, chosen: &str, select: impl Fn(String) + 'static) -> impl IntoView {
    let i18n = use_i18n();
    let locale = i18n.get_locale_untracked();
    let dpo: Vec<_> = m
        .runs
        .iter()
        .filter(|r| r.method == "dpo")
        .cloned()
        .collect();
    let run = dpo
        .iter()
        .find(|r| r.key == chosen)
        .or_else(|| m.best("dpo"))
        .or(dpo.first())
        .cloned();
    let Some(run) = run else {
        return view! { <p>{t!(i18n, align.no_run)}</p> }.into_any();
    };
    let f = Frame {
        w: 420.0,
        h: 260.0,
        left: 48.0,
        bottom: 34.0,
        x: span(run.implicit.iter().map(|p| p.1)),
        y: (0.0, 1.02),
    };
    let pearson = run.implicit_pearson.unwrap_or(0.0);
    let key = run.key.clone();
    let points = run.implicit.clone();
    let n = points.len();
    view! {
        <label>{t!(i18n, align.run_label)}
            <select data-testid="align-implicit-run" on:change=move |ev| select(event_target_value(&ev))>
                {dpo.iter().map(|r| view! {
                    <option value=r.key.clone() selected=r.key == key>{run_label(locale, r)}</option>
                }).collect_view()}
            </select>
        </label>
        <figure class="chart" data-testid="align-implicit" data-key=run.key.clone() data-points=n>
            <svg viewBox=format!("0 0 {} {}", f.w, f.h) role="img"
                aria-label=move || t_string!(i18n, align.implicit_alt)>
                {f.axes(
                    td_string!(locale, align.axis_implicit).to_string(),
                    td_string!(locale, align.axis_true).to_string(),
                )}
                {points.iter().map(|(_, x, y)| view! {
                    <circle class="dot" cx=f.px(*x) cy=f.py(*y) r="2"/>
                }).collect_view()}
            </svg>
            <figcaption>{move || fill(t_string!(i18n, align.implicit_caption), &[
                ("pearson", &format!("{pearson:.2}")), ("n", &n),
            ])}</figcaption>
        </figure>
    }
    .into_any()
}
