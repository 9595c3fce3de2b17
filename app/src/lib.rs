//! glassbox's UI. `main.rs` only mounts [`App`]; everything else lives here so
//! browser tests can import it.

pub mod ar_models;
pub mod assets;
pub mod chapters;
pub mod chunks;
pub mod decks;
pub mod detr_model;
pub mod digit_models;
pub mod embed_bridge;
pub mod embed_protocol;
pub mod format;
pub mod in_flight;
pub mod lang;
pub mod live_backend;
pub mod llama_model;
pub mod lora_model;
pub mod math;
pub mod mnist;
pub mod motion;
pub mod offline;
pub mod pages;
pub mod present;
pub mod search_model;
pub mod theme;
pub mod url_state;
pub mod widgets;

// The typed translations build.rs generates from locales/: `i18n::Locale`,
// `use_i18n`, and the `t!` family of macros.
include!(concat!(env!("OUT_DIR"), "/i18n/mod.rs"));

use leptos::prelude::*;
use leptos_router::{
    components::{Route, Router, Routes},
    path,
};

use live_backend::LiveBackend;
use pages::{
    AttentionPage, AutoregressivePage, DetrPage, Embed, GpuPage, Home, LlamaPage, LoraPage,
    NotFound, SearchPage,
};

#[component]
pub fn App() -> impl IntoView {
    LiveBackend::provide();
    theme::init();
    view! {
        // lang.rs sets <html lang> itself (zh-Hans rather than zh).
        <i18n::I18nContextProvider set_lang_attr_on_html=false>
        <Router>
            <lang::LangSync/>
            <Routes fallback=NotFound>
                <Route path=path!("/") view=Home/>
                <Route path=path!("/autoregressive") view=AutoregressivePage/>
                <Route path=path!("/attention") view=AttentionPage/>
                <Route path=path!("/detr") view=DetrPage/>
                <Route path=path!("/llama") view=LlamaPage/>
                <Route path=path!("/lora") view=LoraPage/>
                <Route path=path!("/search") view=SearchPage/>
                <Route path=path!("/gpu") view=GpuPage/>
                <Route path=path!("/embed/:widget") view=Embed/>
            </Routes>
        </Router>
        </i18n::I18nContextProvider>
    }
}
