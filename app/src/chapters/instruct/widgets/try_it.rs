//! Try an instruction: chapter 4's model and the tuned one answer it with
//! the same seed on the page's backend, and the verifier marks each
//! constraint met or missed, character by character where it applies.

use compute::{
    instruct::{
        model::{base_prompt, generation, prompt, response, MAX_INSTRUCTION_CHARS},
        parse, Constraint, Kind, ParseError, Verdict,
    },
    models::llama::sampling::Sampling,
    tang::EOS,
};
use leptos::{prelude::*, task::spawn_local};

use super::{
    instruction_field, kind_name, say_check, say_parse_error, say_too_long, use_instruct_state,
    InstructState,
};
use crate::{
    chapters::{
        autoregressive::{session::ModelLoadError, widgets::LoadStatus},
        instruct::session::{instruct_session, InstructSession},
    },
    i18n::{t, t_string, use_i18n},
    shell::{
        format::fill,
        live_backend,
        script::{use_poem_script, PoemScript, ScriptSwitch},
        widget::UrlNotices,
    },
};

/// One model's answer: its text, the tokens of the whole sequence, and the
/// verdict when the instruction states a constraint.
#[derive(Debug, Clone, PartialEq)]
struct Answer {
    text: String,
    ids: String,
    verdict: Option<Verdict>,
}

/// Why the instruction cannot be answered.
#[derive(Debug, Clone, PartialEq)]
enum Refused {
    Parse(ParseError),
    TooLong,
}

#[derive(Debug, Clone, PartialEq)]
struct Answers {
    base: Answer,
    tuned: Answer,
    /// Why no program can check the answers, if none can.
    unchecked: Option<ParseError>,
}

fn ids_text(ids: &[u32]) -> String {
    ids.iter().map(u32::to_string).collect::<Vec<_>>().join(",")
}

async fn answer(
    session: &InstructSession,
    s: &InstructState,
) -> Result<Result<Answers, Refused>, String> {
    let ids = match session
        .vocab
        .encode_instruction(&s.instruction, &session.scripts)
    {
        Ok(ids) if ids.is_empty() => return Ok(Err(Refused::Parse(ParseError::Empty))),
        Ok(ids) => ids,
        Err(e) => return Ok(Err(Refused::Parse(e))),
    };
    if ids.len() > MAX_INSTRUCTION_CHARS {
        return Ok(Err(Refused::TooLong));
    }
    let constraint: Result<Constraint, ParseError> =
        parse(&s.instruction, &session.scripts, &session.vocab.base);
    let sampling = Sampling {
        temperature: s.temperature,
        ..Default::default()
    };
    let verdict = |text: &str| constraint.as_ref().ok().map(|c| c.verify(text));
    // Chapter 4's model, reading the instruction as plain text.
    let p = base_prompt(&session.vocab, &ids);
    let (trace, _) = session
        .base
        .generate(&generation(p.clone(), sampling, s.seed))
        .await
        .map_err(|e| e.to_string())?;
    let written = &trace.tokens[p.len().min(trace.tokens.len())..];
    let end = written
        .iter()
        .position(|&t| t == EOS)
        .unwrap_or(written.len());
    let base_text = session.base.tokenizer.decode(&written[..end]);
    let base = Answer {
        verdict: verdict(&base_text),
        text: base_text,
        ids: ids_text(&trace.tokens),
    };
    let p = prompt(&session.vocab, &ids);
    let trace = session
        .tuned(&generation(p.clone(), sampling, s.seed))
        .await
        .map_err(|e| e.to_string())?;
    let r = response(
        &session.vocab,
        &trace.tokens[p.len().min(trace.tokens.len())..],
    );
    let tuned = Answer {
        verdict: verdict(&r.text),
        text: r.text,
        ids: ids_text(&trace.tokens),
    };
    Ok(Ok(Answers {
        base,
        tuned,
        unchecked: constraint.err(),
    }))
}

