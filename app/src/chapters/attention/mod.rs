//! Chapter 2: attention variants (MHA, GQA, MQA, MLA) and the KV cache, in a calculator and a live decoder.

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
use embeds::{CALCULATOR, LIVE, MEMORY};
use widgets::{calculator::KvCalculator, live::KvLive, memory::KvMemory};

pub static CHAPTER: Chapter = Chapter {
    page: Page {
        slug: "attention",
        title: text!(attention.title),
        widgets: &[CALCULATOR, LIVE, MEMORY],
        load,
    },
    group: Group::Transformers,
    summary: text!(attention.summary),
    picture_alt: text!(attention.picture_alt),
    sections: &sections::ALL,
    deck: deck::DECK,
};

fn load(widget: Option<Widget>) -> ChunkFuture {
    Box::pin(attention_chunk(widget))
}

/// The chapter's chunk: everything below is fetched the first time the
/// page or one of its widgets is shown.
#[wasm_split(attention, wasm_split_path = ::leptos::wasm_split, fallible)]
fn attention_chunk(widget: Option<Widget>) -> Result<AnyView, ChunkError> {
    Ok(match widget {
        Some(w) if w == CALCULATOR => view! { <KvCalculator/> }.into_any(),
        Some(w) if w == LIVE => view! { <KvLive/> }.into_any(),
        Some(w) if w == MEMORY => view! { <KvMemory/> }.into_any(),
        _ => view! {
        <article data-testid="chapter-attention" class="chapter">
            <ChapterHead chapter=&CHAPTER/>
            <SectionProse section=sections::WHY/>
            <KvCalculator/>
            <EmbedHint widget=CALCULATOR/>
            <SectionProse section=sections::LIVE/>
            <KvLive/>
            <EmbedHint widget=LIVE/>
            <SectionProse section=sections::MEMORY/>
            <KvMemory/>
            <EmbedHint widget=MEMORY/>
        </article>
        }
        .into_any(),
    })
}
