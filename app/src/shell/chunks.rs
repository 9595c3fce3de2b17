//! Each page's code (a chapter's page and widgets, with the models behind
//! them; or the GPU page's) is a wasm module of its own, fetched the first
//! time one of its parts is shown: `/` downloads only the shell.
//! `cargo xtask build` splits the wasm at each page's `#[wasm_split]`
//! function (its `Page::load`); natively they are plain calls.

use leptos::prelude::*;

use crate::{
    i18n::{t, use_i18n},
    shell::{
        chapter::{ChunkError, Page},
        widget::Widget,
    },
};

/// What a chunk can draw: its page's body, or one of its widgets (embeds
/// and lecture decks).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Part {
    pub page: &'static Page,
    pub widget: Option<Widget>,
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
                    match (part.page.load)(part.widget).await {
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

/// One widget of `page`, drawn by its chunk (embeds and lecture decks).
#[component]
pub fn WidgetView(page: &'static Page, widget: Widget) -> impl IntoView {
    view! { <Lazy part=Part { page, widget: Some(widget) }/> }
}
