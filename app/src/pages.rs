//! The routes' pages. Each full page sits inside [`Chrome`]; embeds do not.

use compute::Backend;
use leptos::prelude::*;
use leptos_router::{
    components::A,
    hooks::{use_location, use_params_map},
};

use crate::{
    chapters::{
        Chapter, Section, AR_CHAIN_RULE, AR_MODELS, AR_RECEPTIVE, AR_TEACHER_FORCING,
        DETR_MATCHING, DETR_PIPELINE, DETR_QUERIES, DETR_SET, DETR_SLOW, KV_LIVE, KV_MEMORY,
        KV_WHY, LLAMA_ACROSTIC, LLAMA_BLOCK, LLAMA_DATA, LLAMA_SCALING, LLAMA_WRITE, LORA_COMPARE,
        LORA_IDEA, LORA_RANK, LORA_TRAIN, SEARCH_INDEX, SEARCH_PLATFORM, SEARCH_QUERIES,
        SEARCH_RANKING, SEARCH_TERMS,
    },
    chunks::{Lazy, Part},
    embed_bridge::use_embed_bridge,
    embed_protocol::hidden_parts,
    i18n::{t, t_string, use_i18n},
    lang::{fill, LangSwitch},
    live_backend::{BackendBadge, LiveBackend},
    math::Prose,
    offline::OfflineSave,
    present::{presenting, Presentation},
    theme::ThemeToggle,
    url_state::{path_with_query, shareable_query},
    widgets::{
        ar::{
            complete::ArComplete, costs::ArCosts, receptive::ArReceptive, sample::ArSample,
            score::ArScore,
        },
        asset_check::AssetCheck,
        attention::{calculator::KvCalculator, live::KvLive, memory::KvMemory},
        detr::{
            attention::DetrAttention, detect::DetrDetect, matching::DetrMatching,
            pipeline::DetrPipeline, queries::DetrQueries, DetrModelFacts, DetrSessionScope,
        },
        gpu_bench::GpuBench,
        gpu_selftest::GpuSelfTest,
        llama::{
            acrostic::LlamaAcrostic,
            inside::LlamaInside,
            scaling::{LlamaScaling, LlamaSpeed},
            write::LlamaWrite,
        },
        lora::{compare::LoraCompare, inside::LoraInside, table::LoraTable, train::LoraTrain},
        search::{
            build::SearchBuild, intersect::SearchIntersect, pipeline::SearchPipeline,
            results::SearchResults,
        },
        Widget, WidgetView,
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
            <nav aria-label=move || t_string!(i18n, common.nav_label)>
                {Chapter::ALL
                    .into_iter()
                    .map(|c| view! { <A href=format!("/{}", c.slug())>{move || c.title(i18n.get_locale())}</A> })
                    .collect_view()}
                <A href="/gpu">{t!(i18n, common.your_gpu)}</A>
            </nav>
            <BackendBadge/>
            <ThemeToggle/>
            <LangSwitch/>
        </header>
        <main id="main" tabindex="-1">{children()}</main>
        <footer class="site-footer">{t!(i18n, common.footer)}</footer>
    }
}

/// A chapter's title in the page's language, for `Chrome`.
fn chapter_title(chapter: Chapter) -> Signal<String> {
    let i18n = use_i18n();
    Signal::derive(move || chapter.title(i18n.get_locale()).to_string())
}

