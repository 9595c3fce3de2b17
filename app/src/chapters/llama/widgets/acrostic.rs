//! 藏头诗: the visitor's characters open the lines. Constrained decoding at
//! its simplest: at each line's first position the draw is replaced by the
//! given character, and the table shows what that cost in log-probability
//! against the character the model liked best there.

use compute::models::llama::top_choices;
use leptos::prelude::*;

use super::{
    use_llama_state,
    write::{token_text, use_written, PoemView},
};
use crate::shell::script::use_poem_script;
use crate::{
    chapters::autoregressive::widgets::LoadStatus,
    i18n::{t, t_string, use_i18n},
    shell::{math::Prose, widget::UrlNotices},
};

#[component]
pub fn LlamaAcrostic() -> impl IntoView {
    let i18n = use_i18n();
    let (state, notices, write) = use_llama_state();
    let poems = use_poem_script();
    let (written, progress, error, run_error) = use_written(state, true);
    let selected = Signal::derive(|| 0usize);
    let costs = move || {
        written.with(|w| {
            let w = w.as_ref()?;
            let end = t_string!(i18n, llama.end_token).to_string();
            let rows = w
                .generation
                .forced
                .iter()
                .filter_map(|&(pos, id)| {
                    let logits = w.trace.logits.get(pos - 1)?;
                    let best = top_choices(logits, 1.0, 1)[0];
                    let probs = compute::reference::filter::tempered_probs(logits, 1.0);
                    let forced_lp = (probs[id as usize] as f64).ln();
                    let best_lp = (best.1 as f64).ln();
                    Some(view! {
                        <tr data-pos=pos>
                            <td lang=poems.lang()>{poems.show(&token_text(&w.tokenizer, id, &end))}</td>
                            <td>{format!("{forced_lp:.2}")}</td>
                            <td lang=poems.lang()>{poems.show(&token_text(&w.tokenizer, best.0, &end))}</td>
                            <td>{format!("{best_lp:.2}")}</td>
                            <td data-testid="llama-acrostic-cost">{format!("{:.2}", best_lp - forced_lp)}</td>
                        </tr>
                    })
                })
                .collect_view();
            Some(view! {
                <div class="table-scroll" tabindex="0">
                    <table class="facts" data-testid="llama-acrostic-costs">
                        <thead>
                            <tr>
                                <th scope="col">{t!(i18n, llama.acrostic_forced)}</th>
                                <th scope="col">{t!(i18n, llama.acrostic_forced_lp)}</th>
                                <th scope="col">{t!(i18n, llama.acrostic_best)}</th>
                                <th scope="col">{t!(i18n, llama.acrostic_best_lp)}</th>
                                <th scope="col">{t!(i18n, llama.acrostic_cost)}</th>
                            </tr>
                        </thead>
                        <tbody>{rows}</tbody>
                    </table>
                </div>
            })
        })
    };
    let error_text = move || {
        run_error.get().map(
            |e| view! { <p class="error" role="alert" data-testid="llama-acrostic-error">{e}</p> },
        )
    };
    view! {
        <section class="widget" data-testid="llama-acrostic" aria-labelledby="llama-acrostic-title">
            <h2 id="llama-acrostic-title">{t!(i18n, llama.acrostic_title)}</h2>
            <p>{move || view! { <Prose text=t_string!(i18n, llama.acrostic_intro).to_string()/> }}</p>
            <UrlNotices notices/>
            <form class="controls" on:submit=|ev| ev.prevent_default()>
                <label>
                    <span>{t!(i18n, llama.acrostic_heads)}</span>
                    <input
                        type="text"
                        lang="zh"
                        maxlength="8"
                        data-testid="llama-acrostic-heads"
                        prop:value=move || state.get().heads
                        on:change=move |ev| {
                            let mut next = state.get_untracked();
                            next.heads = event_target_value(&ev).chars().filter(|c| !c.is_whitespace()).take(8).collect();
                            write(next);
                        }
                    />
                </label>
            </form>
            <LoadStatus what=Signal::derive(move || t_string!(i18n, llama.weights_what).to_string()) progress error/>
            {error_text}
            <PoemView written selected on_select=|_| {} testid="llama-acrostic-poem" readonly=true/>
            {costs}
        </section>
    }
}
