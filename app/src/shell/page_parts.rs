//! The parts every chapter page is built from: its head, its sections of
//! teaching text, and the "Embed this widget" snippets under each widget.

use leptos::prelude::*;
use leptos_router::hooks::use_location;

use crate::{
    i18n::{t, use_i18n},
    shell::{
        chapter::{Chapter, Section},
        math::Prose,
        url_state::{path_with_query, shareable_query},
        widget::Widget,
    },
};

/// A chapter's title and summary, the top of its page.
#[component]
pub fn ChapterHead(chapter: &'static Chapter) -> impl IntoView {
    let i18n = use_i18n();
    view! {
        <h1 data-testid="page-title">{move || chapter.title(i18n.get_locale())}</h1>
        <PresentLink/>
        <p class="lead">{move || view! { <Prose text=(chapter.summary)(i18n.get_locale())/> }}</p>
    }
}

/// Opens the chapter as a deck for a lecture.
#[component]
fn PresentLink() -> impl IntoView {
    let i18n = use_i18n();
    view! {
        <p class="present-link">
            <a href="?present=1" data-testid="present-link">{t!(i18n, common.present_link)}</a>
            {t!(i18n, common.present_link_note)}
        </p>
    }
}

#[component]
pub fn SectionProse(section: Section) -> impl IntoView {
    let i18n = use_i18n();
    view! {
        <section class="prose" id=section.id>
            <h2>{move || (section.heading)(i18n.get_locale())}</h2>
            {move || {
                section
                    .paragraphs(i18n.get_locale())
                    .map(|p| view! { <p><Prose text=p/></p> })
                    .collect_view()
            }}
        </section>
    }
}

/// The embed snippets for a widget, with the current settings: a plain
/// iframe, and one that `/embed.js` keeps as tall as its content.
#[component]
pub fn EmbedHint(widget: Widget) -> impl IntoView {
    let search = use_location().search;
    let i18n = use_i18n();
    let origin = move || window().location().origin().unwrap_or_default();
    let iframe = move |extra: &str| {
        let src = path_with_query(
            &format!("{}/embed/{}", origin(), widget.slug()),
            &shareable_query(&search.get()),
        );
        let title = format!("glassbox: {}", widget.title(i18n.get_locale()));
        format!(
            r#"<iframe src="{src}"{extra} width="100%" height="520" style="border:0" title="{title}" allow="fullscreen" loading="lazy"></iframe>"#
        )
    };
    let plain = move || iframe("");
    let with_script = move || {
        format!(
            "{}\n<script src=\"{}/embed.js\" async></script>",
            iframe(" data-glassbox"),
            origin()
        )
    };
    view! {
        <details class="embed-hint">
            <summary>{t!(i18n, shell.embed_summary)}</summary>
            <p>{t!(i18n, shell.embed_plain)}</p>
            <pre><code data-testid="embed-snippet">{plain}</code></pre>
            <p>{t!(i18n, shell.embed_script)}</p>
            <pre><code data-testid="embed-snippet-script">{with_script}</code></pre>
        </details>
    }
}
