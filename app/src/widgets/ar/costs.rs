//! Parameters and cost: what each model stores, what one sample costs, what
//! it scored on the held-out digits (from the trainer's metrics file), and
//! the published results for context, with their sources.

use std::{f64::consts::LN_2, rc::Rc};

use compute::models::ar::{made, nade, pixelcnn, ArKind, Mode, PIXELS};
use leptos::{prelude::*, task::spawn_local};
use web_time::Instant;

use crate::{
    ar_models::{metrics, runner},
    format::group,
    live_backend,
    math::Prose,
};

/// How the parameter count follows from the architecture.
fn formula(kind: ArKind) -> String {
    let n = PIXELS;
    match kind {
        ArKind::Fvsbn => format!("$n(n-1)/2 + n$, n = {n}"),
        ArKind::Nade => format!("$2nd + n + d = O(nd)$, d = {}", nade::HIDDEN),
        ArKind::Made => format!(
            "masked $W_1, W_2$ (d = {}) + biases + $n(n-1)/2$ direct",
            made::HIDDEN
        ),
        ArKind::PixelCnn => format!(
            "7×7 type-A + {} × 3×3 type-B + two 1×1, {} channels; independent of n",
            pixelcnn::LAYERS,
            pixelcnn::CHANNELS
        ),
    }
}

/// Multiply-adds for one full sample, in the model's own best order.
fn sample_cost(kind: ArKind) -> String {
    match kind {
        ArKind::Fvsbn => "$\\sum_i i = n(n-1)/2$ ≈ 0.3 M: one dot product per pixel".into(),
        ArKind::Nade => "$2nd$ ≈ 0.8 M with $a_{i+1} = a_i + W_{:,i}\\, x_i$".into(),
        ArKind::Made => "one network pass per pixel: $n (2nd + n^2/2)$ ≈ 0.6 G (0.5 M with running pre-activations)".into(),
        ArKind::PixelCnn => "one network pass per pixel; only the 10 rows in reach matter: ≈ 10 M per pixel, 8 G per sample".into(),
    }
}

