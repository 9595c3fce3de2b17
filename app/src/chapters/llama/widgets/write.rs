//! Write a poem: the LLaMA draws character by character (on the GPU, one
//! submission and one readback per poem). Clicking a character shows the
//! ten likeliest characters at that step; clicking another forces it, and
//! the rest of the poem is drawn again from there.

use std::sync::Arc;

use compute::search::query::BooleanQuery;
use compute::{
    models::llama::{
        sampling::{Generation, GenerationTrace},
        top_choices, Llama,
    },
    tang::{CharTokenizer, Form, EOS, SPECIALS},
};
use leptos::{prelude::*, task::spawn_local};

use super::{form_label, use_llama_state, LlamaState, FORM_SLUGS};
use crate::shell::script::{use_poem_script, ScriptSwitch};
use crate::{
    chapters::{
        autoregressive::{session::ModelLoadError, widgets::LoadStatus},
        detr::session::backend_name,
        llama::session::{llama_session, LlamaSession},
        search::{
            session::search_session,
            widgets::{IndexStatus, Shared},
        },
    },
    i18n::{t, t_string, use_i18n},
    shell::{
        format::fill, live_backend, math::Prose, url_state::path_with_query, widget::UrlNotices,
    },
};

/// Why the heads cannot be used, in `locale`.
pub fn say_error_in(locale: crate::i18n::Locale, e: &compute::tang::AcrosticError) -> String {
    match e {
        compute::tang::AcrosticError::Count { got, lines } => fill(
            crate::i18n::td_string!(locale, llama.acrostic_count),
            &[("got", got), ("lines", lines), ("half", &(lines / 2))],
        ),
        compute::tang::AcrosticError::Unknown(c) => fill(
            crate::i18n::td_string!(locale, llama.acrostic_unknown),
            &[("char", c)],
        ),
        compute::tang::AcrosticError::Punctuation(c) => fill(
            crate::i18n::td_string!(locale, llama.acrostic_punctuation),
            &[("char", c)],
        ),
    }
}

/// A finished poem and where it ran.
#[derive(Clone)]
pub struct Written {
    pub generation: Generation,
    pub trace: GenerationTrace,
    pub ms: f64,
    pub model: Arc<Llama>,
    pub tokenizer: Arc<CharTokenizer>,
    pub on_gpu: bool,
    pub adapter: Option<String>,
}

impl Written {
    pub fn new(
        session: &LlamaSession,
        generation: Generation,
        trace: GenerationTrace,
        ms: f64,
        on_gpu: bool,
    ) -> Written {
        Written {
            generation,
            trace,
            ms,
            model: session.model.clone(),
            tokenizer: session.tokenizer.clone(),
            on_gpu,
            adapter: if on_gpu { session.adapter_name() } else { None },
        }
    }

    /// The poem's lines, without their punctuation.
    pub fn lines(&self) -> Vec<String> {
        let ids: Vec<u32> = self
            .trace
            .poem_ids()
            .iter()
            .copied()
            .filter(|&t| t != EOS)
            .collect();
        self.tokenizer
            .decode(&ids)
            .split(['，', '。'])
            .filter(|l| !l.is_empty())
            .map(str::to_string)
            .collect()
    }

    /// Characters drawn or forced (punctuation included, `<eos>` not).
    pub fn characters(&self) -> usize {
        self.trace.poem_ids().iter().filter(|&&t| t != EOS).count()
    }
}

/// A widget's poem: the latest one written, the download's progress, a
/// load error, a run error.
pub type PoemSignals = (
    RwSignal<Option<Written>>,
    ReadSignal<(u64, u64)>,
    ReadSignal<Option<ModelLoadError>>,
    RwSignal<Option<String>>,
);

