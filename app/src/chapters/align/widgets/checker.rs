//! The rules checker: any poem, typed (either script), written by the base,
//! DPO or PPO model with a seed, or taken from the corpus. Each character
//! is coloured 平, 仄 or either; the pattern the rules ask for is drawn
//! beside each line; every check is marked passed or failed.

use compute::{
    align::{
        poem_seed,
        rules::{check, checked_positions, checks_in, Checked, Rule, Tone},
        EVAL_SAMPLING,
    },
    models::llama::sampling::Generation,
    tang::{Form, EOS},
};
use leptos::{prelude::*, task::spawn_local};

use super::{rule_meaning, rule_names, use_align_state, AlignState, MAX_POEM_CHARS, METHODS};
use crate::{
    chapters::{
        align::session::{align_session, corpus, rules, Rules},
        autoregressive::{session::ModelLoadError, widgets::LoadStatus},
    },
    i18n::{t, t_string, td_string, use_i18n, Locale},
    shell::{format::fill, live_backend, widget::UrlNotices},
};

/// What the visitor typed, as the checker reads it: spaces dropped, ASCII
/// commas and stops as the corpus's, each character in the table's
/// traditional script where OpenCC knows one.
pub fn normalised(rules: &Rules, typed: &str) -> String {
    typed
        .chars()
        .filter(|c| !c.is_whitespace())
        .map(|c| match c {
            ',' | '、' => '，',
            '.' | '!' | '?' | '；' | ';' | '！' | '？' => '。',
            c => rules.table.lookup(c, &rules.s2t),
        })
        .collect()
}

/// The tones the rules ask for at line `line`'s checked positions, given
/// the first line's position 2 (仄 when it is free): each line alternates,
/// a couplet's lines oppose, and a couplet sticks to the one before.
pub fn pattern(form: Form, first: Tone, line: usize) -> Vec<Option<Tone>> {
    let t = if first == Tone::Ping {
        Tone::Ping
    } else {
        Tone::Ze
    };
    let flip = |x: Tone| {
        if x == Tone::Ping {
            Tone::Ze
        } else {
            Tone::Ping
        }
    };
    // Position 2 of each line: t, !t, !t, t, t, !t, !t, t.
    let start = if matches!(line % 4, 0 | 3) {
        t
    } else {
        flip(t)
    };
    let checked = checked_positions(form.width());
    (0..form.width())
        .map(|p| {
            checked.iter().position(|&c| c == p).map(
                |k| {
                    if k % 2 == 0 {
                        start
                    } else {
                        flip(start)
                    }
                },
            )
        })
        .collect()
}

fn tone_class(t: Tone) -> &'static str {
    match t {
        Tone::Ping => "tone-ping",
        Tone::Ze => "tone-ze",
        Tone::Either => "tone-either",
    }
}

fn tone_word(locale: Locale, t: Tone) -> &'static str {
    match t {
        Tone::Ping => td_string!(locale, align.tone_ping),
        Tone::Ze => td_string!(locale, align.tone_ze),
        Tone::Either => td_string!(locale, align.tone_either),
    }
}

/// "lines 1–2" for an outcome's lines (1-based).
fn lines_label(locale: Locale, lines: &[usize]) -> String {
    let list: Vec<String> = lines.iter().map(|l| (l + 1).to_string()).collect();
    fill(
        td_string!(locale, align.lines),
        &[("lines", &list.join(", "))],
    )
}

