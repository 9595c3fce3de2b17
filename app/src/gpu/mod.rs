//! The GPU page, `/gpu`: the adapter, its limits and features, the kernel
//! self-test and benchmarks, and the asset check. Not a chapter, but a
//! chunk of its own like one.

pub mod asset_check;
pub mod bench;
pub mod profile;
pub mod selftest;

use compute::Backend;
use leptos::{prelude::*, wasm_split::wasm_split};

use crate::{
    i18n::{t, t_string, use_i18n},
    shell::{
        chapter::{ChunkError, ChunkFuture, Page},
        format::fill,
        live_backend::LiveBackend,
        page_parts::EmbedHint,
        text::text,
        widget::Widget,
    },
};
use asset_check::AssetCheck;
use bench::GpuBench;
use profile::GpuProfile;
use selftest::GpuSelfTest;

pub const SELFTEST: Widget = Widget {
    slug: "gpu-selftest",
    title: text!(gpu.widget_selftest),
};

pub const BENCH: Widget = Widget {
    slug: "gpu-bench",
    title: text!(gpu.widget_bench),
};

pub const PROFILE: Widget = Widget {
    slug: "gpu-profile",
    title: text!(gpu.widget_profile),
};

pub static PAGE: Page = Page {
    slug: "gpu",
    title: text!(shell.gpu_title),
    widgets: &[SELFTEST, BENCH, PROFILE],
    load,
};

fn load(widget: Option<Widget>) -> ChunkFuture {
    Box::pin(gpu_chunk(widget))
}

#[wasm_split(gpu, wasm_split_path = ::leptos::wasm_split, fallible)]
fn gpu_chunk(widget: Option<Widget>) -> Result<AnyView, ChunkError> {
    let i18n = use_i18n();
    Ok(match widget {
        Some(w) if w == SELFTEST => view! { <GpuSelfTest/> }.into_any(),
        Some(w) if w == BENCH => view! { <GpuBench/> }.into_any(),
        Some(w) if w == PROFILE => view! { <GpuProfile/> }.into_any(),
        _ => view! {
            <article data-testid="gpu-page">
                <h1 data-testid="page-title">{t!(i18n, shell.gpu_title)}</h1>
                <GpuInfo/>
                <GpuSelfTest/>
                <EmbedHint widget=SELFTEST/>
                <GpuBench/>
                <EmbedHint widget=BENCH/>
                <GpuProfile/>
                <EmbedHint widget=PROFILE/>
                <AssetCheck/>
            </article>
        }
        .into_any(),
    })
}

/// Adapter, limits and features, or why the page fell back to the CPU.
#[component]
fn GpuInfo() -> impl IntoView {
    let backend = LiveBackend::expect().0;
    let i18n = use_i18n();
    view! {
        <Suspense fallback=move || view! { <p role="status">{t!(i18n, shell.gpu_asking)}</p> }>
            {move || Suspend::new(async move {
                match backend.await {
                    Backend::Gpu(exec) => {
                        let s = exec.ctx().summary();
                        let features = s.features.len();
                        view! {
                            <section class="gpu-info" data-testid="gpu-info">
                                <dl>
                                    <dt>{t!(i18n, shell.gpu_adapter)}</dt><dd data-testid="gpu-adapter">{s.adapter_name}</dd>
                                    <dt>{t!(i18n, shell.gpu_backend)}</dt><dd>{s.backend}</dd>
                                    <dt>{t!(i18n, shell.gpu_device_type)}</dt><dd>{s.device_type}</dd>
                                    <dt>{t!(i18n, shell.gpu_driver)}</dt>
                                    <dd>
                                        {if s.driver.is_empty() {
                                            t!(i18n, shell.gpu_driver_unknown).into_any()
                                        } else {
                                            s.driver.into_any()
                                        }}
                                    </dd>
                                </dl>
                                <h2>{t!(i18n, shell.gpu_limits_heading)}</h2>
                                <table class="limits">
                                    <thead>
                                        <tr>
                                            <th scope="col">{t!(i18n, shell.gpu_limit)}</th>
                                            <th scope="col">{t!(i18n, shell.gpu_value)}</th>
                                        </tr>
                                    </thead>
                                    <tbody>
                                        {s.limits
                                            .into_iter()
                                            .map(|(name, value)| view! { <tr><td><code>{name}</code></td><td>{value}</td></tr> })
                                            .collect_view()}
                                    </tbody>
                                </table>
                                <details>
                                    <summary>
                                        {move || fill(t_string!(i18n, shell.gpu_features), &[("count", &features)])}
                                    </summary>
                                    <ul class="features">
                                        {s.features.into_iter().map(|f| view! { <li><code>{f}</code></li> }).collect_view()}
                                    </ul>
                                </details>
                            </section>
                        }
                        .into_any()
                    }
                    Backend::Cpu(reason) => view! {
                        <section class="gpu-info" data-testid="gpu-info">
                            <p data-testid="gpu-unavailable">
                                <strong>{t!(i18n, shell.gpu_none)}</strong>
                                {move || crate::shell::live_backend::why_cpu(i18n.get_locale(), &reason)}
                            </p>
                            <p>{t!(i18n, shell.gpu_cpu_fallback)}</p>
                        </section>
                    }
                    .into_any(),
                }
            })}
        </Suspense>
    }
}
