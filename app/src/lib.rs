//! glassbox's UI. `main.rs` only mounts [`App`]; everything else lives here so
//! browser tests can import it.

pub mod chapters;
pub mod gpu;
pub mod shell;

// The typed translations build.rs generates from locales/: `i18n::Locale`,
// `use_i18n`, and the `t!` family of macros.
include!(concat!(env!("OUT_DIR"), "/i18n/mod.rs"));

use leptos::prelude::*;
use leptos_router::{
    components::{Route, Router, Routes},
    path,
};

use shell::{
    lang,
    live_backend::LiveBackend,
    pages::{ChapterRoute, Embed, GpuPage, Home, NotFound},
    theme,
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
                <Route path=path!("/gpu") view=GpuPage/>
                <Route path=path!("/embed/:widget") view=Embed/>
                // Every chapter in the registry, at /<slug>.
                <Route path=path!("/:chapter") view=ChapterRoute/>
            </Routes>
        </Router>
        </i18n::I18nContextProvider>
    }
}