/// The session and a poem for `state`, rewritten whenever what decides the
/// poem changes; shared by the write, acrostic and inside widgets.
pub fn use_written(state: Memo<LlamaState>, acrostic: bool) -> PoemSignals {
    let i18n = use_i18n();
    let written = RwSignal::new(None::<Written>);
    let (progress, set_progress) = signal((0u64, 0u64));
    let (error, set_error) = signal(None::<ModelLoadError>);
    let run_error = RwSignal::new(None::<String>);
    let run = Memo::new(move |_| {
        let s = state.get();
        (
            s.form.clone(),
            s.temp,
            s.top_k,
            s.top_p,
            s.seed,
            if acrostic {
                s.heads.clone()
            } else {
                s.force.clone()
            },
        )
    });
    let latest = StoredValue::new(0u64);
    Effect::new(move |_| {
        // get, not track: a memo that is never read never subscribes to
        // its own sources, and would never change.
        let _ = run.get();
        live_backend::gpu_epoch();
        let s = state.get_untracked();
        let ticket = latest.get_value() + 1;
        latest.set_value(ticket);
        spawn_local(async move {
            let backend = live_backend::backend().await;
            let session = match llama_session(&backend, move |l, t| set_progress.set((l, t))).await
            {
                Ok(s) => s,
                Err(e) => return set_error.set(Some(e)),
            };
            set_error.set(None);
            let generation = if acrostic {
                let mut g = Generation::poem(s.form(), s.sampling(), s.seed);
                match session.tokenizer.acrostic(s.form(), &s.heads, &session.s2t) {
                    Ok(forced) => g.forced = forced,
                    Err(e) => {
                        written.set(None);
                        return run_error.set(Some(say_error_in(i18n.get_locale_untracked(), &e)));
                    }
                }
                g
            } else {
                s.generation(&session.tokenizer, &session.s2t)
            };
            match session.generate(&generation).await {
                Ok((trace, ms)) => {
                    if latest.try_get_value() != Some(ticket) {
                        return;
                    }
                    run_error.set(None);
                    live_backend::result_shown();
                    written.set(Some(Written::new(
                        &session,
                        generation,
                        trace,
                        ms,
                        session.on_gpu(),
                    )));
                }
                Err(e) => {
                    if latest.try_get_value() == Some(ticket) {
                        run_error.set(Some(e.to_string()));
                    }
                }
            }
        });
    });
    (written, progress, error, run_error)
}

/// The token shown for `id`: its character, or a word for `<eos>` and
/// `<unk>`.
pub fn token_text(tokenizer: &CharTokenizer, id: u32, end: &str) -> String {
    match id {
        EOS => end.to_string(),
        i if (i as usize) < SPECIALS => tokenizer.decode(&[i]),
        i => tokenizer.tokens[i as usize].clone(),
    }
}

/// The poem's characters laid out line by line, each a button that selects
/// its position; forced positions are marked.
#[component]
pub fn PoemView(
    written: RwSignal<Option<Written>>,
    #[prop(into)] selected: Signal<usize>,
    on_select: impl Fn(usize) + Clone + Send + Sync + 'static,
    testid: &'static str,
    /// Plain text, no buttons (the acrostic has nothing to pick).
    #[prop(optional)]
    readonly: bool,
) -> impl IntoView {
    let i18n = use_i18n();
    let poems = use_poem_script();
    move || {
        written.with(|w| {
            let Some(w) = w else {
                return view! { <p class="poem" data-testid=testid>{t!(i18n, llama.writing)}</p> }.into_any();
            };
            let tokens = w.trace.tokens.clone();
            let text = w.tokenizer.decode(&tokens);
            let ids = tokens.iter().map(|t| t.to_string()).collect::<Vec<_>>().join(",");
            let form = Form::of(&w.tokenizer.decode(w.trace.poem_ids().split(|&t| t == EOS).next().unwrap_or(&[])));
            let mut lines: Vec<Vec<(usize, u32)>> = vec![Vec::new()];
            for (pos, &id) in tokens.iter().enumerate().skip(2) {
                if id == EOS {
                    break;
                }
                lines.last_mut().expect("one line at least").push((pos, id));
                let c = w.tokenizer.decode(&[id]);
                if c == "，" || c == "。" {
                    lines.push(Vec::new());
                }
            }
            let tokenizer = w.tokenizer.clone();
            let forced: Vec<usize> = w.generation.forced.iter().map(|f| f.0).collect();
            let on_select = on_select.clone();
            view! {
                <div
                    class="poem"
                    lang=move || poems.lang()
                    data-testid=testid
                    data-poem=text
                    data-tokens=ids
                    data-form=form.map(|f| f.name()).unwrap_or("")
                >
                    {lines
                        .into_iter()
                        .filter(|l| !l.is_empty())
                        .map(|line| {
                            let tokenizer = tokenizer.clone();
                            let forced = forced.clone();
                            let on_select = on_select.clone();
                            view! {
                                <p class="poem-line">
                                    {line
                                        .into_iter()
                                        .map(|(pos, id)| {
                                            let written = token_text(&tokenizer, id, "");
                                            let c = move || poems.show(&written);
                                            let on_select = on_select.clone();
                                            let was_forced = forced.contains(&pos);
                                            if readonly {
                                                return view! { <span class="poem-char" class:forced=was_forced data-pos=pos>{c}</span> }.into_any();
                                            }
                                            view! {
                                                <button
                                                    type="button"
                                                    class="poem-char"
                                                    class:forced=was_forced
                                                    aria-pressed=move || (selected.get() == pos).to_string()
                                                    data-pos=pos
                                                    on:click=move |_| on_select(pos)
                                                >
                                                    {c}
                                                </button>
                                            }
                                            .into_any()
                                        })
                                        .collect_view()}
                                </p>
                            }
                        })
                        .collect_view()}
                </div>
            }
            .into_any()
        })
    }
}

