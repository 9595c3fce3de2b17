//! Before and after: the base model and an adapted one write with the same
//! seed and form, side by side. Switching adapter uploads only the adapter
//! (a few kilobytes), never the base. The adapted model's NLL on the poet's
//! held-out poems against the base's, and on other poets' held-out poems:
//! what was learnt, and what was forgotten. Your adapter downloads as
//! safetensors and loads back.

use std::sync::Arc;

use compute::{
    models::llama::{
        lora::{Adapter, AdapterError},
        sampling::Generation,
    },
    tang::EOS,
};
use leptos::{prelude::*, task::spawn_local};
use wasm_bindgen::JsCast;

use super::{poet_name, use_lora_state, LoraState, POET_SLUGS};
use crate::shell::script::{use_poem_script, ScriptSwitch};
use crate::{
    chapters::{
        autoregressive::{session::ModelLoadError, widgets::LoadStatus},
        lora::session::{lora_session, LoraSession, Yours},
    },
    i18n::{t, t_string, use_i18n},
    shell::{file_picker::FilePicker, format::fill, live_backend},
};

/// A written poem's text and token ids.
#[derive(Debug, Clone, PartialEq)]
struct Sample {
    text: String,
    ids: String,
}

/// The adapter `swap` names, if any (base: none; yours: maybe none yet).
fn chosen(session: &LoraSession, yours: Option<Arc<Adapter>>, swap: &str) -> Option<Arc<Adapter>> {
    match swap {
        "yours" => yours,
        s => POET_SLUGS
            .iter()
            .position(|&p| p == s)
            .map(|i| session.shipped[i].clone()),
    }
}

async fn write(
    session: &LoraSession,
    s: &LoraState,
    adapter: Option<Arc<Adapter>>,
) -> Result<Sample, String> {
    let g = Generation::poem(s.form(), Default::default(), s.seed);
    let (trace, _) = session
        .llama
        .generate_adapted(&g, adapter)
        .await
        .map_err(|e| e.to_string())?;
    let poem: Vec<u32> = trace
        .poem_ids()
        .iter()
        .copied()
        .filter(|&t| t != EOS)
        .collect();
    Ok(Sample {
        text: session.llama.tokenizer.decode(&poem),
        ids: trace
            .tokens
            .iter()
            .map(u32::to_string)
            .collect::<Vec<_>>()
            .join(","),
    })
}

/// (poet's held-out, others' held-out) NLLs for the base and the adapter.
type Nlls = ((f64, f64), Option<(f64, f64)>);

fn nlls(session: &LoraSession, poet: usize, adapter: Option<&Adapter>) -> Result<Nlls, String> {
    let (own, others) = session.eval_sets(poet);
    let f = &session.frozen;
    let e = |x: compute::ComputeError| x.to_string();
    let base = (
        f.mean_nll(None, &own).map_err(e)?,
        f.mean_nll(None, &others).map_err(e)?,
    );
    let adapted = match adapter {
        Some(a) => Some((
            f.mean_nll(Some(a), &own).map_err(e)?,
            f.mean_nll(Some(a), &others).map_err(e)?,
        )),
        None => None,
    };
    Ok((base, adapted))
}

