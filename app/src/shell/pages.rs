//! The routes' pages. Each full page sits inside [`Chrome`]; embeds do not.
//! Chapters come from the registry, so nothing here names one.

use leptos::prelude::*;
use leptos_router::hooks::{use_location, use_params_map};

use crate::{
    chapters as registry,
    i18n::{t, t_string, use_i18n},
    shell::{
        chapter::Chapter,
        chunks::{Lazy, Part, WidgetView},
        embed_bridge::use_embed_bridge,
        embed_protocol::hidden_parts,
        format::fill,
        lang::LangSwitch,
        live_backend::BackendBadge,
        math::Prose,
        nav::{ChapterNeighbours, ChaptersMenu, TableOfContents},
        offline::OfflineSave,
        page_parts::EmbedHint,
        present::{presenting, Presentation},
        theme::ThemeToggle,
        url_state::{path_with_query, shareable_query},
    },
};

/// Header, navigation and footer around a page; also sets the tab title,
/// in the page's language.
#[component]
pub fn Chrome(#[prop(into)] title: Signal<String>, children: Children) -> impl IntoView {
    let i18n = use_i18n();
    Effect::new(move |_| document().set_title(&format!("{} · glassbox", title.get())));
    view! {
        <a class="skip-link" href="#main">{t!(i18n, common.skip)}</a>
        <header class="site-header">
            <a class="brand" href="/">"glassbox"</a>
            <ChaptersMenu/>
            <span class="header-end">
                <BackendBadge in_header=true/>
                <ThemeToggle/>
                <LangSwitch/>
            </span>
        </header>
        <main id="main" tabindex="-1">{children()}</main>
        <footer class="site-footer">{t!(i18n, common.footer)}</footer>
    }
}

#[component]
pub fn Home() -> impl IntoView {
    let i18n = use_i18n();
    view! {
        <Chrome title=Signal::derive(move || t_string!(i18n, common.home_title).to_string())>
            <h1 data-testid="page-title">{t!(i18n, common.home_heading)}</h1>
            <p class="lead">{t!(i18n, common.home_lead)}</p>
            <div class="cards" data-testid="home-cards">
                {registry::ALL
                    .iter()
                    .map(|&c| {
                        view! {
                            <a class="card" href=c.page.path() data-testid=format!("card-{}", c.slug())>
                                <img
                                    class="card-picture"
                                    src=c.picture()
                                    alt=move || (c.picture_alt)(i18n.get_locale())
                                    loading="lazy"
                                    decoding="async"
                                />
                                <h2>{move || c.title(i18n.get_locale())}</h2>
                                <p>{move || view! { <Prose text=(c.summary)(i18n.get_locale())/> }}</p>
                            </a>
                        }
                    })
                    .collect_view()}
            </div>
            <OfflineSave/>
        </Chrome>
    }
}

/// `/<slug>`: the chapter's page (the shell's chrome at once, the body from
/// the chapter's chunk), or its deck when the URL asks for presentation
/// mode; an unknown slug is not found.
#[component]
pub fn ChapterRoute() -> impl IntoView {
    let params = use_params_map();
    move || {
        let slug = params.read().get("chapter").unwrap_or_default();
        match registry::by_slug(&slug) {
            Some(chapter) => view! { <ChapterPage chapter/> }.into_any(),
            None => view! { <NotFound/> }.into_any(),
        }
    }
}

#[component]
fn ChapterPage(chapter: &'static Chapter) -> impl IntoView {
    let i18n = use_i18n();
    let presenting = presenting();
    move || {
        if presenting.get() {
            view! { <Presentation chapter/> }.into_any()
        } else {
            let title = Signal::derive(move || chapter.title(i18n.get_locale()).to_string());
            view! {
                <Chrome title>
                    <div class="chapter-layout">
                        <TableOfContents chapter/>
                        <div class="chapter-body">
                            <Lazy part=Part { page: &chapter.page, widget: None }/>
                            <ChapterNeighbours chapter/>
                        </div>
                    </div>
                </Chrome>
            }
            .into_any()
        }
    }
}

#[component]
pub fn GpuPage() -> impl IntoView {
    let i18n = use_i18n();
    view! {
        <Chrome title=Signal::derive(move || t_string!(i18n, shell.gpu_title).to_string())>
            <Lazy part=Part { page: &crate::gpu::PAGE, widget: None }/>
        </Chrome>
    }
}

/// `/embed/:widget`: one widget, no page chrome, for iframes.
#[component]
pub fn Embed() -> impl IntoView {
    let params = use_params_map();
    let search = use_location().search;
    let i18n = use_i18n();
    move || {
        let slug = params.read().get("widget").unwrap_or_default();
        match registry::widget(&slug) {
            Some((page, widget)) => {
                document().set_title(&format!("{slug} · glassbox"));
                let root = NodeRef::<leptos::html::Div>::new();
                use_embed_bridge(widget, root);
                view! {
                    <div
                        class="embed"
                        data-testid="embed"
                        data-hide=move || hidden_parts(&search.get())
                        node_ref=root
                    >
                        <WidgetView page widget/>
                        <p class="embed-footer">
                            <BackendBadge/>
                            <a
                                href=move || path_with_query(&page.path(), &shareable_query(&search.get()))
                                target="_blank"
                                rel="noopener"
                                data-testid="embed-open"
                            >
                                {t!(i18n, shell.embed_open)}
                            </a>
                        </p>
                        <EmbedHint widget/>
                    </div>
                }
                .into_any()
            }
            None => view! {
                <div class="embed" data-testid="embed-unknown" role="alert">
                    <p>{move || fill(t_string!(i18n, shell.embed_unknown), &[("slug", &slug)])}
                        {registry::widget_slugs().join(", ")}
                    </p>
                </div>
            }
            .into_any(),
        }
    }
}

#[component]
pub fn NotFound() -> impl IntoView {
    let path = use_location().pathname;
    let i18n = use_i18n();
    view! {
        <Chrome title=Signal::derive(move || t_string!(i18n, shell.notfound_title).to_string())>
            <article data-testid="not-found">
                <h1 data-testid="page-title">{t!(i18n, shell.notfound_heading)}</h1>
                <p>
                    {t!(i18n, shell.notfound_before)}
                    <code>{move || path.get()}</code>
                    {t!(i18n, shell.notfound_after)}
                </p>
                <p><a href="/">{t!(i18n, shell.notfound_back)}</a></p>
            </article>
        </Chrome>
    }
}
