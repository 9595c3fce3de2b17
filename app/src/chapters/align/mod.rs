//! Chapter 8: RLHF against DPO, aligning the Tang LLaMA to the tone rules,
//! a reward a program can check.

mod deck;
pub mod embeds;
mod sections;
pub mod session;
pub mod widgets;

use leptos::{prelude::*, wasm_split::wasm_split};

use crate::shell::{
    chapter::{Chapter, ChunkError, ChunkFuture, Group, Page},
    page_parts::{ChapterHead, EmbedHint, SectionProse},
    text::text,
    widget::Widget,
};
use embeds::{CHECKER, FRONTIER, IMPLICIT, LABELLER, PROXY, STAGES};
use widgets::{
    checker::AlignChecker, frontier::AlignFrontier, implicit::AlignImplicit,
    labeller::AlignLabeller, proxy::AlignProxy, stages::AlignStages,
};

pub static CHAPTER: Chapter = Chapter {
    page: Page {
        slug: "align",
        title: text!(align.title),
        widgets: &[CHECKER, STAGES, FRONTIER, PROXY, IMPLICIT, LABELLER],
        load,
    },
    group: Group::Transformers,
    summary: text!(align.summary),
    picture_alt: text!(align.picture_alt),
    sections: &sections::ALL,
    deck: deck::DECK,
};

fn load(widget: Option<Widget>) -> ChunkFuture {
    Box::pin(align_chunk(widget))
}

/// The chapter's chunk: everything below is fetched the first time the
/// page or one of its widgets is shown.
#[wasm_split(align, wasm_split_path = ::leptos::wasm_split, fallible)]
fn align_chunk(widget: Option<Widget>) -> Result<AnyView, ChunkError> {
    Ok(match widget {
        Some(w) if w == CHECKER => view! { <AlignChecker/> }.into_any(),
        Some(w) if w == STAGES => view! { <AlignStages/> }.into_any(),
        Some(w) if w == FRONTIER => view! { <AlignFrontier/> }.into_any(),
        Some(w) if w == PROXY => view! { <AlignProxy/> }.into_any(),
        Some(w) if w == IMPLICIT => view! { <AlignImplicit/> }.into_any(),
        Some(w) if w == LABELLER => view! { <AlignLabeller/> }.into_any(),
        _ => view! {
        <article data-testid="chapter-align" class="chapter">
            <ChapterHead chapter=&CHAPTER/>
            <SectionProse section=sections::RULES/>
            <AlignChecker/>
            <EmbedHint widget=CHECKER/>
            <SectionProse section=sections::ROUTES/>
            <AlignStages/>
            <EmbedHint widget=STAGES/>
            <SectionProse section=sections::FRONTIER/>
            <AlignFrontier/>
            <EmbedHint widget=FRONTIER/>
            <SectionProse section=sections::PROXY/>
            <AlignProxy/>
            <EmbedHint widget=PROXY/>
            <AlignImplicit/>
            <EmbedHint widget=IMPLICIT/>
            <SectionProse section=sections::LABEL/>
            <AlignLabeller/>
            <EmbedHint widget=LABELLER/>
        </article>
        }
        .into_any(),
    })
}