#[component]
pub fn LoraCompare() -> impl IntoView {
    let i18n = use_i18n();
    let (state, _notices, write_state) = use_lora_state();
    let poems = use_poem_script();
    let yours = Yours::provide();
    let (progress, set_progress) = signal((0u64, 0u64));
    let (load_error, set_load_error) = signal(None::<ModelLoadError>);
    let base = RwSignal::new(None::<Sample>);
    let adapted = RwSignal::new(None::<Sample>);
    let scores = RwSignal::new(None::<Nlls>);
    let run_error = RwSignal::new(None::<String>);
    let upload_error = RwSignal::new(None::<String>);
    let latest = StoredValue::new(0u64);
    let key = Memo::new(move |_| {
        let s = state.get();
        (s.swap.clone(), s.form.clone(), s.seed, s.poet.clone())
    });
    Effect::new(move |_| {
        let _ = key.get();
        let _ = yours.0.get();
        live_backend::gpu_epoch();
        let s = state.get_untracked();
        let mine = yours.0.get_untracked();
        let ticket = latest.get_value() + 1;
        latest.set_value(ticket);
        spawn_local(async move {
            let backend = live_backend::backend().await;
            let session = match lora_session(&backend, move |l, t| set_progress.set((l, t))).await {
                Ok(s) => s,
                Err(e) => return set_load_error.set(Some(e)),
            };
            let live = move || latest.try_get_value() == Some(ticket);
            let adapter = chosen(&session, mine, &s.swap);
            let result = async {
                let b = write(&session, &s, None).await?;
                let a = write(&session, &s, adapter.clone()).await?;
                Ok::<_, String>((b, a))
            }
            .await;
            if !live() {
                return;
            }
            match result {
                Ok((b, a)) => {
                    base.set(Some(b));
                    adapted.set(Some(a));
                    run_error.set(None);
                    live_backend::result_shown();
                }
                Err(e) => run_error.set(Some(e)),
            }
            // The scores take longer: they come after the poems.
            crate::chapters::autoregressive::widgets::next_frame().await;
            if live() {
                match nlls(&session, s.poet(), adapter.as_deref()) {
                    Ok(n) => scores.set(Some(n)),
                    Err(e) => run_error.set(Some(e)),
                }
            }
        });
    });

    let write_choice = write_state.clone();
    let choose = move |swap: &'static str| {
        let write_state = write_choice.clone();
        move |_| {
            let mut s = state.get_untracked();
            s.swap = swap.to_string();
            write_state(s);
        }
    };
    let choices: Vec<(&'static str, String)> = std::iter::once(("base", String::new()))
        .chain(
            POET_SLUGS
                .iter()
                .enumerate()
                .map(|(i, &p)| (p, poet_name(i).to_string())),
        )
        .chain(std::iter::once(("yours", String::new())))
        .collect();

    let on_upload = move |ev: web_sys::Event| {
        let Some(input) = ev
            .target()
            .and_then(|t| t.dyn_into::<web_sys::HtmlInputElement>().ok())
        else {
            return;
        };
        let Some(file) = input.files().and_then(|f| f.get(0)) else {
            return;
        };
        input.set_value("");
        let name = file.name();
        let write_state = write_state.clone();
        spawn_local(async move {
            let locale = i18n.get_locale_untracked();
            if file.size() > compute::models::llama::lora::MAX_ADAPTER_BYTES as f64 {
                let e = AdapterError::TooLarge {
                    bytes: file.size() as usize,
                    max: compute::models::llama::lora::MAX_ADAPTER_BYTES,
                };
                return upload_error.set(Some(say_adapter_error(locale, &name, &e)));
            }
            let bytes = match wasm_bindgen_futures::JsFuture::from(file.array_buffer()).await {
                Ok(buf) => js_sys::Uint8Array::new(&buf).to_vec(),
                Err(e) => return upload_error.set(Some(crate::shell::assets::js_detail(&e))),
            };
            let backend = live_backend::backend().await;
            let Ok(session) = lora_session(&backend, |_, _| {}).await else {
                return;
            };
            match Adapter::from_safetensors(&name, &session.llama.model.config, &bytes) {
                Ok(a) => {
                    upload_error.set(None);
                    yours.0.set(Some(Arc::new(a)));
                    let mut s = state.get_untracked();
                    s.swap = "yours".into();
                    write_state(s);
                }
                Err(e) => upload_error.set(Some(say_adapter_error(locale, &name, &e))),
            }
        });
    };

    let download = move || {
        yours
            .0
            .get()
            .and_then(|a| a.to_safetensors().ok())
            .map(|bytes| format!("data:application/octet-stream;base64,{}", base64(&bytes)))
    };

    view! {
        <section class="widget lora-compare" data-testid="lora-compare-widget">
            <h3>{t!(i18n, lora.compare_title)}</h3>
            <LoadStatus
                what=Signal::derive(move || t_string!(i18n, lora.what).to_string())
                progress
                error=load_error
            />
            <div class="button-row" role="group" aria-label=move || t_string!(i18n, lora.swap_label)>
                {choices.into_iter().map(|(slug, name)| {
                    let label = name.clone();
                    view! {
                        <button
                            type="button"
                            data-testid=format!("lora-swap-{slug}")
                            aria-pressed=move || (state.get().swap == slug).to_string()
                            disabled=move || slug == "yours" && yours.0.get().is_none()
                            on:click=choose(slug)
                        >
                            {move || match slug {
                                "base" => t_string!(i18n, lora.swap_base).to_string(),
                                "yours" => t_string!(i18n, lora.swap_yours).to_string(),
                                _ => fill(t_string!(i18n, lora.swap_poet), &[("poet", &label)]),
                            }}
                        </button>
                    }
                }).collect_view()}
            </div>
            {move || run_error.get().map(|e| view! {
                <p class="error" role="alert">{fill(t_string!(i18n, lora.run_failed), &[("detail", &e)])}</p>
            })}
            <ScriptSwitch poems/>
            <div class="lora-samples">
                <figure>
                    <figcaption>{t!(i18n, lora.sample_base)}</figcaption>
                    <p class="poem" lang=move || poems.lang() data-testid="lora-sample-base"
                        data-ids=move || base.get().map(|s| s.ids).unwrap_or_default()>
                        {move || base.get().map(|s| poems.show(&s.text)).unwrap_or_else(|| t_string!(i18n, lora.writing).to_string())}
                    </p>
                </figure>
                <figure>
                    <figcaption>{move || {
                        let s = state.get();
                        match s.swap.as_str() {
                            "base" => t_string!(i18n, lora.sample_base).to_string(),
                            "yours" => t_string!(i18n, lora.swap_yours).to_string(),
                            p => fill(t_string!(i18n, lora.swap_poet), &[("poet", &poet_name(POET_SLUGS.iter().position(|&x| x == p).unwrap_or(0)))]),
                        }
                    }}</figcaption>
                    <p class="poem" lang=move || poems.lang() data-testid="lora-sample-adapted"
                        data-ids=move || adapted.get().map(|s| s.ids).unwrap_or_default()>
                        {move || adapted.get().map(|s| poems.show(&s.text)).unwrap_or_else(|| t_string!(i18n, lora.writing).to_string())}
                    </p>
                </figure>
            </div>
            <p class="note">{move || fill(t_string!(i18n, lora.sample_note), &[("seed", &state.get().seed)])}</p>
            {move || scores.get().map(|((b_own, b_other), adapted)| {
                let poet = poet_name(state.get().poet());
                let cell = |v: Option<f64>| v.map_or("—".to_string(), |v| format!("{v:.3}"));
                let delta = |a: Option<f64>, b: f64| a.map_or(String::new(), |a| format!("{:+.3}", a - b));
                view! {
                    <div class="table-scroll" tabindex="0"><table data-testid="lora-nll">
                        <caption>{fill(t_string!(i18n, lora.nll_caption), &[("per_form", &crate::chapters::lora::session::EVAL_PER_FORM)])}</caption>
                        <thead><tr>
                            <th scope="col">{t!(i18n, lora.nll_set)}</th>
                            <th scope="col">{t!(i18n, lora.sample_base)}</th>
                            <th scope="col">{t!(i18n, lora.nll_adapted)}</th>
                            <th scope="col">{t!(i18n, lora.nll_change)}</th>
                        </tr></thead>
                        <tbody>
                            <tr>
                                <th scope="row">{fill(t_string!(i18n, lora.nll_own), &[("poet", &poet)])}</th>
                                <td>{format!("{b_own:.3}")}</td>
                                <td>{cell(adapted.map(|a| a.0))}</td>
                                <td>{delta(adapted.map(|a| a.0), b_own)}</td>
                            </tr>
                            <tr>
                                <th scope="row">{t!(i18n, lora.nll_others)}</th>
                                <td>{format!("{b_other:.3}")}</td>
                                <td>{cell(adapted.map(|a| a.1))}</td>
                                <td>{delta(adapted.map(|a| a.1), b_other)}</td>
                            </tr>
                        </tbody>
                    </table></div>
                }
            })}
            <div class="button-row">
                {move || download().map(|href| view! {
                    <a class="download" href=href download="glassbox-lora.safetensors" data-testid="lora-download">
                        {t!(i18n, lora.download)}
                    </a>
                })}
                <FilePicker accept=".safetensors" testid="lora-upload" on_change=on_upload>
                    {t!(i18n, lora.upload)}
                </FilePicker>
            </div>
            {move || upload_error.get().map(|e| view! {
                <p class="error" role="alert" data-testid="lora-upload-error">{e}</p>
            })}
        </section>
    }
}

