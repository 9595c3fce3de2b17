//! Parameters and cost: what each model stores, what one sample costs, what
//! it scored on the held-out digits (from the trainer's metrics file), and
//! the published results for context, with their sources.

use std::{f64::consts::LN_2, rc::Rc};

use compute::models::ar::{made, nade, pixelcnn, ArKind, Mode, PIXELS};
use leptos::{prelude::*, task::spawn_local};
use web_time::Instant;

use super::RunFailure;
use crate::{
    chapters::autoregressive::session::{metrics, runner},
    i18n::{t, t_string, td_string, use_i18n, Locale},
    shell::{format::fill, format::group, live_backend, math::Prose},
};

/// How the parameter count follows from the architecture (text with
/// `$…$` formulas, for [`Prose`]).
fn formula(locale: Locale, kind: ArKind) -> String {
    match kind {
        ArKind::Fvsbn => fill(
            td_string!(locale, autoregressive.formula_fvsbn),
            &[("n", &PIXELS)],
        ),
        ArKind::Nade => fill(
            td_string!(locale, autoregressive.formula_nade),
            &[("d", &nade::HIDDEN)],
        ),
        ArKind::Made => fill(
            td_string!(locale, autoregressive.formula_made),
            &[("d", &made::HIDDEN)],
        ),
        ArKind::PixelCnn => fill(
            td_string!(locale, autoregressive.formula_pixelcnn),
            &[
                ("layers", &pixelcnn::LAYERS),
                ("channels", &pixelcnn::CHANNELS),
            ],
        ),
    }
}

/// Multiply-adds for one full sample, in the model's own best order.
fn sample_cost(locale: Locale, kind: ArKind) -> &'static str {
    match kind {
        ArKind::Fvsbn => td_string!(locale, autoregressive.cost_fvsbn),
        ArKind::Nade => td_string!(locale, autoregressive.cost_nade),
        ArKind::Made => td_string!(locale, autoregressive.cost_made),
        ArKind::PixelCnn => td_string!(locale, autoregressive.cost_pixelcnn),
    }
}

#[component]
pub fn ArCosts() -> impl IntoView {
    let i18n = use_i18n();
    let table = LocalResource::new(|| async {
        let mut rows = Vec::new();
        for kind in ArKind::ALL {
            rows.push((kind, metrics(kind).await));
        }
        rows
    });
    view! {
        <section class="widget" data-testid="ar-costs" aria-labelledby="ar-costs-title">
            <h2 id="ar-costs-title">{t!(i18n, autoregressive.costs_title)}</h2>
            <p>{t!(i18n, autoregressive.costs_intro)}</p>
            <div class="table-scroll" tabindex="0">
                <table data-testid="ar-costs-table">
                    <thead>
                        <tr>
                            <th scope="col">{t!(i18n, autoregressive.model_label)}</th>
                            <th scope="col">{t!(i18n, autoregressive.costs_params)}</th>
                            <th scope="col">{t!(i18n, autoregressive.costs_formula)}</th>
                            <th scope="col">{t!(i18n, autoregressive.costs_madds)}</th>
                            <th scope="col">{t!(i18n, autoregressive.costs_test_nll)}</th>
                            <th scope="col">"bits/dim"</th>
                            <th scope="col">{t!(i18n, autoregressive.costs_weights)}</th>
                            <th scope="col">{t!(i18n, autoregressive.costs_training)}</th>
                        </tr>
                    </thead>
                    <Suspense fallback=move || view! { <tbody><tr><td colspan="8">{t!(i18n, autoregressive.costs_loading)}</td></tr></tbody> }>
                        <tbody>
                            {move || Suspend::new(async move {
                                table
                                    .await
                                    .into_iter()
                                    .map(|(kind, m)| match m {
                                        Ok(m) => {
                                            let (epochs, seconds) = (m.epochs, format!("{:.0}", m.train_seconds));
                                            view! {
                                                <tr data-testid=format!("ar-costs-{}", kind.slug()) data-nll=m.test_nll_nats.to_string()>
                                                    <th scope="row">{kind.title()}</th>
                                                    <td>{group(m.params)}</td>
                                                    <td>{move || view! { <Prose text=formula(i18n.get_locale(), kind)/> }}</td>
                                                    <td>{move || view! { <Prose text=sample_cost(i18n.get_locale(), kind)/> }}</td>
                                                    <td>{format!("{:.2}", m.test_nll_nats)}</td>
                                                    <td>{format!("{:.4}", m.test_nll_nats / (PIXELS as f64 * LN_2))}</td>
                                                    <td>{format!("{} kB", m.weights_bytes / 1000)}</td>
                                                    <td>{move || fill(
                                                        t_string!(i18n, autoregressive.costs_epochs),
                                                        &[("epochs", &epochs), ("seconds", &seconds)],
                                                    )}</td>
                                                </tr>
                                            }
                                            .into_any()
                                        }
                                        Err(e) => view! {
                                            <tr>
                                                <th scope="row">{kind.title()}</th>
                                                <td colspan="7" class="error">{move || e.say(i18n.get_locale())}</td>
                                            </tr>
                                        }
                                        .into_any(),
                                    })
                                    .collect_view()
                            })}
                        </tbody>
                    </Suspense>
                </table>
            </div>
            <SampleTimer/>
            <h3>{t!(i18n, autoregressive.published_title)}</h3>
            <p class="note">{t!(i18n, autoregressive.published_note)}</p>
            <div class="table-scroll" tabindex="0">
                <table data-testid="ar-published">
                    <thead>
                        <tr>
                            <th scope="col">{t!(i18n, autoregressive.model_label)}</th>
                            <th scope="col">{t!(i18n, autoregressive.published_nll)}</th>
                            <th scope="col">{t!(i18n, autoregressive.published_source)}</th>
                        </tr>
                    </thead>
                    <tbody>
                        {move || published(i18n.get_locale())
                            .into_iter()
                            .map(|(m, nll, src)| view! { <tr><th scope="row">{m}</th><td>{nll}</td><td>{src}</td></tr> })
                            .collect_view()}
                    </tbody>
                </table>
            </div>
        </section>
    }
}

