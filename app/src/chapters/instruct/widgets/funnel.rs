//! Self-instruct's funnel, as the trainer counted it (generated → within
//! the length and blacklist rules → parsed → novel → answered correctly →
//! kept), with examples of what each filter dropped; and the nearest
//! instructions in the pool to the one typed, by character ROUGE-L, with
//! self-instruct's 0.7 line.

use compute::instruct::rouge::{nearest, NOVELTY_THRESHOLD};
use leptos::{prelude::*, task::spawn_local};

use super::{instruction_field, use_instruct_state};
use crate::{
    chapters::{
        autoregressive::session::ModelLoadError,
        instruct::session::{instruct_metrics, instruct_pool, InstructMetrics},
    },
    i18n::{t, t_string, use_i18n},
    shell::format::fill,
};

/// The dropped examples' reasons as the trainer names them, with their keys.
fn reason(locale: crate::i18n::Locale, key: &str) -> String {
    use crate::i18n::td_string;
    match key {
        "too short" => td_string!(locale, instruct.drop_short).to_string(),
        "too long" => td_string!(locale, instruct.drop_long).to_string(),
        "blacklisted" => td_string!(locale, instruct.drop_blacklist).to_string(),
        "does not parse" => td_string!(locale, instruct.drop_parse).to_string(),
        "not novel" => td_string!(locale, instruct.drop_novel).to_string(),
        "answered wrongly" => td_string!(locale, instruct.drop_wrong).to_string(),
        other => other.to_string(),
    }
}

#[component]
pub fn InstructFunnel() -> impl IntoView {
    let i18n = use_i18n();
    let (state, _notices, write_state) = use_instruct_state();
    let metrics = LocalResource::new(instruct_metrics);
    let (pool_error, set_pool_error) = signal(None::<ModelLoadError>);
    // The nearest instructions, again whenever the instruction changes.
    let near = RwSignal::new(None::<Vec<(String, f64, bool)>>);
    Effect::new(move |_| {
        let text = state.get().instruction;
        spawn_local(async move {
            match instruct_pool().await {
                Ok(pool) => {
                    let rows = nearest(&text, &pool.tokens, 5)
                        .into_iter()
                        .map(|(i, score)| (pool.texts[i].clone(), score, i < pool.seeds))
                        .collect();
                    let _ = near.try_set(Some(rows));
                }
                Err(e) => {
                    let _ = set_pool_error.try_set(Some(e));
                }
            }
        });
    });
    let stages = move |m: &InstructMetrics| {
        let f = &m.funnel;
        let locale = i18n.get_locale();
        use crate::i18n::td_string;
        vec![
            (
                "generated",
                td_string!(locale, instruct.stage_generated),
                f.generated,
            ),
            (
                "length",
                td_string!(locale, instruct.stage_length),
                f.length_and_blacklist,
            ),
            (
                "parsed",
                td_string!(locale, instruct.stage_parsed),
                f.parsed,
            ),
            ("novel", td_string!(locale, instruct.stage_novel), f.novel),
            (
                "answered",
                td_string!(locale, instruct.stage_answered),
                f.answered_correctly,
            ),
            ("kept", td_string!(locale, instruct.stage_kept), f.kept),
        ]
    };
    let set_instruction = move |v: String| {
        let mut s = state.get_untracked();
        s.instruction = v;
        write_state(s);
    };
    view! {
        <section class="widget instruct-funnel" data-testid="instruct-funnel-widget">
            <h3>{t!(i18n, instruct.funnel_title)}</h3>
            <Suspense fallback=move || view! { <p>{t!(i18n, instruct.loading_metrics)}</p> }>
                {move || metrics.get().map(|m| match m {
                    Err(e) => view! { <p class="error" role="alert">{move || e.say(i18n.get_locale())}</p> }.into_any(),
                    Ok(m) => {
                        let total = m.funnel.generated.max(1);
                        let rows = stages(&m);
                        let dropped = m.funnel.dropped_examples.clone();
                        view! {
                            <div class="table-scroll" tabindex="0">
                                <table class="numbers" data-testid="instruct-funnel" data-kept=m.funnel.kept data-generated=m.funnel.generated>
                                    <caption>{fill(t_string!(i18n, instruct.funnel_caption), &[("attempts", &m.funnel.attempts), ("pairs", &m.round0.pairs)])}</caption>
                                    <thead><tr>
                                        <th scope="col">{t!(i18n, instruct.funnel_stage)}</th>
                                        <th scope="col">{t!(i18n, instruct.funnel_count)}</th>
                                        <th scope="col">{t!(i18n, instruct.funnel_share)}</th>
                                    </tr></thead>
                                    <tbody>
                                        {rows.into_iter().map(|(key, name, n)| view! {
                                            <tr data-stage=key>
                                                <th scope="row">{name}</th>
                                                <td>{n}</td>
                                                <td>{format!("{:.1}%", 100.0 * n as f64 / total as f64)}</td>
                                            </tr>
                                        }).collect_view()}
                                    </tbody>
                                </table>
                            </div>
                            <details class="dropped">
                                <summary>{t!(i18n, instruct.dropped_summary)}</summary>
                                <dl>
                                    {dropped.into_iter().map(|(why, examples)| view! {
                                        <dt>{reason(i18n.get_locale(), &why)}</dt>
                                        {examples.into_iter().map(|x| view! { <dd lang="zh">{x}</dd> }).collect_view()}
                                    }).collect_view()}
                                </dl>
                            </details>
                        }.into_any()
                    }
                })}
            </Suspense>
            <h4>{t!(i18n, instruct.nearest_title)}</h4>
            {move || pool_error.get().map(|e| view! {
                <p class="error" role="alert">{move || e.say(i18n.get_locale())}</p>
            })}
            <form class="controls" on:submit=|ev| ev.prevent_default()>
                {instruction_field("instruct-probe", state, set_instruction)}
            </form>
            {move || near.get().map(|rows| {
                let over = rows.iter().filter(|r| r.1 > NOVELTY_THRESHOLD).count();
                let top = rows.first().map(|r| format!("{:.3}", r.1)).unwrap_or_default();
                view! {
                    <ol class="nearest" data-testid="instruct-nearest" data-top=top>
                        {rows.into_iter().map(|(text, score, seed)| view! {
                            <li class={if score > NOVELTY_THRESHOLD { "near-dropped" } else { "near-new" }}>
                                <span class="near-bar" style=format!("--score: {:.3}", score) aria-hidden="true"></span>
                                <span lang="zh">{text}</span>" "
                                <span class="note">{move || fill(
                                    if seed { t_string!(i18n, instruct.near_seed) } else { t_string!(i18n, instruct.near_kept) },
                                    &[("score", &format!("{score:.2}"))],
                                )}</span>
                            </li>
                        }).collect_view()}
                    </ol>
                    <p class="note">{move || fill(t_string!(i18n, instruct.nearest_note), &[("over", &over), ("line", &NOVELTY_THRESHOLD)])}</p>
                }
            })}
        </section>
    }
}
