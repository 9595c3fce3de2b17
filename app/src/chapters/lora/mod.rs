//! Chapter 5: LoRA adapters trained here, on the tab's GPU or CPU.

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
use embeds::{COMPARE, INSIDE, TABLE, TRAIN};
use widgets::{compare::LoraCompare, inside::LoraInside, table::LoraTable, train::LoraTrain};

pub static CHAPTER: Chapter = Chapter {
    page: Page {
        slug: "lora",
        title: text!(lora.title),
        widgets: &[TRAIN, COMPARE, INSIDE, TABLE],
        load,
    },
    group: Group::Transformers,
    summary: text!(lora.summary),
    picture_alt: text!(lora.picture_alt),
    sections: &sections::ALL,
    deck: deck::DECK,
};

fn load(widget: Option<Widget>) -> ChunkFuture {
    Box::pin(lora_chunk(widget))
}

/// The chapter's chunk: everything below is fetched the first time the
/// page or one of its widgets is shown.
#[wasm_split(lora, wasm_split_path = ::leptos::wasm_split, fallible)]
fn lora_chunk(widget: Option<Widget>) -> Result<AnyView, ChunkError> {
    Ok(match widget {
        Some(w) if w == TRAIN => view! { <LoraTrain/> }.into_any(),
        Some(w) if w == COMPARE => view! { <LoraCompare/> }.into_any(),
        Some(w) if w == INSIDE => view! { <LoraInside/> }.into_any(),
        Some(w) if w == TABLE => view! { <LoraTable/> }.into_any(),
        _ => view! {
        <article data-testid="chapter-lora" class="chapter">
            <ChapterHead chapter=&CHAPTER/>
            <SectionProse section=sections::IDEA/>
            <SectionProse section=sections::TRAIN/>
            <LoraTrain/>
            <EmbedHint widget=TRAIN/>
            <SectionProse section=sections::COMPARE/>
            <LoraCompare/>
            <EmbedHint widget=COMPARE/>
            <LoraInside/>
            <EmbedHint widget=INSIDE/>
            <SectionProse section=sections::RANK/>
            <LoraTable/>
            <EmbedHint widget=TABLE/>
        </article>
        }
        .into_any(),
    })
}