/// An adapter file's problem in the page's language.
pub fn say_adapter_error(locale: crate::i18n::Locale, file: &str, e: &AdapterError) -> String {
    use crate::i18n::td_string;
    let why = match e {
        AdapterError::TooLarge { bytes, max } => fill(
            td_string!(locale, lora.bad_too_large),
            &[("bytes", bytes), ("max", max)],
        ),
        AdapterError::Empty => td_string!(locale, lora.bad_empty).to_string(),
        AdapterError::Rank { rank, max } => fill(
            td_string!(locale, lora.bad_rank),
            &[("rank", rank), ("max", max)],
        ),
        AdapterError::Weights(compute::weights::WeightsError::NonFinite { tensor, .. }) => {
            fill(td_string!(locale, lora.bad_nan), &[("tensor", tensor)])
        }
        AdapterError::Weights(compute::weights::WeightsError::Shape {
            tensor,
            expected,
            found,
            ..
        }) => fill(
            td_string!(locale, lora.bad_shape),
            &[
                ("tensor", tensor),
                ("expected", &format!("{expected:?}")),
                ("found", &format!("{found:?}")),
            ],
        ),
        other => fill(
            td_string!(locale, lora.bad_other),
            &[("detail", &other.to_string())],
        ),
    };
    fill(
        td_string!(locale, lora.bad_file),
        &[("file", &file), ("why", &why)],
    )
}

/// Standard base64, for the download's data URL.
fn base64(bytes: &[u8]) -> String {
    const TABLE: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for k in 0..4 {
            if k <= chunk.len() {
                out.push(TABLE[(n >> (18 - 6 * k) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn base64_matches_the_rfc_examples() {
        for (plain, coded) in [
            ("", ""),
            ("f", "Zg=="),
            ("fo", "Zm8="),
            ("foo", "Zm9v"),
            ("foobar", "Zm9vYmFy"),
        ] {
            assert_eq!(super::base64(plain.as_bytes()), coded);
        }
    }
}
