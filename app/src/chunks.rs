//! Each chapter's code (its page and widgets, with the models behind them)
//! is a wasm module of its own, fetched the first time one of its parts is
//! shown: `/` downloads only the shell. `cargo xtask build` splits the wasm
//! at the `#[wasm_split]` functions below; natively they are plain calls.

use leptos::{prelude::*, wasm_split::wasm_split};

use crate::{
    chapters::Chapter,
    i18n::{t, use_i18n},
    pages,
    widgets::Widget,
};

/// What a chunk can draw: a chapter page's body, the GPU page's body, or one
/// widget (embeds and lecture decks).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Part {
    ChapterPage(Chapter),
    GpuPage,
    Widget(Widget),
}

impl Part {
    /// The chapter whose chunk holds this part; `None` is the GPU page's.
    pub fn chapter(self) -> Option<Chapter> {
        match self {
            Part::ChapterPage(chapter) => Some(chapter),
            Part::GpuPage => None,
            Part::Widget(widget) => widget.chapter(),
        }
    }
}

/// A chunk could not be fetched: offline before the chapter was ever
/// opened, or the site was redeployed under an open tab. The browser's
/// console has the details.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChunkError;

impl From<leptos::wasm_split::SplitLoaderError> for ChunkError {
    fn from(_: leptos::wasm_split::SplitLoaderError) -> Self {
        ChunkError
    }
}

/// `part`, once its chunk has loaded: a status line meanwhile, and an error
/// with a retry button if the fetch fails.
#[component]
pub fn Lazy(part: Part) -> impl IntoView {
    let i18n = use_i18n();
    let attempt = RwSignal::new(0u32);
    view! {
        <Suspense fallback=move || view! {
            <p class="chunk-status" role="status" data-testid="chunk-loading">{t!(i18n, shell.chunk_loading)}</p>
        }>
            {move || {
                attempt.track();
                Suspend::new(async move {
                    match load(part).await {
                        Ok(view) => view,
                        Err(ChunkError) => view! {
                            <div class="chunk-status" role="alert" data-testid="chunk-error">
                                <p>{t!(i18n, shell.chunk_failed)}</p>
                                <button type="button" on:click=move |_| attempt.update(|n| *n += 1)>
                                    {t!(i18n, shell.chunk_retry)}
                                </button>
                            </div>
                        }
                        .into_any(),
                    }
                })
            }}
        </Suspense>
    }
}

async fn load(part: Part) -> Result<AnyView, ChunkError> {
    match part.chapter() {
        Some(Chapter::Autoregressive) => ar_chunk(part).await,
        Some(Chapter::Attention) => attention_chunk(part).await,
        Some(Chapter::Detr) => detr_chunk(part).await,
        Some(Chapter::Llama) => llama_chunk(part).await,
        Some(Chapter::Lora) => lora_chunk(part).await,
        Some(Chapter::Search) => search_chunk(part).await,
        None => gpu_chunk(part).await,
    }
}

// One function per chunk, each reaching only its own chapter's code: what
// two chunks share goes into a common module that loads with either.

#[wasm_split(ar, wasm_split_path = ::leptos::wasm_split, fallible)]
fn ar_chunk(part: Part) -> Result<AnyView, ChunkError> {
    Ok(pages::ar_part(part))
}

#[wasm_split(attention, wasm_split_path = ::leptos::wasm_split, fallible)]
fn attention_chunk(part: Part) -> Result<AnyView, ChunkError> {
    Ok(pages::attention_part(part))
}

#[wasm_split(detr, wasm_split_path = ::leptos::wasm_split, fallible)]
fn detr_chunk(part: Part) -> Result<AnyView, ChunkError> {
    Ok(pages::detr_part(part))
}

#[wasm_split(llama, wasm_split_path = ::leptos::wasm_split, fallible)]
fn llama_chunk(part: Part) -> Result<AnyView, ChunkError> {
    Ok(pages::llama_part(part))
}

#[wasm_split(lora, wasm_split_path = ::leptos::wasm_split, fallible)]
fn lora_chunk(part: Part) -> Result<AnyView, ChunkError> {
    Ok(pages::lora_part(part))
}

#[wasm_split(search, wasm_split_path = ::leptos::wasm_split, fallible)]
fn search_chunk(part: Part) -> Result<AnyView, ChunkError> {
    Ok(pages::search_part(part))
}

#[wasm_split(gpu, wasm_split_path = ::leptos::wasm_split, fallible)]
fn gpu_chunk(part: Part) -> Result<AnyView, ChunkError> {
    Ok(pages::gpu_part(part))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_widget_belongs_to_one_chunk() {
        for widget in Widget::ALL {
            let page = Part::Widget(widget)
                .chapter()
                .map_or("/gpu".to_string(), |c| format!("/{}", c.slug()));
            assert_eq!(page, widget.page(), "{widget:?}");
        }
    }
}