#[component]
fn CheckedPoem(checked: Checked) -> impl IntoView {
    let i18n = use_i18n();
    let form = checked.form;
    let first = checked.lines[0][1].1;
    let tones: Vec<String> = checked
        .lines
        .iter()
        .map(|l| l.iter().map(|(_, t)| t.mark()).collect())
        .collect();
    let outcomes = serde_json::to_string(&checked.outcomes).unwrap_or_default();
    let total = checked.outcomes.len();
    let failed = checked.failed();
    let reward = checked.reward();
    let checked_at = checked_positions(form.width());
    let lines = checked.lines.clone();
    view! {
        <div class="align-check" data-testid="align-check" data-form=form.name()
            data-failed=failed data-reward=format!("{reward:.4}") data-tones=tones.join(" ")
            data-outcomes=outcomes>
            <table class="align-lines">
                <caption>{move || fill(t_string!(i18n, align.check_caption), &[("form", &form.name())])}</caption>
                <thead><tr>
                    <th scope="col">{t!(i18n, align.col_line)}</th>
                    <th scope="col">{t!(i18n, align.col_poem)}</th>
                    <th scope="col">{t!(i18n, align.col_pattern)}</th>
                </tr></thead>
                <tbody>
                    {lines.into_iter().enumerate().map(|(i, line)| {
                        let want = pattern(form, first, i);
                        let rhymes = i % 2 == 1;
                        view! {
                            <tr>
                                <th scope="row">{i + 1}</th>
                                <td class="align-chars" lang="zh">
                                    {line.into_iter().enumerate().map(|(p, (c, t))| {
                                        let class = format!("{}{}", tone_class(t), if checked_at.contains(&p) { " checked" } else { "" });
                                        view! {
                                            <span class=class data-tone=t.mark().to_string()
                                                title=move || tone_word(i18n.get_locale(), t)>{c.to_string()}</span>
                                        }
                                    }).collect_view()}
                                </td>
                                <td class="align-pattern" lang="zh">
                                    {want.into_iter().enumerate().map(|(p, w)| {
                                        let last = p + 1 == form.width();
                                        match (w, last && rhymes) {
                                            (_, true) => view! { <span class="tone-ping rhyme">"平"</span> }.into_any(),
                                            (Some(t), _) => view! { <span class=tone_class(t)>{t.mark().to_string()}</span> }.into_any(),
                                            (None, _) => view! { <span class="free">"中"</span> }.into_any(),
                                        }
                                    }).collect_view()}
                                </td>
                            </tr>
                        }
                    }).collect_view()}
                </tbody>
            </table>
            <p class="align-legend">
                <span class="tone-ping">{t!(i18n, align.tone_ping)}</span>" "
                <span class="tone-ze">{t!(i18n, align.tone_ze)}</span>" "
                <span class="tone-either">{t!(i18n, align.tone_either)}</span>" "
                {t!(i18n, align.legend_rest)}
            </p>
            <p class="align-score" data-testid="align-score">{move || fill(t_string!(i18n, align.score), &[
                ("held", &(total - failed)), ("total", &total), ("reward", &format!("{reward:.3}")),
            ])}</p>
            <ul class="align-outcomes">
                {Rule::ALL.into_iter().map(|rule| {
                    let mine: Vec<_> = checked.outcomes.iter().filter(|o| o.rule == rule).cloned().collect();
                    view! {
                        <li data-rule=format!("{rule:?}")>
                            <strong lang="zh">{rule_names(rule)}</strong>": "
                            {move || rule_meaning(i18n.get_locale(), rule)}
                            <ul>
                                {mine.into_iter().map(|o| {
                                    let passed = o.passed;
                                    view! {
                                        <li class=if passed { "passed" } else { "failed" } data-passed=passed.to_string()>
                                            {if passed { "✓ " } else { "✗ " }}
                                            {move || lines_label(i18n.get_locale(), &o.lines)}
                                            " "
                                            {move || if passed { t_string!(i18n, align.held) } else { t_string!(i18n, align.broken) }}
                                        </li>
                                    }
                                }).collect_view()}
                            </ul>
                        </li>
                    }
                }).collect_view()}
            </ul>
        </div>
    }
}