/// The poem, each character the verifier looked at marked right or wrong.
fn marked(poems: PoemScript, a: &Answer) -> impl IntoView {
    let marks: Vec<Option<bool>> = {
        let n = a.text.chars().count();
        let mut m = vec![None; n];
        for check in a.verdict.iter().flat_map(|v| &v.checks) {
            for &(i, ok) in &check.marks {
                if let Some(slot) = m.get_mut(i) {
                    // A wrong mark wins over a right one at the same place.
                    *slot = Some(slot.unwrap_or(true) && ok);
                }
            }
        }
        m
    };
    a.text
        .chars()
        .zip(marks)
        .map(|(c, mark)| {
            let shown = poems.char(c).to_string();
            match mark {
                Some(true) => view! { <span class="verdict-hit">{shown}</span> }.into_any(),
                Some(false) => view! { <span class="verdict-miss">{shown}</span> }.into_any(),
                None => shown.into_any(),
            }
        })
        .collect_view()
}

#[component]
fn AnswerView(
    #[prop(into)] heading: Signal<String>,
    testid: &'static str,
    answer: Signal<Option<Answer>>,
    poems: PoemScript,
) -> impl IntoView {
    let i18n = use_i18n();
    view! {
        <figure class="instruct-answer">
            <figcaption>{move || heading.get()}</figcaption>
            {move || match answer.get() {
                None => view! { <p class="poem">{t!(i18n, instruct.writing)}</p> }.into_any(),
                Some(a) => {
                    let verdict_json = a.verdict.as_ref().map(|v| serde_json::to_string(v).unwrap_or_default()).unwrap_or_default();
                    let passed = a.verdict.as_ref().map(|v| v.passed());
                    let checks = a.verdict.clone().map(|v| v.checks).unwrap_or_default();
                    let empty = a.text.is_empty();
                    view! {
                        <p class="poem" lang=move || poems.lang() data-testid=testid data-ids=a.ids.clone()
                            data-verdict=verdict_json data-passed=passed.map(|p| p.to_string()).unwrap_or_default()>
                            {if empty { t_string!(i18n, instruct.wrote_nothing).to_string().into_any() } else { marked(poems, &a).into_any() }}
                        </p>
                        <ul class="checks">
                            {checks.into_iter().map(|c| {
                                let met = c.met;
                                let what = say_check(i18n.get_locale(), &c.kind);
                                view! {
                                    <li class={if met { "check-met" } else { "check-missed" }}>
                                        {if met { "✓ " } else { "✗ " }}{what}" "
                                        <span class="sr-only">{move || if met { t_string!(i18n, instruct.met) } else { t_string!(i18n, instruct.missed) }}</span>
                                    </li>
                                }
                            }).collect_view()}
                        </ul>
                    }.into_any()
                }
            }}
        </figure>
    }
}

