//! Chapter 3: DETR, a small detector for canvases of digits, opened layer by layer. The page's widgets share one detection of the canvas.

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
use embeds::{ATTENTION, DETECT, MATCHING, PIPELINE, QUERIES};
use widgets::{
    attention::DetrAttention, detect::DetrDetect, matching::DetrMatching, pipeline::DetrPipeline,
    queries::DetrQueries, DetrModelFacts, DetrSessionScope,
};

pub static CHAPTER: Chapter = Chapter {
    page: Page {
        slug: "detr",
        title: text!(detr.title),
        widgets: &[DETECT, QUERIES, ATTENTION, MATCHING, PIPELINE],
        load,
    },
    group: Group::Vision,
    summary: text!(detr.summary),
    picture_alt: text!(detr.picture_alt),
    sections: &sections::ALL,
    deck: deck::DECK,
};

fn load(widget: Option<Widget>) -> ChunkFuture {
    Box::pin(detr_chunk(widget))
}

/// The chapter's chunk: everything below is fetched the first time the
/// page or one of its widgets is shown.
#[wasm_split(detr, wasm_split_path = ::leptos::wasm_split, fallible)]
fn detr_chunk(widget: Option<Widget>) -> Result<AnyView, ChunkError> {
    Ok(match widget {
        Some(w) if w == DETECT => view! { <DetrDetect/> }.into_any(),
        Some(w) if w == QUERIES => view! { <DetrQueries/> }.into_any(),
        Some(w) if w == ATTENTION => view! { <DetrAttention/> }.into_any(),
        Some(w) if w == MATCHING => view! { <DetrMatching/> }.into_any(),
        Some(w) if w == PIPELINE => view! { <DetrPipeline/> }.into_any(),
        _ => view! {
        <article data-testid="chapter-detr" class="chapter">
            <ChapterHead chapter=&CHAPTER/>
            <DetrSessionScope>
                <SectionProse section=sections::SET/>
                <DetrDetect/>
                <EmbedHint widget=DETECT/>
                <SectionProse section=sections::QUERIES/>
                <DetrQueries/>
                <EmbedHint widget=QUERIES/>
                <DetrAttention/>
                <EmbedHint widget=ATTENTION/>
                <SectionProse section=sections::MATCHING/>
                <DetrMatching/>
                <EmbedHint widget=MATCHING/>
                <SectionProse section=sections::PIPELINE/>
                <DetrPipeline/>
                <EmbedHint widget=PIPELINE/>
                <SectionProse section=sections::SLOW/>
                <DetrModelFacts/>
            </DetrSessionScope>
        </article>
        }
        .into_any(),
    })
}