/// The position the chart shows: the state's, or the poem's last character
/// (not its `<eos>`).
pub fn shown_position(state: &LlamaState, w: Option<&Written>) -> usize {
    let last = w.map_or(2, |w| {
        let t = &w.trace.tokens;
        let end = t.len() - (t.last() == Some(&EOS)) as usize;
        end.saturating_sub(1).max(2)
    });
    match state.at as usize {
        0 => last,
        at => at.min(last),
    }
}

/// One line of the poem looked up in the corpus: how many poems hold it as
/// a phrase, and how many of those the model trained on.
#[derive(Clone)]
struct LineCheck {
    line: String,
    poems: usize,
    trained_on: usize,
}

/// Chapter 6's index asked whether each line occurs, as a phrase, in the
/// corpus: a model that copies its training poems shows here.
#[component]
fn MemorisationCheck(written: RwSignal<Option<Written>>) -> impl IntoView {
    let poems = use_poem_script();
    let i18n = use_i18n();
    let checked = RwSignal::new(None::<Vec<LineCheck>>);
    let progress = RwSignal::new(None);
    let error = RwSignal::new(None);
    let session = RwSignal::new(None);
    let busy = RwSignal::new(false);
    // A new poem clears the old answers.
    Effect::new(move |_| {
        written.track();
        checked.set(None);
    });
    let check = move |_| {
        let Some(lines) = written.with_untracked(|w| w.as_ref().map(Written::lines)) else {
            return;
        };
        busy.set(true);
        spawn_local(async move {
            match search_session(move |p| {
                let _ = progress.try_set(Some(p));
            })
            .await
            {
                Ok(s) => {
                    let rows = lines
                        .into_iter()
                        .map(|line| {
                            let ids = BooleanQuery::parse(&format!("\"{line}\""), &s.fold)
                                .and_then(|q| q.run(&s.index))
                                .unwrap_or_default();
                            let trained_on = ids
                                .iter()
                                .filter(|&&id| s.poem(id).is_some_and(|(_, p)| p.trains_base()))
                                .count();
                            LineCheck {
                                line,
                                poems: ids.len(),
                                trained_on,
                            }
                        })
                        .collect();
                    let _ = checked.try_set(Some(rows));
                    let _ = session.try_set(Some(Shared(s)));
                }
                Err(e) => {
                    let _ = error.try_set(Some(e));
                }
            }
            let _ = busy.try_set(false);
        });
    };
    view! {
        <div class="memorisation" data-testid="llama-memorisation">
            <p>
                <button type="button" data-testid="llama-memorisation-check"
                    disabled=move || busy.get() || written.with(Option::is_none)
                    on:click=check>
                    {t!(i18n, llama.memo_button)}
                </button>
                " "
                {t!(i18n, llama.memo_intro)}
            </p>
            <Show when=move || busy.get()>
                <IndexStatus progress error session/>
            </Show>
            {move || error.get().map(|e| view! { <p class="error" role="alert">{move || e.say(i18n.get_locale())}</p> })}
            {move || checked.get().map(|rows| {
                let counts = rows.iter().map(|r| r.poems.to_string()).collect::<Vec<_>>().join(",");
                view! {
                    <ul class="memorisation-lines" data-testid="llama-memorised" data-counts=counts>
                        {rows
                            .into_iter()
                            .map(|r| {
                                let query = serde_urlencoded::to_string([("q", format!("\"{}\"", r.line))]).unwrap_or_default();
                                let href = path_with_query("/search", &query);
                                let found = move || if r.poems == 0 {
                                    t_string!(i18n, llama.memo_none).to_string()
                                } else {
                                    fill(t_string!(i18n, llama.memo_found), &[("count", &r.poems), ("train", &r.trained_on)])
                                };
                                view! {
                                    <li>
                                        <span lang=move || poems.lang()>{let line = r.line.clone(); move || poems.show(&line)}</span>
                                        " "
                                        {found}
                                        " "
                                        <a href=href>{t!(i18n, llama.memo_open)}</a>
                                    </li>
                                }
                            })
                            .collect_view()}
                    </ul>
                }
            })}
        </div>
    }
}