/// A chapter's title and summary, the top of its page.
#[component]
fn ChapterHead(chapter: Chapter) -> impl IntoView {
    let i18n = use_i18n();
    view! {
        <h1 data-testid="page-title">{move || chapter.title(i18n.get_locale())}</h1>
        <PresentLink/>
        <p class="lead">{move || view! { <Prose text=chapter.summary(i18n.get_locale())/> }}</p>
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
                {Chapter::ALL
                    .into_iter()
                    .map(|c| {
                        view! {
                            <a class="card" href=format!("/{}", c.slug()) data-testid=format!("card-{}", c.slug())>
                                <h2>{move || c.title(i18n.get_locale())}</h2>
                                <p>{move || view! { <Prose text=c.summary(i18n.get_locale())/> }}</p>
                            </a>
                        }
                    })
                    .collect_view()}
            </div>
            <OfflineSave/>
        </Chrome>
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
fn SectionProse(section: Section) -> impl IntoView {
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

/// A chapter's page, or its deck when the URL asks for presentation mode.
fn page_or_deck(chapter: Chapter, page: impl Fn() -> AnyView + Send + 'static) -> impl IntoView {
    let presenting = presenting();
    move || {
        if presenting.get() {
            view! { <Presentation chapter/> }.into_any()
        } else {
            page()
        }
    }
}

/// A chapter's page: the shell's chrome at once, the body from the
/// chapter's chunk.
fn chapter_page(chapter: Chapter) -> impl IntoView {
    page_or_deck(chapter, move || {
        view! {
            <Chrome title=chapter_title(chapter)>
                <Lazy part=Part::ChapterPage(chapter)/>
            </Chrome>
        }
        .into_any()
    })
}

#[component]
pub fn AutoregressivePage() -> impl IntoView {
    chapter_page(Chapter::Autoregressive)
}

#[component]
pub fn AttentionPage() -> impl IntoView {
    chapter_page(Chapter::Attention)
}

#[component]
pub fn DetrPage() -> impl IntoView {
    chapter_page(Chapter::Detr)
}

#[component]
pub fn LlamaPage() -> impl IntoView {
    chapter_page(Chapter::Llama)
}

/// Chapter 1's chunk: text and the four widgets, all sharing the URL's
/// `ArState`; or one of its widgets.
pub fn ar_part(part: Part) -> AnyView {
    let chapter = Chapter::Autoregressive;
    match part {
        Part::Widget(Widget::ArScore) => view! { <ArScore/> }.into_any(),
        Part::Widget(Widget::ArSample) => view! { <ArSample/> }.into_any(),
        Part::Widget(Widget::ArReceptive) => view! { <ArReceptive/> }.into_any(),
        Part::Widget(Widget::ArComplete) => view! { <ArComplete/> }.into_any(),
        Part::Widget(Widget::ArCosts) => view! { <ArCosts/> }.into_any(),
        _ => view! {
            <article data-testid="chapter-autoregressive" class="chapter">
                <ChapterHead chapter/>
                <SectionProse section=AR_CHAIN_RULE/>
                <ArScore/>
                <EmbedHint widget=Widget::ArScore/>
                <SectionProse section=AR_MODELS/>
                <ArSample/>
                <EmbedHint widget=Widget::ArSample/>
                <SectionProse section=AR_RECEPTIVE/>
                <ArReceptive/>
                <EmbedHint widget=Widget::ArReceptive/>
                <SectionProse section=AR_TEACHER_FORCING/>
                <ArComplete/>
                <EmbedHint widget=Widget::ArComplete/>
                <ArCosts/>
                <EmbedHint widget=Widget::ArCosts/>
            </article>
        }
        .into_any(),
    }
}

/// Chapter 2's chunk: the KV cache.
pub fn attention_part(part: Part) -> AnyView {
    let chapter = Chapter::Attention;
    match part {
        Part::Widget(Widget::KvCalculator) => view! { <KvCalculator/> }.into_any(),
        Part::Widget(Widget::KvLive) => view! { <KvLive/> }.into_any(),
        Part::Widget(Widget::KvMemory) => view! { <KvMemory/> }.into_any(),
        _ => view! {
            <article data-testid="chapter-attention" class="chapter">
                <ChapterHead chapter/>
                <SectionProse section=KV_WHY/>
                <KvCalculator/>
                <EmbedHint widget=Widget::KvCalculator/>
                <SectionProse section=KV_LIVE/>
                <KvLive/>
                <EmbedHint widget=Widget::KvLive/>
                <SectionProse section=KV_MEMORY/>
                <KvMemory/>
                <EmbedHint widget=Widget::KvMemory/>
            </article>
        }
        .into_any(),
    }
}

/// Chapter 3's chunk: DETR. The page's widgets share one detection of the
/// canvas.
pub fn detr_part(part: Part) -> AnyView {
    let chapter = Chapter::Detr;
    match part {
        Part::Widget(Widget::DetrDetect) => view! { <DetrDetect/> }.into_any(),
        Part::Widget(Widget::DetrQueries) => view! { <DetrQueries/> }.into_any(),
        Part::Widget(Widget::DetrAttention) => view! { <DetrAttention/> }.into_any(),
        Part::Widget(Widget::DetrMatching) => view! { <DetrMatching/> }.into_any(),
        Part::Widget(Widget::DetrPipeline) => view! { <DetrPipeline/> }.into_any(),
        _ => view! {
            <article data-testid="chapter-detr" class="chapter">
                <ChapterHead chapter/>
                <DetrSessionScope>
                    <SectionProse section=DETR_SET/>
                    <DetrDetect/>
                    <EmbedHint widget=Widget::DetrDetect/>
                    <SectionProse section=DETR_QUERIES/>
                    <DetrQueries/>
                    <EmbedHint widget=Widget::DetrQueries/>
                    <DetrAttention/>
                    <EmbedHint widget=Widget::DetrAttention/>
                    <SectionProse section=DETR_MATCHING/>
                    <DetrMatching/>
                    <EmbedHint widget=Widget::DetrMatching/>
                    <SectionProse section=DETR_PIPELINE/>
                    <DetrPipeline/>
                    <EmbedHint widget=Widget::DetrPipeline/>
                    <SectionProse section=DETR_SLOW/>
                    <DetrModelFacts/>
                </DetrSessionScope>
            </article>
        }
        .into_any(),
    }
}

/// Chapter 4's chunk: a tiny LLaMA writing Tang poems.
pub fn llama_part(part: Part) -> AnyView {
    let chapter = Chapter::Llama;
    match part {
        Part::Widget(Widget::LlamaWrite) => view! { <LlamaWrite/> }.into_any(),
        Part::Widget(Widget::LlamaAcrostic) => view! { <LlamaAcrostic/> }.into_any(),
        Part::Widget(Widget::LlamaInside) => view! { <LlamaInside/> }.into_any(),
        Part::Widget(Widget::LlamaScaling) => view! { <LlamaScaling/> }.into_any(),
        Part::Widget(Widget::LlamaSpeed) => view! { <LlamaSpeed/> }.into_any(),
        _ => view! {
            <article data-testid="chapter-llama" class="chapter">
                <ChapterHead chapter/>
                <SectionProse section=LLAMA_DATA/>
                <SectionProse section=LLAMA_WRITE/>
                <LlamaWrite/>
                <EmbedHint widget=Widget::LlamaWrite/>
                <SectionProse section=LLAMA_ACROSTIC/>
                <LlamaAcrostic/>
                <EmbedHint widget=Widget::LlamaAcrostic/>
                <SectionProse section=LLAMA_BLOCK/>
                <LlamaInside/>
                <EmbedHint widget=Widget::LlamaInside/>
                <SectionProse section=LLAMA_SCALING/>
                <LlamaScaling/>
                <EmbedHint widget=Widget::LlamaScaling/>
                <LlamaSpeed/>
                <EmbedHint widget=Widget::LlamaSpeed/>
            </article>
        }
        .into_any(),
    }
}

#[component]
pub fn LoraPage() -> impl IntoView {
    chapter_page(Chapter::Lora)
}

/// Chapter 5's chunk: LoRA adapters trained here, on the tab's GPU or CPU.
pub fn lora_part(part: Part) -> AnyView {
    let chapter = Chapter::Lora;
    match part {
        Part::Widget(Widget::LoraTrain) => view! { <LoraTrain/> }.into_any(),
        Part::Widget(Widget::LoraCompare) => view! { <LoraCompare/> }.into_any(),
        Part::Widget(Widget::LoraInside) => view! { <LoraInside/> }.into_any(),
        Part::Widget(Widget::LoraTable) => view! { <LoraTable/> }.into_any(),
        _ => view! {
            <article data-testid="chapter-lora" class="chapter">
                <ChapterHead chapter/>
                <SectionProse section=LORA_IDEA/>
                <SectionProse section=LORA_TRAIN/>
                <LoraTrain/>
                <EmbedHint widget=Widget::LoraTrain/>
                <SectionProse section=LORA_COMPARE/>
                <LoraCompare/>
                <EmbedHint widget=Widget::LoraCompare/>
                <LoraInside/>
                <EmbedHint widget=Widget::LoraInside/>
                <SectionProse section=LORA_RANK/>
                <LoraTable/>
                <EmbedHint widget=Widget::LoraTable/>
            </article>
        }
        .into_any(),
    }
}

#[component]
pub fn SearchPage() -> impl IntoView {
    chapter_page(Chapter::Search)
}

/// Chapter 6's chunk: an inverted index over the Tang poems, built here.
pub fn search_part(part: Part) -> AnyView {
    let chapter = Chapter::Search;
    match part {
        Part::Widget(Widget::SearchBuild) => view! { <SearchBuild/> }.into_any(),
        Part::Widget(Widget::SearchQuery) => view! { <SearchResults/> }.into_any(),
        Part::Widget(Widget::SearchIntersect) => view! { <SearchIntersect/> }.into_any(),
        Part::Widget(Widget::SearchPipeline) => view! { <SearchPipeline/> }.into_any(),
        _ => view! {
            <article data-testid="chapter-search" class="chapter">
                <ChapterHead chapter/>
                <SectionProse section=SEARCH_INDEX/>
                <SearchBuild/>
                <EmbedHint widget=Widget::SearchBuild/>
                <SectionProse section=SEARCH_TERMS/>
                <SectionProse section=SEARCH_QUERIES/>
                <SearchResults/>
                <EmbedHint widget=Widget::SearchQuery/>
                <SearchIntersect/>
                <EmbedHint widget=Widget::SearchIntersect/>
                <SectionProse section=SEARCH_RANKING/>
                <SectionProse section=SEARCH_PLATFORM/>
                <SearchPipeline/>
                <EmbedHint widget=Widget::SearchPipeline/>
            </article>
        }
        .into_any(),
    }
}

#[component]
pub fn GpuPage() -> impl IntoView {
    let i18n = use_i18n();
    view! {
        <Chrome title=Signal::derive(move || t_string!(i18n, shell.gpu_title).to_string())>
            <Lazy part=Part::GpuPage/>
        </Chrome>
    }
}

/// The GPU page's chunk: the adapter, its self-test and benchmarks.
pub fn gpu_part(part: Part) -> AnyView {
    let i18n = use_i18n();
    match part {
        Part::Widget(Widget::GpuSelfTest) => view! { <GpuSelfTest/> }.into_any(),
        Part::Widget(Widget::GpuBench) => view! { <GpuBench/> }.into_any(),
        _ => view! {
            <article data-testid="gpu-page">
                <h1 data-testid="page-title">{t!(i18n, shell.gpu_title)}</h1>
                <GpuInfo/>
                <GpuSelfTest/>
                <EmbedHint widget=Widget::GpuSelfTest/>
                <GpuBench/>
                <EmbedHint widget=Widget::GpuBench/>
                <AssetCheck/>
            </article>
        }
        .into_any(),
    }
}

/// Adapter, limits and features, or why the page fell back to the CPU.
#[component]
fn GpuInfo() -> impl IntoView {
    let backend = LiveBackend::expect().0;
    let i18n = use_i18n();
    view! {
        <Suspense fallback=move || view! { <p role="status">{t!(i18n, shell.gpu_asking)}</p> }>
            {move || Suspend::new(async move {
                match backend.await {
                    Backend::Gpu(exec) => {
                        let s = exec.ctx().summary();
                        let features = s.features.len();
                        view! {
                            <section class="gpu-info" data-testid="gpu-info">
                                <dl>
                                    <dt>{t!(i18n, shell.gpu_adapter)}</dt><dd data-testid="gpu-adapter">{s.adapter_name}</dd>
                                    <dt>{t!(i18n, shell.gpu_backend)}</dt><dd>{s.backend}</dd>
                                    <dt>{t!(i18n, shell.gpu_device_type)}</dt><dd>{s.device_type}</dd>
                                    <dt>{t!(i18n, shell.gpu_driver)}</dt>
                                    <dd>
                                        {if s.driver.is_empty() {
                                            t!(i18n, shell.gpu_driver_unknown).into_any()
                                        } else {
                                            s.driver.into_any()
                                        }}
                                    </dd>
                                </dl>
                                <h2>{t!(i18n, shell.gpu_limits_heading)}</h2>
                                <table class="limits">
                                    <thead>
                                        <tr>
                                            <th scope="col">{t!(i18n, shell.gpu_limit)}</th>
                                            <th scope="col">{t!(i18n, shell.gpu_value)}</th>
                                        </tr>
                                    </thead>
                                    <tbody>
                                        {s.limits
                                            .into_iter()
                                            .map(|(name, value)| view! { <tr><td><code>{name}</code></td><td>{value}</td></tr> })
                                            .collect_view()}
                                    </tbody>
                                </table>
                                <details>
                                    <summary>
                                        {move || fill(t_string!(i18n, shell.gpu_features), &[("count", &features)])}
                                    </summary>
                                    <ul class="features">
                                        {s.features.into_iter().map(|f| view! { <li><code>{f}</code></li> }).collect_view()}
                                    </ul>
                                </details>
                            </section>
                        }
                        .into_any()
                    }
                    Backend::Cpu(reason) => view! {
                        <section class="gpu-info" data-testid="gpu-info">
                            <p data-testid="gpu-unavailable">
                                <strong>{t!(i18n, shell.gpu_none)}</strong>
                                {move || crate::live_backend::why_cpu(i18n.get_locale(), &reason)}
                            </p>
                            <p>{t!(i18n, shell.gpu_cpu_fallback)}</p>
                        </section>
                    }
                    .into_any(),
                }
            })}
        </Suspense>
    }
}

/// The embed snippets for a widget, with the current settings: a plain
/// iframe, and one that `/embed.js` keeps as tall as its content.
#[component]
fn EmbedHint(widget: Widget) -> impl IntoView {
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

/// `/embed/:widget`: one widget, no page chrome, for iframes.
#[component]
pub fn Embed() -> impl IntoView {
    let params = use_params_map();
    let search = use_location().search;
    let i18n = use_i18n();
    move || {
        let slug = params.read().get("widget").unwrap_or_default();
        match Widget::from_slug(&slug) {
            Some(widget) => {
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
                        <WidgetView widget/>
                        <p class="embed-footer">
                            <BackendBadge/>
                            <a
                                href=move || path_with_query(widget.page(), &shareable_query(&search.get()))
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
                        {Widget::ALL.iter().map(|w| w.slug()).collect::<Vec<_>>().join(", ")}
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
