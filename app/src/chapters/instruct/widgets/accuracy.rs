//! The accuracy table: per instruction type, how often the verifier passes
//! chapter 4's model given the instruction's text, the tuned model, and
//! chapter 4's forced decoding (the upper reference, where forcing can
//! state the constraint), on held-out instructions; and what tuning cost
//! chapter 4's own task (NLL on its test poems).

use compute::instruct::Kind;
use leptos::prelude::*;

use super::kind_name;
use crate::{
    chapters::instruct::session::instruct_metrics,
    i18n::{t, t_string, use_i18n},
    shell::format::fill,
};

fn percent(v: f64) -> String {
    format!("{:.0}%", 100.0 * v)
}

#[component]
pub fn InstructAccuracy() -> impl IntoView {
    let i18n = use_i18n();
    let metrics = LocalResource::new(instruct_metrics);
    view! {
        <section class="widget instruct-accuracy" data-testid="instruct-accuracy-widget">
            <h3>{t!(i18n, instruct.accuracy_title)}</h3>
            <Suspense fallback=move || view! { <p>{t!(i18n, instruct.loading_metrics)}</p> }>
                {move || metrics.get().map(|m| match m {
                    Err(e) => view! { <p class="error" role="alert">{move || e.say(i18n.get_locale())}</p> }.into_any(),
                    Ok(m) => {
                        let a = m.accuracy.clone();
                        let rows: Vec<_> = Kind::ALL
                            .into_iter()
                            .filter_map(|k| a.table.per_kind.get(k.name()).cloned().map(|r| (k, r)))
                            .collect();
                        let f = m.forgetting.clone();
                        let r = m.recipe.clone();
                        let minutes = m.training.training_seconds / 60.0;
                        view! {
                            <div class="table-scroll" tabindex="0">
                                <table class="numbers" data-testid="instruct-accuracy" data-average=format!("{:.4}", a.table.average_tuned)>
                                    <caption>{fill(t_string!(i18n, instruct.accuracy_caption), &[("temperature", &a.temperature), ("seed", &a.seed)])}</caption>
                                    <thead><tr>
                                        <th scope="col">{t!(i18n, instruct.col_kind)}</th>
                                        <th scope="col">{t!(i18n, instruct.col_n)}</th>
                                        <th scope="col">{t!(i18n, instruct.col_base)}</th>
                                        <th scope="col">{t!(i18n, instruct.col_tuned)}</th>
                                        <th scope="col">{t!(i18n, instruct.col_forced)}</th>
                                    </tr></thead>
                                    <tbody>
                                        {rows.into_iter().map(|(k, row)| view! {
                                            <tr data-kind=k.name()>
                                                <th scope="row">{move || kind_name(i18n.get_locale(), k)}</th>
                                                <td>{row.n}</td>
                                                <td>{percent(row.base)}</td>
                                                <td>{percent(row.tuned)}</td>
                                                <td>{row.forced.map_or("—".to_string(), percent)}</td>
                                            </tr>
                                        }).collect_view()}
                                        <tr>
                                            <th scope="row">{t!(i18n, instruct.row_average)}</th>
                                            <td></td>
                                            <td>{percent(a.table.average_base)}</td>
                                            <td>{percent(a.table.average_tuned)}</td>
                                            <td></td>
                                        </tr>
                                    </tbody>
                                </table>
                            </div>
                            <p class="note">{t!(i18n, instruct.forced_note)}</p>
                            <p data-testid="instruct-forgetting">{move || fill(t_string!(i18n, instruct.forgetting), &[
                                ("poems", &f.test_poems),
                                ("base", &format!("{:.3}", f.base_nats_per_token)),
                                ("tuned", &format!("{:.3}", f.tuned_nats_per_token)),
                                ("diff", &format!("{:+.3}", f.difference)),
                            ])}</p>
                            <p class="note">{move || fill(t_string!(i18n, instruct.trained_note), &[
                                ("lora", &r.trainable_lora_params),
                                ("rows", &r.trainable_new_row_params),
                                ("tokens", &r.new_tokens),
                                ("share", &format!("{:.1}", 100.0 * r.trainable_params as f64 / r.base_params as f64)),
                                ("rank", &r.lora_rank),
                                ("minutes", &format!("{minutes:.0}")),
                            ])}</p>
                        }.into_any()
                    }
                })}
            </Suspense>
        </section>
    }
}