#[component]
pub fn LlamaWrite() -> impl IntoView {
    let i18n = use_i18n();
    let poems = use_poem_script();
    let (state, notices, write) = use_llama_state();
    let (written, progress, error, run_error) = use_written(state, false);
    let selected =
        Signal::derive(move || written.with(|w| shown_position(&state.get(), w.as_ref())));
    let pick = {
        let write = write.clone();
        move |pos: usize| {
            let mut next = state.get_untracked();
            next.at = pos as u32;
            write(next);
        }
    };
    let set = {
        let write = write.clone();
        move |change: &dyn Fn(&mut LlamaState, &str), value: String| {
            let mut next = state.get_untracked();
            change(&mut next, value.trim());
            write(next);
        }
    };
    let set_form = set.clone();
    let set_temp = set.clone();
    let set_k = set.clone();
    let set_p = set.clone();
    let set_seed = set.clone();
    let write_clear = write.clone();
    let write_force = write.clone();

    let chart = move || {
        written.with(|w| {
            let w = w.as_ref()?;
            let pos = selected.get();
            let logits = w.trace.logits.get(pos.checked_sub(1)?)?;
            let chosen = *w.trace.tokens.get(pos)?;
            let s = state.get();
            let mut rows = top_choices(logits, s.temp, 10);
            if !rows.iter().any(|r| r.0 == chosen) {
                let probs = compute::reference::filter::tempered_probs(logits, s.temp);
                rows.push((chosen, probs[chosen as usize]));
            }
            let end = t_string!(i18n, llama.end_token).to_string();
            let tokenizer = w.tokenizer.clone();
            let write_force = write_force.clone();
            let probs = rows.iter().map(|r| format!("{:.6}", r.1)).collect::<Vec<_>>().join(",");
            let ids = rows.iter().map(|r| r.0.to_string()).collect::<Vec<_>>().join(",");
            Some(view! {
                <figure class="llama-chart" data-testid="llama-write-chart" data-pos=pos data-probs=probs data-ids=ids>
                    <figcaption>
                        {move || fill(t_string!(i18n, llama.chart_caption), &[("pos", &pos)])}
                    </figcaption>
                    <ol class="choice-bars">
                        {rows
                            .into_iter()
                            .map(|(id, p)| {
                                let text = token_text(&tokenizer, id, &end);
                                let forcible = id as usize >= SPECIALS;
                                let c = text.chars().next().unwrap_or(' ');
                                let write_force = write_force.clone();
                                view! {
                                    <li class:chosen=id == chosen>
                                        <button
                                            type="button"
                                            lang="zh-Hant"
                                            disabled=!forcible || id == chosen
                                            data-id=id
                                            on:click=move |_| write_force(state.get_untracked().with_forced(pos, c))
                                            title=move || t_string!(i18n, llama.force_hint)
                                        >
                                            <span class="choice-char">{text}</span>
                                            <span class="choice-bar" style=format!("width: {:.1}%", p * 100.0)></span>
                                            <span class="choice-p">{format!("{:.1}%", p * 100.0)}</span>
                                        </button>
                                    </li>
                                }
                            })
                            .collect_view()}
                    </ol>
                </figure>
            })
        })
    };

    view! {
        <section class="widget" data-testid="llama-write" aria-labelledby="llama-write-title">
            <h2 id="llama-write-title">{t!(i18n, llama.write_title)}</h2>
            <p>{move || view! { <Prose text=t_string!(i18n, llama.write_intro).to_string()/> }}</p>
            <UrlNotices notices/>
            <ScriptSwitch poems/>
            <form class="controls" on:submit=|ev| ev.prevent_default()>
                <label>
                    <span>{t!(i18n, llama.form_label)}</span>
                    <select
                        data-testid="llama-form"
                        on:change=move |ev| set_form(&|s, v| s.form = v.to_string(), event_target_value(&ev))
                    >
                        {FORM_SLUGS
                            .iter()
                            .zip(Form::ALL)
                            .map(|(&slug, form)| view! {
                                <option value=slug selected=move || state.get().form == slug>
                                    {move || form_label(i18n.get_locale(), form)}
                                </option>
                            })
                            .collect_view()}
                    </select>
                </label>
                <label>
                    <span>{t!(i18n, llama.temperature)}</span>
                    <input type="number" min="0.1" max="2" step="0.1" data-testid="llama-temp"
                        prop:value=move || state.get().temp.to_string()
                        on:change=move |ev| set_temp(&|s, v| if let Ok(t) = v.parse::<f32>() { s.temp = t.clamp(0.1, 2.0) }, event_target_value(&ev))/>
                </label>
                <label>
                    <span>{t!(i18n, llama.top_k)}</span>
                    <input type="number" min="0" max="500" step="1" data-testid="llama-top-k"
                        prop:value=move || state.get().top_k
                        on:change=move |ev| set_k(&|s, v| if let Ok(k) = v.parse::<u32>() { s.top_k = k.min(500) }, event_target_value(&ev))/>
                </label>
                <label>
                    <span>{t!(i18n, llama.top_p)}</span>
                    <input type="number" min="0.05" max="1" step="0.05" data-testid="llama-top-p"
                        prop:value=move || state.get().top_p.to_string()
                        on:change=move |ev| set_p(&|s, v| if let Ok(p) = v.parse::<f32>() { s.top_p = p.clamp(0.05, 1.0) }, event_target_value(&ev))/>
                </label>
                <label>
                    <span>{t!(i18n, llama.seed)}</span>
                    <input type="number" min="0" data-testid="llama-seed"
                        prop:value=move || state.get().seed
                        on:change=move |ev| set_seed(&|s, v| if let Ok(n) = v.parse::<u64>() { s.seed = n; s.force.clear(); s.at = 0 }, event_target_value(&ev))/>
                </label>
                <button
                    type="button"
                    data-testid="llama-clear"
                    disabled=move || state.get().force.is_empty()
                    on:click=move |_| {
                        let mut next = state.get_untracked();
                        next.force.clear();
                        write_clear(next);
                    }
                >
                    {t!(i18n, llama.clear_forced)}
                </button>
            </form>
            <LoadStatus what=Signal::derive(move || t_string!(i18n, llama.weights_what).to_string()) progress error/>
            {move || run_error.get().map(|e| view! { <p class="error" role="alert">{e}</p> })}
            <div class="llama-write-layout">
                <PoemView written selected on_select=pick testid="llama-write-poem"/>
                {chart}
            </div>
            <p class="status" role="status" data-testid="llama-write-status"
                data-ms=move || written.with(|w| w.as_ref().map(|w| w.ms.to_string()).unwrap_or_default())
                data-backend=move || written.with(|w| w.as_ref().map(|w| if w.on_gpu { "gpu" } else { "cpu" }).unwrap_or_default())
            >
                {move || written.with(|w| w.as_ref().map(|w| {
                    let chars = w.characters();
                    fill(
                        t_string!(i18n, llama.write_status),
                        &[
                            ("chars", &chars),
                            ("ms", &format!("{:.0}", w.ms)),
                            ("rate", &format!("{:.0}", chars as f64 / (w.ms / 1000.0).max(1e-6))),
                            ("backend", &backend_name(w.adapter.as_deref(), i18n.get_locale())),
                        ],
                    )
                }))}
            </p>
            <MemorisationCheck written/>
        </section>
    }
}
