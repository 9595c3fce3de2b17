//! Our small replication of the LoRA paper's Table 6: every rank from 1
//! to 16 on W_q and W_v, and on every matrix, for each held-out poet, from
//! the committed runs (`cargo xtask train lora-table`), with full
//! fine-tuning as the reference point and the paper's own numbers beside.

use compute::models::llama::lora::report::{PAPER_RANKS, PAPER_SOURCE, PAPER_TABLE6};
use leptos::prelude::*;

use super::{poet_name, targets_label, use_lora_state};
use crate::{
    chapters::lora::session::rank_table,
    i18n::{t, t_string, use_i18n},
    shell::format::fill,
};

#[component]
pub fn LoraTable() -> impl IntoView {
    let i18n = use_i18n();
    let (state, _, _) = use_lora_state();
    let table = LocalResource::new(rank_table);
    let d = |before: f64, after: f64| format!("{:+.3}", after - before);
    view! {
        <section class="widget lora-table" data-testid="lora-table-widget">
            <h3>{t!(i18n, lora.table_title)}</h3>
            <Suspense fallback=move || view! { <p role="status">{t!(i18n, lora.preparing)}</p> }>
                {move || table.get().map(|r| match r {
                    Err(e) => view! { <p class="error" role="alert">{e.say(i18n.get_locale())}</p> }.into_any(),
                    Ok(tab) => {
                        let poet = poet_name(state.get().poet()).to_string();
                        let runs: Vec<_> = tab.runs.iter().filter(|r| r.poet == poet).cloned().collect();
                        let full = tab.full_fine_tune.iter().find(|f| f.poet == poet).cloned();
                        let first = runs.first().cloned();
                        view! {
                            <div class="table-scroll" tabindex="0">
                                <table data-testid="lora-rank-table" data-rows=tab.runs.len()>
                                    <caption>{fill(t_string!(i18n, lora.table_caption), &[
                                        ("poet", &poet),
                                        ("before", &first.as_ref().map_or(String::new(), |f| format!("{:.3}", f.poet_nll_before))),
                                        ("others", &first.as_ref().map_or(String::new(), |f| format!("{:.3}", f.others_nll_before))),
                                    ])}</caption>
                                    <thead><tr>
                                        <th scope="col">{t!(i18n, lora.targets)}</th>
                                        <th scope="col">{t!(i18n, lora.rank)}</th>
                                        <th scope="col">{t!(i18n, lora.sizes_params)}</th>
                                        <th scope="col">{fill(t_string!(i18n, lora.nll_own), &[("poet", &poet)])}</th>
                                        <th scope="col">{t!(i18n, lora.nll_change)}</th>
                                        <th scope="col">{t!(i18n, lora.nll_others)}</th>
                                        <th scope="col">{t!(i18n, lora.nll_change)}</th>
                                    </tr></thead>
                                    <tbody>
                                        {runs.iter().map(|r| {
                                            let tg = compute::models::llama::lora::Targets::from_key(&r.targets);
                                            view! {
                                                <tr>
                                                    <td>{move || tg.map_or(String::new(), |tg| targets_label(i18n.get_locale(), tg).to_string())}</td>
                                                    <td>{r.rank}</td>
                                                    <td>{crate::shell::format::group(r.trainable_params as u64)}</td>
                                                    <td>{format!("{:.3}", r.poet_nll_after)}</td>
                                                    <td>{d(r.poet_nll_before, r.poet_nll_after)}</td>
                                                    <td>{format!("{:.3}", r.others_nll_after)}</td>
                                                    <td>{d(r.others_nll_before, r.others_nll_after)}</td>
                                                </tr>
                                            }
                                        }).collect_view()}
                                        {full.map(|f| view! {
                                            <tr class="reference">
                                                <td colspan="2">{t!(i18n, lora.full_fine_tune)}</td>
                                                <td>{crate::shell::format::group(f.trainable_params as u64)}</td>
                                                <td>{format!("{:.3}", f.poet_nll_after)}</td>
                                                <td>{d(f.poet_nll_before, f.poet_nll_after)}</td>
                                                <td>{format!("{:.3}", f.others_nll_after)}</td>
                                                <td>{d(f.others_nll_before, f.others_nll_after)}</td>
                                            </tr>
                                        })}
                                    </tbody>
                                </table>
                            </div>
                            <p class="note">{t!(i18n, lora.table_note)}</p>
                            <div class="note"><code>"cargo xtask train lora-table"</code></div>
                        }.into_any()
                    }
                })}
            </Suspense>
            <div class="table-scroll" tabindex="0">
                <table data-testid="lora-paper-table">
                    <caption>{t!(i18n, lora.paper_caption)}</caption>
                    <thead><tr>
                        <th scope="col">{t!(i18n, lora.paper_task)}</th>
                        <th scope="col">{t!(i18n, lora.targets)}</th>
                        {PAPER_RANKS.iter().map(|r| view! { <th scope="col">{format!("r = {r}")}</th> }).collect_view()}
                    </tr></thead>
                    <tbody>
                        {PAPER_TABLE6.iter().map(|row| view! {
                            <tr>
                                <td>{row.task}</td>
                                <td>{row.weights}</td>
                                {row.accuracy.iter().map(|a| view! { <td>{format!("{a:.1}")}</td> }).collect_view()}
                            </tr>
                        }).collect_view()}
                    </tbody>
                </table>
            </div>
            <div class="source note">{t!(i18n, lora.paper_source)} " " <cite lang="en">{PAPER_SOURCE}</cite></div>
        </section>
    }
}
