//! Alpaca's recipe beside ours: where the instructions came from, how many
//! seeds, which model generated them, what it cost and how long training
//! took. Alpaca's column is cited; ours comes from the trainer's metrics.

use leptos::prelude::*;

use crate::{
    chapters::instruct::session::instruct_metrics,
    i18n::{t, use_i18n},
    shell::format::{fill, group},
};

/// Taori et al., "Alpaca: A Strong, Replicable Instruction-Following
/// Model", Stanford CRFM, 13 March 2023; the hyperparameters from the
/// tatsu-lab/stanford_alpaca README.
pub const ALPACA_SOURCE: &str = "Taori et al., “Alpaca: A Strong, Replicable Instruction-Following Model”, Stanford CRFM, 2023-03-13 (crfm.stanford.edu/2023/03/13/alpaca.html); hyperparameters: github.com/tatsu-lab/stanford_alpaca, README";

#[component]
pub fn InstructRecipe() -> impl IntoView {
    let i18n = use_i18n();
    let metrics = LocalResource::new(instruct_metrics);
    view! {
        <section class="widget instruct-recipe" data-testid="instruct-recipe-widget">
            <h3>{t!(i18n, instruct.recipe_title)}</h3>
            <Suspense fallback=move || view! { <p>{t!(i18n, instruct.loading_metrics)}</p> }>
                {move || metrics.get().map(|m| match m {
                    Err(e) => view! { <p class="error" role="alert">{move || e.say(i18n.get_locale())}</p> }.into_any(),
                    Ok(m) => {
                        let pairs = m.round0.pairs + m.funnel.kept;
                        let r = m.recipe.clone();
                        let minutes = m.training.training_seconds / 60.0;
                        let seeds = m.funnel.seeds_in_pool;
                        let row = move |what: String, alpaca: String, ours: String| view! {
                            <tr><th scope="row">{what}</th><td>{alpaca}</td><td>{ours}</td></tr>
                        };
                        view! {
                            <div class="table-scroll" tabindex="0">
                                <table data-testid="instruct-recipe" data-pairs=pairs>
                                    <thead><tr>
                                        <th scope="col">{t!(i18n, instruct.recipe_what)}</th>
                                        <th scope="col">"Alpaca"</th>
                                        <th scope="col">"glassbox"</th>
                                    </tr></thead>
                                    <tbody>
                                        {move || {
                                            let l = i18n.get_locale();
                                            use crate::i18n::td_string;
                                            vec![
                                                row(td_string!(l, instruct.recipe_base).into(), td_string!(l, instruct.alpaca_base).into(),
                                                    fill(td_string!(l, instruct.ours_base), &[("params", &group(r.base_params as u64))])),
                                                row(td_string!(l, instruct.recipe_pairs).into(), td_string!(l, instruct.alpaca_pairs).into(),
                                                    fill(td_string!(l, instruct.ours_pairs), &[("round0", &group(m.round0.pairs as u64)), ("round1", &group(m.funnel.kept as u64))])),
                                                row(td_string!(l, instruct.recipe_seeds).into(), td_string!(l, instruct.alpaca_seeds).into(),
                                                    fill(td_string!(l, instruct.ours_seeds), &[("seeds", &seeds)])),
                                                row(td_string!(l, instruct.recipe_generator).into(), td_string!(l, instruct.alpaca_generator).into(),
                                                    td_string!(l, instruct.ours_generator).into()),
                                                row(td_string!(l, instruct.recipe_method).into(), td_string!(l, instruct.alpaca_method).into(),
                                                    fill(td_string!(l, instruct.ours_method), &[("rank", &r.lora_rank), ("params", &group(r.trainable_params as u64))])),
                                                row(td_string!(l, instruct.recipe_hyper).into(), td_string!(l, instruct.alpaca_hyper).into(),
                                                    fill(td_string!(l, instruct.ours_hyper), &[("batch", &r.batch), ("lr", &r.learning_rate), ("steps", &(r.round0_steps + r.round1_steps))])),
                                                row(td_string!(l, instruct.recipe_cost).into(), td_string!(l, instruct.alpaca_cost).into(),
                                                    fill(td_string!(l, instruct.ours_cost), &[("minutes", &format!("{minutes:.0}"))])),
                                                row(td_string!(l, instruct.recipe_eval).into(), td_string!(l, instruct.alpaca_eval).into(),
                                                    fill(td_string!(l, instruct.ours_eval), &[("accuracy", &format!("{:.0}%", 100.0 * m.accuracy.table.average_tuned))])),
                                            ]
                                        }}
                                    </tbody>
                                </table>
                            </div>
                            <div class="source note">{t!(i18n, instruct.alpaca_source)}" "<cite lang="en">{ALPACA_SOURCE}</cite></div>
                        }.into_any()
                    }
                })}
            </Suspense>
        </section>
    }
}
