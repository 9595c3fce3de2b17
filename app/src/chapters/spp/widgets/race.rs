//! "The race": R-CNN and SPP-net score the same windows of one held-out
//! scene on the visitor's backend. Per pipeline: windows, convolution
//! FLOPs, milliseconds; and the speed-up. The window count is adjustable.

use compute::models::spp::{
    race::{Lap, Pipeline},
    windows::{grid, spread},
};
use leptos::{prelude::*, task::spawn_local};

use super::{backend_name, join, SppError, SppSession, SppStatus};
use crate::{
    chapters::spp::session::scene_source,
    i18n::{t, t_string, use_i18n},
    shell::{format::fill, widget::UrlNotices},
};

#[derive(Debug, Clone, PartialEq)]
struct Finish {
    rcnn: Lap,
    spp: Lap,
    adapter: Option<String>,
}

/// Where the race is.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Stage {
    Idle,
    Running(Pipeline),
}

#[component]
pub fn SppRace() -> impl IntoView {
    let i18n = use_i18n();
    let session = SppSession::use_or_new();
    let finish = RwSignal::new(None::<Finish>);
    let stage = RwSignal::new(Stage::Idle);
    let total = grid().len() as u32;
    let start = move |_| {
        if stage.get_untracked() != Stage::Idle {
            return;
        }
        let s = session.state.get_untracked();
        let windows = spread(&grid(), s.windows as usize);
        stage.set(Stage::Running(Pipeline::Rcnn));
        spawn_local(async move {
            let outcome = async {
                let image = scene_source()
                    .await
                    .and_then(|f| f.scene(s.scene))
                    .map_err(SppError::Load)?
                    .pixels;
                let runner = session.runner().await?;
                let failed = |e: compute::ComputeError| SppError::Failed(e.to_string());
                // Warm-up: the first dispatch of a kernel compiles it.
                for p in [Pipeline::Rcnn, Pipeline::Spp] {
                    runner.run(p, &image, &windows[..1]).await.map_err(failed)?;
                }
                // Let the status line show before a long CPU run.
                gloo_timers::future::TimeoutFuture::new(0).await;
                let rcnn = runner
                    .run(Pipeline::Rcnn, &image, &windows)
                    .await
                    .map_err(failed)?;
                stage.set(Stage::Running(Pipeline::Spp));
                gloo_timers::future::TimeoutFuture::new(0).await;
                let spp = runner
                    .run(Pipeline::Spp, &image, &windows)
                    .await
                    .map_err(failed)?;
                Ok::<_, SppError>(Finish {
                    rcnn,
                    spp,
                    adapter: runner.adapter_name(),
                })
            }
            .await;
            stage.set(Stage::Idle);
            session.finish(outcome, |f| finish.set(Some(f)));
        });
    };
    let row = move |lap: Lap| {
        let conv = lap.pipeline.conv_flops(lap.windows) / 1e9;
        let head = Pipeline::head_flops(lap.windows) / 1e9;
        let key = match lap.pipeline {
            Pipeline::Rcnn => "rcnn",
            Pipeline::Spp => "spp",
        };
        view! {
            <tr data-testid=format!("spp-race-{key}") data-ms=lap.ms.to_string()>
                <th scope="row">{lap.pipeline.name()}</th>
                <td>{lap.windows}</td>
                <td>{format!("{conv:.2}")}</td>
                <td>{format!("{head:.2}")}</td>
                <td data-testid=format!("spp-race-{key}-ms")>{format!("{:.1}", lap.ms)}</td>
            </tr>
        }
    };
    view! {
        <section class="widget" data-testid="spp-race" aria-labelledby="spp-race-title">
            <h2 id="spp-race-title">{t!(i18n, spp.race_title)}</h2>
            <p>{t!(i18n, spp.race_intro)}</p>
            <UrlNotices notices=session.notices/>
            <SppStatus session/>
            <form class="controls" on:submit=|ev| ev.prevent_default()>
                <label>
                    <span>{move || fill(t_string!(i18n, spp.race_windows), &[("n", &session.state.get().windows)])}</span>
                    <input type="range" min="1" max=total data-testid="spp-race-windows"
                        prop:value=move || session.state.get().windows.to_string()
                        on:change={move |ev| { if let Ok(n) = event_target_value(&ev).parse::<u32>() {
                            session.update(|s| s.windows = n.clamp(1, total));
                        } }}/>
                </label>
                <button type="button" data-testid="spp-race-run" on:click=start
                    disabled=move || stage.get() != Stage::Idle>
                    {t!(i18n, spp.race_run)}
                </button>
            </form>
            <p role="status" data-testid="spp-race-status">
                {move || match stage.get() {
                    Stage::Running(p) => fill(t_string!(i18n, spp.race_running), &[("pipeline", &p.name())]),
                    Stage::Idle => String::new(),
                }}
            </p>
            {move || finish.get().map(|f| {
                let speedup = f.rcnn.ms / f.spp.ms.max(1e-3);
                let agree = join(f.spp.outputs.iter().step_by(5).take(3).map(|&v| v as f64));
                view! {
                    <div class="table-scroll" tabindex="0">
                    <table class="facts spp-race-table" data-testid="spp-race-result"
                        data-speedup=speedup.to_string() data-spp-logits=agree>
                        <caption>{fill(t_string!(i18n, spp.race_caption), &[
                            ("backend", &backend_name(f.adapter.as_deref(), i18n.get_locale())),
                        ])}</caption>
                        <thead><tr>
                            <th scope="col"></th>
                            <th scope="col">{t!(i18n, spp.race_col_windows)}</th>
                            <th scope="col">{t!(i18n, spp.race_col_conv)}</th>
                            <th scope="col">{t!(i18n, spp.race_col_head)}</th>
                            <th scope="col">{t!(i18n, spp.race_col_ms)}</th>
                        </tr></thead>
                        <tbody>{row(f.rcnn.clone())}{row(f.spp.clone())}</tbody>
                    </table>
                    </div>
                    <p class="spp-speedup" data-testid="spp-race-speedup">
                        {fill(t_string!(i18n, spp.race_speedup), &[("x", &format!("{speedup:.1}"))])}
                    </p>
                }
            })}
        </section>
    }
}
