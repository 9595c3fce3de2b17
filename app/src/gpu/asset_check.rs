//! `/gpu` downloads check: fetches every asset in the manifest with a
//! progress bar and verifies its size and hash, so a lecturer can warm the
//! cache (and see that it works) before class.

use leptos::{prelude::*, task::spawn_local};

use crate::{
    i18n::{t, t_string, use_i18n},
    shell::{
        assets::{fetch_asset, manifest, FetchError},
        format::fill,
    },
};

#[derive(Debug, Clone, PartialEq)]
struct Line {
    path: String,
    loaded: u64,
    total: u64,
    outcome: Option<Result<(), FetchError>>,
}

#[component]
pub fn AssetCheck() -> impl IntoView {
    let i18n = use_i18n();
    let lines = RwSignal::new(Vec::<Line>::new());
    let status = RwSignal::new("idle");
    let check = move |_| {
        status.set("running");
        spawn_local(async move {
            let m = match manifest().await {
                Ok(m) => m,
                Err(e) => {
                    lines.set(vec![Line {
                        path: "manifest.json".into(),
                        loaded: 0,
                        total: 0,
                        outcome: Some(Err(e)),
                    }]);
                    status.set("failed");
                    return;
                }
            };
            let used: Vec<_> = m
                .assets
                .iter()
                .filter(|a| !a.training_only)
                .cloned()
                .collect();
            lines.set(
                used.iter()
                    .map(|a| Line {
                        path: a.path.clone(),
                        loaded: 0,
                        total: a.bytes,
                        outcome: None,
                    })
                    .collect(),
            );
            let mut all_ok = true;
            for (i, entry) in used.iter().enumerate() {
                let result = fetch_asset(&entry.path, &m, |loaded, total| {
                    lines.update(|l| {
                        l[i].loaded = loaded;
                        l[i].total = total;
                    })
                })
                .await;
                all_ok &= result.is_ok();
                lines.update(|l| l[i].outcome = Some(result.map(drop)));
            }
            status.set(if all_ok { "done" } else { "failed" });
        });
    };
    view! {
        <section class="widget" data-testid="asset-check" data-status=move || status.get()>
            <h2>{t!(i18n, gpu.assets_title)}</h2>
            <p>{t!(i18n, gpu.assets_intro)}</p>
            <button type="button" data-testid="asset-check-run" on:click=check>{t!(i18n, gpu.assets_run)}</button>
            <ul class="downloads">
                {move || lines.get().into_iter().map(|l| {
                    let verdict = match &l.outcome {
                        None => "…".to_string(),
                        Some(Ok(())) => t_string!(i18n, gpu.assets_verified).to_string(),
                        Some(Err(e)) => format!("✗ {}", e.say(i18n.get_locale())),
                    };
                    view! {
                        <li>
                            <code>{l.path}</code>
                            <progress max=l.total.max(1) value=l.loaded></progress>
                            {format!(
                                " {} ",
                                fill(
                                    t_string!(i18n, gpu.assets_bytes),
                                    &[("loaded", &l.loaded), ("total", &l.total)],
                                )
                            )}
                            <span class=if matches!(l.outcome, Some(Err(_))) { "fail" } else { "" }>{verdict}</span>
                        </li>
                    }
                }).collect_view()}
            </ul>
        </section>
    }
}
