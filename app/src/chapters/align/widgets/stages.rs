//! RLHF's three stages beside DPO's one: what each stage trains, on what,
//! with the formulas, and what our runs of each cost and reached.

use compute::align::metrics::Metrics;
use leptos::prelude::*;

use super::percent;
use crate::{
    chapters::align::session::align_metrics,
    i18n::{t, t_string, use_i18n},
    shell::{format::fill, math::Prose},
};

#[component]
pub fn AlignStages() -> impl IntoView {
    let i18n = use_i18n();
    let metrics = LocalResource::new(align_metrics);
    view! {
        <section class="widget align-stages" data-testid="align-stages-widget">
            <h3>{t!(i18n, align.stages_title)}</h3>
            <div class="align-routes">
                <div class="align-route">
                    <h4>"RLHF"</h4>
                    <ol>
                        <li><strong>{t!(i18n, align.stage_sft)}</strong>" "<Prose text=t_string!(i18n, align.stage_sft_body).to_string()/></li>
                        <li><strong>{t!(i18n, align.stage_rm)}</strong>" "<Prose text=t_string!(i18n, align.stage_rm_body).to_string()/></li>
                        <li><strong>{t!(i18n, align.stage_ppo)}</strong>" "<Prose text=t_string!(i18n, align.stage_ppo_body).to_string()/></li>
                    </ol>
                </div>
                <div class="align-route">
                    <h4>"DPO"</h4>
                    <ol>
                        <li><strong>{t!(i18n, align.stage_sft)}</strong>" "{t!(i18n, align.stage_same)}</li>
                        <li><strong>{t!(i18n, align.stage_dpo)}</strong>" "<Prose text=t_string!(i18n, align.stage_dpo_body).to_string()/></li>
                    </ol>
                    <p><Prose text=t_string!(i18n, align.stage_implicit).to_string()/></p>
                </div>
            </div>
            <Suspense fallback=|| ()>
                {move || metrics.get().map(|m| match m {
                    Err(e) => view! { <p class="error" role="alert">{move || e.say(i18n.get_locale())}</p> }.into_any(),
                    Ok(m) => ours(&m).into_any(),
                })}
            </Suspense>
        </section>
    }
}

/// Our runs' costs: the reward model's accuracy and minutes, the best PPO
/// and DPO runs' minutes.
fn ours(m: &Metrics) -> impl IntoView {
    let i18n = use_i18n();
    let rm = m.rm.clone();
    let ppo = m
        .best("ppo")
        .or_else(|| m.runs.iter().find(|r| r.method == "ppo"))
        .cloned();
    let dpo = m
        .best("dpo")
        .or_else(|| m.runs.iter().find(|r| r.method == "dpo"))
        .cloned();
    view! {
        <p class="note" data-testid="align-costs">{move || fill(t_string!(i18n, align.costs), &[
            ("rm_accuracy", &rm.as_ref().map_or("—".into(), |r| percent(r.held_out_pair_accuracy))),
            ("rm_minutes", &rm.as_ref().map_or("—".into(), |r| format!("{:.0}", r.minutes))),
            ("ppo_minutes", &ppo.as_ref().map_or("—".into(), |r| format!("{:.0}", r.minutes))),
            ("dpo_minutes", &dpo.as_ref().map_or("—".into(), |r| format!("{:.0}", r.minutes))),
        ])}</p>
    }
}
