//! The frontier: each run's mean true reward against its KL from π_ref,
//! for PPO, DPO and best-of-N, as the DPO paper's IMDb figure plots them.
//! A point (or its table row) opens that run's sample poems.

use std::rc::Rc;

use compute::align::metrics::{Eval, Metrics, KL_BUDGET};
use leptos::prelude::*;

use super::{percent, run_label, span, use_align_state, Frame};
use crate::{
    chapters::align::session::align_metrics,
    i18n::{t, t_string, td_string, use_i18n, Locale},
    shell::{format::fill, widget::UrlNotices},
};

/// A point of the figure.
#[derive(Clone)]
struct Point {
    key: String,
    label: String,
    class: &'static str,
    eval: Eval,
}

fn points(locale: Locale, m: &Metrics) -> Vec<Point> {
    let mut out = vec![Point {
        key: "base".into(),
        label: td_string!(locale, align.base).to_string(),
        class: "base",
        eval: m.base.clone(),
    }];
    for e in m.best_of_n.iter().filter(|e| e.n.unwrap_or(1) > 1) {
        out.push(Point {
            key: format!("bon-{}", e.n.unwrap_or(1)),
            label: fill(
                td_string!(locale, align.best_of),
                &[("n", &e.n.unwrap_or(1))],
            ),
            class: "bon",
            eval: e.clone(),
        });
    }
    for r in &m.runs {
        out.push(Point {
            key: r.key.clone(),
            label: run_label(locale, r),
            class: match r.method.as_str() {
                "dpo" => "dpo",
                "ppo" => "ppo",
                _ => "oracle",
            },
            eval: r.eval.clone(),
        });
    }
    out
}

#[component]
pub fn AlignFrontier() -> impl IntoView {
    let i18n = use_i18n();
    let (state, notices, write) = use_align_state();
    let metrics = LocalResource::new(align_metrics);
    let select = move |key: String| {
        let mut s = state.get_untracked();
        s.run = key;
        write(s);
    };
    view! {
        <section class="widget align-frontier" data-testid="align-frontier-widget">
            <h3>{t!(i18n, align.frontier_title)}</h3>
            <UrlNotices notices/>
            <Suspense fallback=move || view! { <p>{t!(i18n, align.loading_metrics)}</p> }>
                {move || metrics.get().map(|m| match m {
                    Err(e) => view! { <p class="error" role="alert">{move || e.say(i18n.get_locale())}</p> }.into_any(),
                    Ok(m) => frontier(m, state.get().run, select.clone()).into_any(),
                })}
            </Suspense>
        </section>
    }
}

fn frontier(
    m: Rc<Metrics>,
    chosen: String,
    select: impl Fn(String) + Clone + 'static,
) -> impl IntoView {
    let i18n = use_i18n();
    let locale = i18n.get_locale_untracked();
    let pts = points(locale, &m);
    let f = Frame {
        w: 560.0,
        h: 300.0,
        left: 52.0,
        bottom: 36.0,
        x: (
            0.0,
            pts.iter().map(|p| p.eval.kl).fold(KL_BUDGET, f64::max) * 1.05,
        ),
        y: span(pts.iter().map(|p| p.eval.mean_reward)),
    };
    let bon_line: String = pts
        .iter()
        .filter(|p| p.class == "base" || p.class == "bon")
        .map(|p| format!("{:.1},{:.1}", f.px(p.eval.kl), f.py(p.eval.mean_reward)))
        .collect::<Vec<_>>()
        .join(" ");
    let picked = pts.iter().find(|p| p.key == chosen).cloned();
    let table_pts = pts.clone();
    let svg_pts = pts.clone();
    let select2 = select.clone();
    view! {
        <figure class="chart" data-testid="align-frontier" data-points=pts.len()>
            // A group, not an image: its points are buttons.
            <svg viewBox=format!("0 0 {} {}", f.w, f.h) role="group"
                aria-label=move || t_string!(i18n, align.frontier_alt)>
                {f.axes(
                    td_string!(locale, align.axis_kl).to_string(),
                    td_string!(locale, align.axis_reward).to_string(),
                )}
                <line class="budget" x1=f.px(KL_BUDGET) x2=f.px(KL_BUDGET) y1="8" y2=f.py(f.y.0)/>
                <polyline class="bon-line" points=bon_line/>
                {svg_pts.into_iter().map(|p| {
                    let key = p.key.clone();
                    let key2 = p.key.clone();
                    let select = select.clone();
                    let select_key = select.clone();
                    let is_chosen = p.key == chosen;
                    view! {
                        <circle class=format!("point {}{}", p.class, if is_chosen { " chosen" } else { "" })
                            cx=f.px(p.eval.kl) cy=f.py(p.eval.mean_reward) r=if is_chosen { "7" } else { "5" }
                            tabindex="0" role="button" data-key=p.key.clone()
                            aria-label=format!("{}: KL {:.2}, {:.3}", p.label, p.eval.kl, p.eval.mean_reward)
                            on:click=move |_| select(key.clone())
                            on:keydown=move |ev: web_sys::KeyboardEvent| if ev.key() == "Enter" || ev.key() == " " { select_key(key2.clone()) }>
                            <title>{p.label.clone()}</title>
                        </circle>
                    }
                }).collect_view()}
            </svg>
            <figcaption>{t!(i18n, align.frontier_caption)}</figcaption>
        </figure>
        <div class="table-scroll" tabindex="0">
            <table class="numbers" data-testid="align-frontier-table">
                <thead><tr>
                    <th scope="col">{t!(i18n, align.col_run)}</th>
                    <th scope="col">{t!(i18n, align.col_kl)}</th>
                    <th scope="col">{t!(i18n, align.col_reward)}</th>
                    <th scope="col">{t!(i18n, align.col_failed)}</th>
                    <th scope="col">{t!(i18n, align.col_all)}</th>
                </tr></thead>
                <tbody>
                    {table_pts.into_iter().map(|p| {
                        let key = p.key.clone();
                        let select = select2.clone();
                        view! {
                            <tr class=p.class data-key=p.key.clone()>
                                <th scope="row"><button type="button" class="link" on:click=move |_| select(key.clone())>{p.label.clone()}</button></th>
                                <td>{format!("{:.2}", p.eval.kl)}</td>
                                <td>{format!("{:.3}", p.eval.mean_reward)}</td>
                                <td>{format!("{:.2}", p.eval.failed_per_poem)}</td>
                                <td>{percent(p.eval.all_passed)}</td>
                            </tr>
                        }
                    }).collect_view()}
                </tbody>
            </table>
        </div>
        <p class="note">{move || fill(t_string!(i18n, align.frontier_note), &[("budget", &KL_BUDGET)])}</p>
        {picked.map(|p| view! {
            <div class="align-samples" data-testid="align-samples" data-key=p.key.clone()>
                <h4>{p.label.clone()}</h4>
                <ul>
                    {p.eval.examples.iter().cloned().map(|e| {
                        let (reward, failed) = (e.reward, e.failed);
                        view! {
                            <li><span class="form-tag" lang="zh">{e.form}</span>" "
                                <span lang="zh">{e.text}</span>" "
                                <span class="note">{move || fill(t_string!(i18n, align.example_score), &[
                                    ("reward", &format!("{reward:.3}")), ("failed", &failed),
                                ])}</span>
                            </li>
                        }
                    }).collect_view()}
                </ul>
            </div>
        })}
    }
}
