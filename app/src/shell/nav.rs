//! Finding one's way among the chapters: the header's Chapters menu,
//! grouped by part; a chapter's table of contents, which marks the section
//! being read; and the previous and next chapters at its end.

use leptos::{ev, prelude::*};
use leptos_router::{components::A, hooks::use_location};
use wasm_bindgen::JsCast;

use crate::{
    chapters as registry,
    i18n::{t, t_string, use_i18n},
    shell::chapter::{Chapter, Group},
};

/// The header's menu: every chapter under its part, then the GPU page. A
/// `<details>`, so it opens with Enter or Space and is a plain list
/// without script; Escape closes it and returns focus to its button, and
/// following a link closes it. The router marks the current page's link
/// with `aria-current="page"`.
#[component]
pub fn ChaptersMenu() -> impl IntoView {
    let i18n = use_i18n();
    let open = RwSignal::new(false);
    let details = NodeRef::<leptos::html::Details>::new();
    let pathname = use_location().pathname;
    // A new page closes the menu.
    Effect::new(move |_| {
        pathname.track();
        open.set(false);
    });
    // A click anywhere else closes it, as a menu does.
    let outside = window_event_listener(ev::click, move |ev| {
        let inside = details.get_untracked().is_some_and(|d| {
            ev.target()
                .and_then(|t| t.dyn_into::<web_sys::Node>().ok())
                .is_some_and(|t| d.contains(Some(&t)))
        });
        if !inside && open.get_untracked() {
            open.set(false);
        }
    });
    on_cleanup(move || outside.remove());
    let on_key = move |ev: ev::KeyboardEvent| {
        if ev.key() == "Escape" && open.get_untracked() {
            ev.prevent_default();
            open.set(false);
            if let Some(summary) = details
                .get_untracked()
                .and_then(|d| d.query_selector("summary").ok().flatten())
                .and_then(|s| s.dyn_into::<web_sys::HtmlElement>().ok())
            {
                let _ = summary.focus();
            }
        }
    };
    view! {
        <details
            class="chapters-menu"
            data-testid="chapters-menu"
            node_ref=details
            prop:open=move || open.get()
            on:toggle=move |_| {
                if let Some(d) = details.get_untracked() {
                    open.set(d.open());
                }
            }
            on:keydown=on_key
        >
            <summary data-testid="chapters-menu-button">{t!(i18n, shell.menu_chapters)}</summary>
            <nav class="chapters-menu-panel" aria-label=move || t_string!(i18n, common.nav_label)>
                {Group::ALL
                    .into_iter()
                    .map(|group| {
                        let chapters: Vec<&'static Chapter> =
                            registry::ALL.iter().copied().filter(|c| c.group == group).collect();
                        let heading = format!("menu-group-{}", chapters[0].slug());
                        view! {
                            <div class="menu-group">
                                <p class="menu-group-name" id=heading.clone()>{move || group.name(i18n.get_locale())}</p>
                                <ul aria-labelledby=heading>
                                    {chapters
                                        .into_iter()
                                        .map(|c| view! {
                                            <li>
                                                <A href=c.page.path()>{move || c.title(i18n.get_locale())}</A>
                                            </li>
                                        })
                                        .collect_view()}
                                </ul>
                            </div>
                        }
                    })
                    .collect_view()}
                <p class="menu-gpu"><A href="/gpu">{t!(i18n, common.your_gpu)}</A></p>
            </nav>
        </details>
    }
}

/// The chapter's sections, linked; the one being read is marked
/// (`aria-current="location"`). Beside the text on a wide screen, where it
/// starts open; folded at the top on a phone.
#[component]
pub fn TableOfContents(chapter: &'static Chapter) -> impl IntoView {
    let i18n = use_i18n();
    let current = RwSignal::new(None::<&'static str>);
    let wide = window()
        .match_media("(min-width: 64rem)")
        .ok()
        .flatten()
        .is_some_and(|m| m.matches());
    // The section whose heading was passed last, reading down the page;
    // before the first heading, the first section.
    let measure = move || {
        let line = window()
            .inner_height()
            .ok()
            .and_then(|h| h.as_f64())
            .unwrap_or(800.0)
            * 0.3;
        let document = document();
        let mut seen = None;
        for section in chapter.sections {
            let Some(el) = document.get_element_by_id(section.id) else {
                continue;
            };
            if seen.is_none() || el.get_bounding_client_rect().top() <= line {
                seen = Some(section.id);
            }
        }
        if current.get_untracked() != seen {
            current.set(seen);
        }
    };
    let on_scroll = window_event_listener(ev::scroll, move |_| measure());
    let on_resize = window_event_listener(ev::resize, move |_| measure());
    // The sections arrive with the chapter's chunk, after this mounts.
    let poll = gloo_timers::callback::Interval::new(500, measure);
    let held = StoredValue::new_local(Some(poll));
    on_cleanup(move || {
        on_scroll.remove();
        on_resize.remove();
        held.update_value(|p| *p = None);
    });
    view! {
        <nav class="toc" aria-labelledby="toc-heading" data-testid="toc">
            <details open=wide>
                <summary id="toc-heading">{t!(i18n, shell.toc_heading)}</summary>
                <ol>
                    {chapter
                        .sections
                        .iter()
                        .map(|s| {
                            let id = s.id;
                            view! {
                                <li>
                                    <a
                                        href=format!("#{id}")
                                        data-section=id
                                        aria-current=move || (current.get() == Some(id)).then_some("location")
                                    >
                                        {move || (s.heading)(i18n.get_locale())}
                                    </a>
                                </li>
                            }
                        })
                        .collect_view()}
                </ol>
            </details>
        </nav>
    }
}

/// The chapters before and after this one.
#[component]
pub fn ChapterNeighbours(chapter: &'static Chapter) -> impl IntoView {
    let i18n = use_i18n();
    let (before, after) = registry::neighbours(chapter);
    view! {
        <nav class="chapter-neighbours" data-testid="chapter-neighbours" aria-label=move || t_string!(i18n, shell.neighbours_label)>
            {before.map(|c| view! {
                <a class="chapter-prev" rel="prev" href=c.page.path() data-testid="chapter-prev">
                    <span class="note">{t!(i18n, shell.chapter_prev)}</span>
                    <span>{move || c.title(i18n.get_locale())}</span>
                </a>
            })}
            {after.map(|c| view! {
                <a class="chapter-next" rel="next" href=c.page.path() data-testid="chapter-next">
                    <span class="note">{t!(i18n, shell.chapter_next)}</span>
                    <span>{move || c.title(i18n.get_locale())}</span>
                </a>
            })}
        </nav>
    }
}