/// Binarised MNIST test NLL as published (../shared/reference/published-results.md):
/// (model, NLL in nats, source), worded in `locale`.
fn published(locale: Locale) -> [(&'static str, &'static str, &'static str); 8] {
    [
        (
            "FVSBN",
            "97.45",
            td_string!(locale, autoregressive.src_fvsbn),
        ),
        (
            td_string!(locale, autoregressive.pub_nade_500),
            "88.86",
            td_string!(locale, autoregressive.src_nade_500),
        ),
        ("NADE", "88.33", td_string!(locale, autoregressive.src_nade)),
        (
            td_string!(locale, autoregressive.pub_eonade),
            "85.10",
            td_string!(locale, autoregressive.src_eonade),
        ),
        ("DARN", "84.13", td_string!(locale, autoregressive.src_darn)),
        (
            td_string!(locale, autoregressive.pub_made),
            td_string!(locale, autoregressive.pub_made_nll),
            td_string!(locale, autoregressive.src_made),
        ),
        (
            "PixelCNN",
            "81.30",
            td_string!(locale, autoregressive.src_pixelcnn),
        ),
        (
            td_string!(locale, autoregressive.pub_pixelrnn),
            "79.20",
            td_string!(locale, autoregressive.src_pixelrnn),
        ),
    ]
}

/// Times one full 784-pixel sample of each model on this device's backend.
#[component]
fn SampleTimer() -> impl IntoView {
    let i18n = use_i18n();
    let results = RwSignal::new(Vec::<(ArKind, Result<(f64, String), RunFailure>)>::new());
    let running = RwSignal::new(false);
    let run = move |_| {
        running.set(true);
        results.set(Vec::new());
        spawn_local(async move {
            let backend = live_backend::backend().await;
            for kind in ArKind::ALL {
                let outcome = async {
                    let failed = |e: compute::ComputeError| RunFailure::Compute(e.to_string());
                    let r = runner(kind, &backend, |_, _| {})
                        .await
                        .map_err(RunFailure::Load)?;
                    let r = Rc::clone(&r);
                    let zeros = vec![0.0; PIXELS];
                    let mut chain = r
                        .chain(&zeros, 0, Mode::Sample { seed: 1 })
                        .map_err(failed)?;
                    let t0 = Instant::now();
                    let trace = chain.advance(PIXELS).await.map_err(failed)?;
                    let ms = t0.elapsed().as_secs_f64() * 1e3;
                    Ok((ms, compute::models::ar::image_to_code(&trace.image)))
                }
                .await;
                results.update(|v| v.push((kind, outcome)));
            }
            running.set(false);
        });
    };
    view! {
        <div class="sample-timer" data-testid="ar-timer" data-running=move || running.get().to_string()>
            <button type="button" data-testid="ar-timer-run" disabled=move || running.get() on:click=run>
                {t!(i18n, autoregressive.timer_run)}
            </button>
            <ul>
                {move || results.get().into_iter().map(|(kind, r)| match r {
                    Ok((ms, bits)) => view! {
                        <li data-testid=format!("ar-timer-{}", kind.slug()) data-ms=ms.to_string() data-bits=bits>
                            {fill(
                                t_string!(i18n, autoregressive.timer_result),
                                &[("model", &kind.title()), ("ms", &format!("{ms:.1}"))],
                            )}
                        </li>
                    }.into_any(),
                    Err(e) => view! {
                        <li class="error">
                            {fill(
                                t_string!(i18n, autoregressive.timer_failed),
                                &[("model", &kind.title()), ("error", &e.say(i18n.get_locale()))],
                            )}
                        </li>
                    }.into_any(),
                }).collect_view()}
            </ul>
        </div>
    }
}
