//! What an adapter learned: the singular values of each update ΔW (at most
//! r are non-zero, which is what low rank means), how far each matrix moved
//! against its own size, and the merge W' = W + (α/r)·B·A checked against
//! the unmerged model on a batch of held-out poems.

use std::sync::Arc;

use compute::models::llama::lora::{
    cpu::merge_gap,
    report::{changes, MatrixChange},
    Adapter,
};
use leptos::{prelude::*, task::spawn_local};

use super::{poet_name, use_lora_state, POET_SLUGS};
use crate::{
    chapters::lora::session::{lora_session, LoraSession, Yours},
    i18n::{t, t_string, use_i18n},
    shell::{format::fill, live_backend},
};

#[derive(Debug, Clone, PartialEq)]
struct Inside {
    changes: Vec<MatrixChange>,
    merge_gap: f32,
    rank: usize,
    logits: usize,
}

fn look(session: &LoraSession, adapter: &Adapter, poet: usize) -> Result<Inside, String> {
    let (held, _) = session.eval_sets(poet);
    let batch = held
        .all_batches(2)
        .into_iter()
        .next()
        .ok_or_else(|| "no held-out poems".to_string())?;
    let model = &session.llama.model;
    let (gap, logits) =
        merge_gap(model, &session.frozen, adapter, &batch).map_err(|e| e.to_string())?;
    Ok(Inside {
        changes: changes(model, adapter),
        merge_gap: gap,
        rank: adapter.config.rank,
        logits,
    })
}

#[component]
pub fn LoraInside() -> impl IntoView {
    let i18n = use_i18n();
    let (state, _, _) = use_lora_state();
    let yours = Yours::provide();
    let inside = RwSignal::new(None::<Inside>);
    let error = RwSignal::new(None::<String>);
    let latest = StoredValue::new(0u64);
    Effect::new(move |_| {
        let s = state.get();
        let mine = yours.0.get();
        let ticket = latest.get_value() + 1;
        latest.set_value(ticket);
        spawn_local(async move {
            let backend = live_backend::backend().await;
            let Ok(session) = lora_session(&backend, |_, _| {}).await else {
                return;
            };
            let adapter: Option<Arc<Adapter>> = match s.swap.as_str() {
                "yours" => mine,
                p => POET_SLUGS
                    .iter()
                    .position(|&x| x == p)
                    .map(|i| session.shipped[i].clone()),
            };
            let Some(adapter) = adapter else {
                inside.set(None);
                return;
            };
            crate::chapters::autoregressive::widgets::next_frame().await;
            if latest.try_get_value() != Some(ticket) {
                return;
            }
            match look(&session, &adapter, s.poet()) {
                Ok(v) => {
                    inside.set(Some(v));
                    error.set(None);
                }
                Err(e) => error.set(Some(e)),
            }
        });
    });
    view! {
        <section class="widget lora-inside" data-testid="lora-inside-widget">
            <h3>{t!(i18n, lora.inside_title)}</h3>
            {move || error.get().map(|e| view! {
                <p class="error" role="alert">{fill(t_string!(i18n, lora.run_failed), &[("detail", &e)])}</p>
            })}
            {move || {
                let s = state.get();
                match inside.get() {
                    None if s.swap == "base" => view! { <p>{t!(i18n, lora.inside_pick)}</p> }.into_any(),
                    None => view! { <p role="status">{t!(i18n, lora.preparing)}</p> }.into_any(),
                    Some(v) => {
                        let which = match s.swap.as_str() {
                            "yours" => t_string!(i18n, lora.swap_yours).to_string(),
                            p => fill(t_string!(i18n, lora.swap_poet), &[("poet", &poet_name(POET_SLUGS.iter().position(|&x| x == p).unwrap_or(0)))]),
                        };
                        let top = v.changes.iter().map(|c| c.relative).fold(0f32, f32::max).max(f32::MIN_POSITIVE);
                        let largest = v.changes.iter().flat_map(|c| c.singular_values.first().copied()).fold(0f32, f32::max).max(f32::MIN_POSITIVE);
                        let mut order: Vec<usize> = (0..v.changes.len()).collect();
                        order.sort_by(|&a, &b| v.changes[b].relative.total_cmp(&v.changes[a].relative));
                        let most = order.first().map(|&i| &v.changes[i]).map(|c| format!("layers.{}.{}", c.layer, c.linear_name())).unwrap_or_default();
                        view! {
                            <p data-testid="lora-merge" data-gap=v.merge_gap.to_string()>
                                {fill(t_string!(i18n, lora.merge_check), &[
                                    ("which", &which),
                                    ("gap", &format!("{:.2e}", v.merge_gap)),
                                    ("logits", &v.logits),
                                ])}
                            </p>
                            <p>{fill(t_string!(i18n, lora.changed_most), &[("matrix", &most)])}</p>
                            <div class="table-scroll" tabindex="0"><table class="lora-svd" data-testid="lora-svd">
                                <caption>{fill(t_string!(i18n, lora.svd_caption), &[("rank", &v.rank)])}</caption>
                                <thead><tr>
                                    <th scope="col">{t!(i18n, lora.svd_matrix)}</th>
                                    <th scope="col">{t!(i18n, lora.svd_values)}</th>
                                    <th scope="col">{t!(i18n, lora.svd_relative)}</th>
                                </tr></thead>
                                <tbody>
                                    {v.changes.iter().map(|c| {
                                        let bars = c.singular_values.iter().map(|&sv| view! {
                                            <span class="sv-bar" style=format!("width:{:.1}%", 100.0 * sv / largest)></span>
                                        }).collect_view();
                                        let values = c.singular_values.iter().map(|v| format!("{v:.3}")).collect::<Vec<_>>().join(", ");
                                        view! {
                                            <tr>
                                                <th scope="row"><code>{format!("layers.{}.{}", c.layer, c.linear_name())}</code></th>
                                                <td><div class="sv-bars" aria-hidden="true">{bars}</div><small>{values}</small></td>
                                                <td>
                                                    <span class="bar" aria-hidden="true" style=format!("width:{:.1}rem", 5.0 * c.relative / top)></span>
                                                    {format!("{:.2}%", 100.0 * c.relative)}
                                                </td>
                                            </tr>
                                        }
                                    }).collect_view()}
                                </tbody>
                            </table></div>
                        }.into_any()
                    }
                }
            }}
        </section>
    }
}

trait LinearName {
    fn linear_name(&self) -> &'static str;
}

impl LinearName for MatrixChange {
    fn linear_name(&self) -> &'static str {
        self.linear.name()
    }
}