#[component]
pub fn AlignChecker() -> impl IntoView {
    let i18n = use_i18n();
    let (state, notices, write) = use_align_state();
    let tables = LocalResource::new(rules);
    let busy = RwSignal::new(false);
    let run_error = RwSignal::new(None::<String>);
    let written = RwSignal::new(None::<(AlignState, Vec<u32>)>);
    let (progress, set_progress) = signal((0u64, 0u64));
    let (load_error, set_load_error) = signal(None::<ModelLoadError>);

    let write_one = {
        let write = write.clone();
        move |_| {
            let s = state.get_untracked();
            busy.set(true);
            run_error.set(None);
            let write = write.clone();
            spawn_local(async move {
                let backend = live_backend::backend().await;
                let session =
                    match align_session(&backend, move |l, t| set_progress.set((l, t))).await {
                        Ok(s) => s,
                        Err(e) => {
                            busy.set(false);
                            return set_load_error.set(Some(e));
                        }
                    };
                let adapter = match s.method.as_str() {
                    "dpo" => session.dpo.clone(),
                    "ppo" => session.ppo.clone(),
                    _ => None,
                };
                if s.method != "base" && adapter.is_none() {
                    busy.set(false);
                    return run_error.set(Some(t_string!(i18n, align.no_run).to_string()));
                }
                let g = Generation::poem(s.form(), EVAL_SAMPLING, poem_seed(s.seed, 0));
                match session.llama.generate_adapted(&g, adapter).await {
                    Ok((trace, _)) => {
                        let body = &trace.tokens[2..];
                        let end = body.iter().position(|&t| t == EOS).unwrap_or(body.len());
                        let text = session.llama.tokenizer.decode(&body[..end]);
                        let mut next = s.clone();
                        next.poem = text.chars().take(MAX_POEM_CHARS).collect();
                        written.set(Some((next.clone(), trace.tokens)));
                        write(next);
                        live_backend::result_shown();
                    }
                    Err(e) => run_error.set(Some(e.to_string())),
                }
                busy.set(false);
            });
        }
    };
    let from_corpus = {
        let write = write.clone();
        move |_| {
            let s = state.get_untracked();
            busy.set(true);
            run_error.set(None);
            let write = write.clone();
            spawn_local(async move {
                match corpus(move |l, t| set_progress.set((l, t))).await {
                    Ok(poems) => {
                        let of_form: Vec<_> = poems.iter().filter(|p| p.form == s.form()).collect();
                        if let Some(p) = of_form.get(s.seed as usize % of_form.len().max(1)) {
                            let mut next = s.clone();
                            next.poem = p.text.clone();
                            write(next);
                        }
                    }
                    Err(e) => set_load_error.set(Some(e)),
                }
                busy.set(false);
            });
        }
    };
    let set_field = move |f: fn(&mut AlignState, String)| {
        let write = write.clone();
        move |ev: web_sys::Event| {
            let mut s = state.get_untracked();
            f(&mut s, event_target_value(&ev));
            write(s);
        }
    };

    view! {
        <section class="widget align-checker" data-testid="align-checker-widget">
            <h3>{t!(i18n, align.checker_title)}</h3>
            <UrlNotices notices/>
            <label class="align-poem">
                <span>{t!(i18n, align.poem_label)}</span>
                <textarea lang="zh" rows="3" maxlength=MAX_POEM_CHARS data-testid="align-poem"
                    prop:value=move || state.get().poem
                    on:change=set_field(|s, v| s.poem = v.chars().take(MAX_POEM_CHARS).collect())></textarea>
            </label>
            <fieldset class="controls" disabled=move || busy.get()>
                <legend>{t!(i18n, align.write_legend)}</legend>
                <label>{t!(i18n, align.form_label)}
                    <select data-testid="align-form" on:change=set_field(|s, v| s.form = v)>
                        {Form::ALL.into_iter().map(|f| view! {
                            <option value=f.name() selected=move || state.get().form == f.name()>{f.name()}</option>
                        }).collect_view()}
                    </select>
                </label>
                <label>{t!(i18n, align.method_label)}
                    <select data-testid="align-method" on:change=set_field(|s, v| s.method = v)>
                        {METHODS.into_iter().map(|m| view! {
                            <option value=m selected=move || state.get().method == m>
                                {move || if m == "base" { t_string!(i18n, align.base).to_string() } else { m.to_uppercase() }}
                            </option>
                        }).collect_view()}
                    </select>
                </label>
                <label>{t!(i18n, align.seed_label)}
                    <input type="number" min="0" max="4294967295" data-testid="align-seed"
                        prop:value=move || state.get().seed.to_string()
                        on:change=set_field(|s, v| if let Ok(n) = v.parse::<u32>() { s.seed = n as u64 })/>
                </label>
                <button type="button" data-testid="align-write" on:click=write_one>{t!(i18n, align.write)}</button>
                <button type="button" data-testid="align-corpus" on:click=from_corpus>{t!(i18n, align.from_corpus)}</button>
            </fieldset>
            <LoadStatus
                what=Signal::derive(move || t_string!(i18n, align.what).to_string())
                progress
                error=load_error
            />
            {move || busy.get().then(|| view! { <p role="status">{t!(i18n, align.working)}</p> })}
            {move || run_error.get().map(|e| view! { <p class="error" role="alert">{e}</p> })}
            {move || {
                let s = state.get();
                written.get().filter(|(w, _)| *w == s).map(|(_, ids)| view! {
                    <p class="note" data-testid="align-written"
                        data-ids={ids.iter().map(u32::to_string).collect::<Vec<_>>().join(",")}>
                        {move || fill(t_string!(i18n, align.written), &[("method", &s.method), ("seed", &s.seed), ("form", &s.form)])}
                    </p>
                })
            }}
            <Suspense fallback=move || view! { <p>{t!(i18n, align.loading_rules)}</p> }>
                {move || tables.get().map(|r| match r {
                    Err(e) => view! { <p class="error" role="alert">{move || e.say(i18n.get_locale())}</p> }.into_any(),
                    Ok(rules) => {
                        let text = normalised(&rules, &state.get().poem);
                        match Form::of(&text).and_then(|f| check(&rules.table, f, &text)) {
                            Some(c) => view! { <CheckedPoem checked=c/> }.into_any(),
                            None => view! {
                                <p class="error" role="alert" data-testid="align-not-regulated">
                                    {move || fill(t_string!(i18n, align.not_regulated), &[
                                        ("chars", &text.chars().count()), ("checks", &checks_in(Form::Wujue)),
                                    ])}
                                </p>
                            }.into_any(),
                        }
                    }
                })}
            </Suspense>
        </section>
    }
}