#[component]
pub fn InstructTry() -> impl IntoView {
    let i18n = use_i18n();
    let (state, notices, write_state) = use_instruct_state();
    let poems = use_poem_script();
    let (progress, set_progress) = signal((0u64, 0u64));
    let (load_error, set_load_error) = signal(None::<ModelLoadError>);
    let answers = RwSignal::new(None::<Answers>);
    let refused = RwSignal::new(None::<Refused>);
    let run_error = RwSignal::new(None::<String>);
    let held_out = RwSignal::new(Vec::<(Kind, String)>::new());
    let on_gpu = RwSignal::new(None::<bool>);
    let latest = StoredValue::new(0u64);
    Effect::new(move |_| {
        let s = state.get();
        live_backend::gpu_epoch();
        let ticket = latest.get_value() + 1;
        latest.set_value(ticket);
        answers.set(None);
        spawn_local(async move {
            let backend = live_backend::backend().await;
            let session =
                match instruct_session(&backend, move |l, t| set_progress.set((l, t))).await {
                    Ok(s) => s,
                    Err(e) => return set_load_error.set(Some(e)),
                };
            if held_out.with_untracked(Vec::is_empty) {
                held_out.set(session.held_out.clone());
            }
            on_gpu.set(Some(session.on_gpu()));
            let result = answer(&session, &s).await;
            if latest.try_get_value() != Some(ticket) {
                return;
            }
            match result {
                Ok(Ok(a)) => {
                    answers.set(Some(a));
                    refused.set(None);
                    run_error.set(None);
                    live_backend::result_shown();
                }
                Ok(Err(r)) => {
                    refused.set(Some(r));
                    run_error.set(None);
                }
                Err(e) => run_error.set(Some(e)),
            }
        });
    });

    let set_instruction = {
        let write_state = write_state.clone();
        move |v: String| {
            let mut s = state.get_untracked();
            s.instruction = v;
            write_state(s);
        }
    };
    let pick = set_instruction.clone();
    let set_seed = write_state.clone();
    // The first held-out instruction of each type: one click each.
    let examples = move || {
        let list = held_out.get();
        Kind::ALL
            .into_iter()
            .filter_map(|k| list.iter().find(|(kind, _)| *kind == k).cloned())
            .collect::<Vec<_>>()
    };
    view! {
        <section class="widget instruct-try" data-testid="instruct-try-widget">
            <h3>{t!(i18n, instruct.try_title)}</h3>
            <UrlNotices notices/>
            <LoadStatus
                what=Signal::derive(move || t_string!(i18n, instruct.what).to_string())
                progress
                error=load_error
            />
            <form class="controls" on:submit=|ev| ev.prevent_default()>
                {instruction_field("instruct-instruction", state, set_instruction)}
                <label>
                    <span>{t!(i18n, instruct.seed_label)}</span>
                    <input type="number" min="0" max="4294967295" step="1" data-testid="instruct-seed"
                        prop:value=move || state.get().seed.to_string()
                        on:change=move |ev| {
                            if let Ok(seed) = event_target_value(&ev).parse::<u64>() {
                                let mut s = state.get_untracked();
                                s.seed = seed.min(u32::MAX as u64);
                                set_seed(s);
                            }
                        }/>
                </label>
            </form>
            <div class="button-row" role="group" aria-label=move || t_string!(i18n, instruct.examples_label)>
                {move || examples().into_iter().map(|(kind, text)| {
                    let pick = pick.clone();
                    let chosen = text.clone();
                    let label = text.clone();
                    view! {
                        <button type="button" data-testid=format!("instruct-example-{}", kind.name())
                            aria-pressed=move || (state.get().instruction == chosen).to_string()
                            on:click=move |_| pick(text.clone())>
                            {move || kind_name(i18n.get_locale(), kind)}": "<span lang="zh">{label.clone()}</span>
                        </button>
                    }
                }).collect_view()}
            </div>
            {move || refused.get().map(|r| view! {
                <p class="error" role="alert" data-testid="instruct-refused">{move || match &r {
                    Refused::Parse(e) => say_parse_error(i18n.get_locale(), e),
                    Refused::TooLong => say_too_long(i18n.get_locale()),
                }}</p>
            })}
            {move || run_error.get().map(|e| view! {
                <p class="error" role="alert">{fill(t_string!(i18n, instruct.run_failed), &[("detail", &e)])}</p>
            })}
            {move || answers.get().and_then(|a| a.unchecked).map(|e| view! {
                <p class="note" data-testid="instruct-unchecked">{fill(t_string!(i18n, instruct.unchecked), &[("why", &say_parse_error(i18n.get_locale(), &e))])}</p>
            })}
            <ScriptSwitch poems/>
            <Show when=move || refused.get().is_none()>
                <div class="instruct-answers">
                    <AnswerView heading=Signal::derive(move || t_string!(i18n, instruct.answer_base).to_string())
                        testid="instruct-base" answer=Signal::derive(move || answers.get().map(|a| a.base)) poems/>
                    <AnswerView heading=Signal::derive(move || t_string!(i18n, instruct.answer_tuned).to_string())
                        testid="instruct-tuned" answer=Signal::derive(move || answers.get().map(|a| a.tuned)) poems/>
                </div>
            </Show>
            <p class="note">{move || fill(t_string!(i18n, instruct.try_note), &[
                ("seed", &state.get().seed),
                ("temperature", &state.get().temperature),
                ("backend", &match on_gpu.get() {
                    Some(true) => "WebGPU".to_string(),
                    Some(false) => t_string!(i18n, instruct.backend_cpu).to_string(),
                    None => "…".to_string(),
                }),
            ])}</p>
        </section>
    }
}
