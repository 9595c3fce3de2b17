//! An embeddable widget, addressable as `/embed/<slug>`. Each page declares
//! its own (`Page::widgets`); the registry finds one by slug.

use leptos::prelude::*;

use crate::{
    i18n::{use_i18n, Locale},
    shell::{text::Text, url_state::Notice},
};

#[derive(Debug, Clone, Copy)]
pub struct Widget {
    /// `/embed/<slug>`; unique across the site (a registry test holds it).
    pub slug: &'static str,
    /// What the widget shows, in words: an embed's iframe `title`, which
    /// screen readers announce.
    pub title: Text,
}

impl Widget {
    pub fn slug(self) -> &'static str {
        self.slug
    }

    pub fn title(self, locale: Locale) -> &'static str {
        (self.title)(locale)
    }
}

impl PartialEq for Widget {
    fn eq(&self, other: &Self) -> bool {
        self.slug == other.slug
    }
}

impl Eq for Widget {}

/// What the URL parser ignored, said once at the top of the widget.
#[component]
pub fn UrlNotices(#[prop(into)] notices: Signal<Vec<Notice>>) -> impl IntoView {
    let i18n = use_i18n();
    view! {
        <Show when=move || !notices.read().is_empty()>
            <ul class="notices" role="status" data-testid="url-notices">
                {move || notices.get().into_iter().map(|n| view! { <li>{n.say(i18n.get_locale())}</li> }).collect_view()}
            </ul>
        </Show>
    }
}