#[component]
pub fn ArCosts() -> impl IntoView {
    let table = LocalResource::new(|| async {
        let mut rows = Vec::new();
        for kind in ArKind::ALL {
            rows.push((kind, metrics(kind).await));
        }
        rows
    });
    view! {
        <section class="widget" data-testid="ar-costs" aria-labelledby="ar-costs-title">
            <h2 id="ar-costs-title">"Parameters and cost"</h2>
            <p>
                "Our four models, trained here on 8,006 threshold-binarised digits and scored on 997 held-out ones. "
                "The NLL is the mean −log p(x) of the test digits under the weights this page runs (8-bit)."
            </p>
            <div class="table-scroll">
                <table data-testid="ar-costs-table">
                    <thead>
                        <tr>
                            <th scope="col">"Model"</th>
                            <th scope="col">"Parameters"</th>
                            <th scope="col">"Formula"</th>
                            <th scope="col">"Multiply-adds per sample"</th>
                            <th scope="col">"Test NLL (nats)"</th>
                            <th scope="col">"bits/dim"</th>
                            <th scope="col">"Weights"</th>
                            <th scope="col">"Training"</th>
                        </tr>
                    </thead>
                    <Suspense fallback=|| view! { <tbody><tr><td colspan="8">"Loading the metrics…"</td></tr></tbody> }>
                        <tbody>
                            {move || Suspend::new(async move {
                                table
                                    .await
                                    .into_iter()
                                    .map(|(kind, m)| match m {
                                        Ok(m) => view! {
                                            <tr data-testid=format!("ar-costs-{}", kind.slug()) data-nll=m.test_nll_nats.to_string()>
                                                <th scope="row">{kind.title()}</th>
                                                <td>{group(m.params)}</td>
                                                <td><Prose text=formula(kind)/></td>
                                                <td><Prose text=sample_cost(kind)/></td>
                                                <td>{format!("{:.2}", m.test_nll_nats)}</td>
                                                <td>{format!("{:.4}", m.test_nll_nats / (PIXELS as f64 * LN_2))}</td>
                                                <td>{format!("{} kB", m.weights_bytes / 1000)}</td>
                                                <td>{format!("{} epochs, {:.0} s", m.epochs, m.train_seconds)}</td>
                                            </tr>
                                        }
                                        .into_any(),
                                        Err(e) => view! {
                                            <tr><th scope="row">{kind.title()}</th><td colspan="7" class="error">{e.to_string()}</td></tr>
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
            <h3>"Published results, for context"</h3>
            <p class="note">
                "These models trained on 50,000 or 60,000 digits with stochastic binarisation (each pixel drawn "
                "as 1 with probability equal to its grey level). Our split has 8,006 training digits and threshold "
                "binarisation (pixel > 0.5), which is easier: an FVSBN reaches about 81 nats here against the paper's "
                "97.45. Compare the order of the models, not the numbers."
            </p>
            <div class="table-scroll">
                <table data-testid="ar-published">
                    <thead><tr><th scope="col">"Model"</th><th scope="col">"NLL (nats)"</th><th scope="col">"Source"</th></tr></thead>
                    <tbody>
                        {PUBLISHED
                            .iter()
                            .map(|(m, nll, src)| view! { <tr><th scope="row">{*m}</th><td>{*nll}</td><td>{*src}</td></tr> })
                            .collect_view()}
                    </tbody>
                </table>
            </div>
        </section>
    }
}

/// Binarised MNIST test NLL as published (../shared/reference/published-results.md).
const PUBLISHED: [(&str, &str, &str); 8] = [
    (
        "FVSBN",
        "97.45",
        "Larochelle & Murray 2011 (the NADE paper), binarised MNIST table",
    ),
    ("NADE (500 hidden)", "88.86", "Larochelle & Murray 2011"),
    (
        "NADE",
        "88.33",
        "Uria et al. 2016, “Neural Autoregressive Distribution Estimation”",
    ),
    ("EoNADE, 2 hidden layers", "85.10", "Uria et al. 2014"),
    ("DARN", "84.13", "Gregor et al. 2014"),
    (
        "MADE (32 masks)",
        "86.64 to 88.04",
        "Germain et al. 2015 (depending on depth)",
    ),
    (
        "PixelCNN",
        "81.30",
        "van den Oord et al. 2016, “Pixel Recurrent Neural Networks”, Table 4",
    ),
    (
        "PixelRNN, Diagonal BiLSTM, 7 layers",
        "79.20",
        "van den Oord et al. 2016, Table 4",
    ),
];

/// Times one full 784-pixel sample of each model on this device's backend.
#[component]
fn SampleTimer() -> impl IntoView {
    let results = RwSignal::new(Vec::<(ArKind, Result<(f64, String), String>)>::new());
    let running = RwSignal::new(false);
    let run = move |_| {
        running.set(true);
        results.set(Vec::new());
        spawn_local(async move {
            let backend = live_backend::backend().await;
            for kind in ArKind::ALL {
                let outcome = async {
                    let r = runner(kind, &backend, |_, _| {})
                        .await
                        .map_err(|e| e.to_string())?;
                    let r = Rc::clone(&r);
                    let zeros = vec![0.0; PIXELS];
                    let mut chain = r
                        .chain(&zeros, 0, Mode::Sample { seed: 1 })
                        .map_err(|e| e.to_string())?;
                    let t0 = Instant::now();
                    let trace = chain.advance(PIXELS).await.map_err(|e| e.to_string())?;
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
                "Time one full sample of each model on this device (seed 1)"
            </button>
            <ul>
                {move || results.get().into_iter().map(|(kind, r)| match r {
                    Ok((ms, bits)) => view! {
                        <li data-testid=format!("ar-timer-{}", kind.slug()) data-ms=ms.to_string() data-bits=bits>
                            {format!("{}: {ms:.1} ms for all 784 pixels", kind.title())}
                        </li>
                    }.into_any(),
                    Err(e) => view! { <li class="error">{format!("{}: {e}", kind.title())}</li> }.into_any(),
                }).collect_view()}
            </ul>
        </div>
    }
}
