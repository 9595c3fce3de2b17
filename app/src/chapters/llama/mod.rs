//! Chapter 4: a tiny LLaMA writing Tang poems.

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
use embeds::{ACROSTIC, INSIDE, SCALING, SPEED, WRITE};
use widgets::{
    acrostic::LlamaAcrostic,
    inside::LlamaInside,
    scaling::{LlamaScaling, LlamaSpeed},
    write::LlamaWrite,
};

pub static CHAPTER: Chapter = Chapter {
    page: Page {
        slug: "llama",
        title: text!(llama.title),
        widgets: &[WRITE, ACROSTIC, INSIDE, SCALING, SPEED],
        load,
    },
    group: Group::Transformers,
    summary: text!(llama.summary),
    picture_alt: text!(llama.picture_alt),
    sections: &sections::ALL,
    deck: deck::DECK,
};

fn load(widget: Option<Widget>) -> ChunkFuture {
    Box::pin(llama_chunk(widget))
}

/// The chapter's chunk: everything below is fetched the first time the
/// page or one of its widgets is shown.
#[wasm_split(llama, wasm_split_path = ::leptos::wasm_split, fallible)]
fn llama_chunk(widget: Option<Widget>) -> Result<AnyView, ChunkError> {
    Ok(match widget {
        Some(w) if w == WRITE => view! { <LlamaWrite/> }.into_any(),
        Some(w) if w == ACROSTIC => view! { <LlamaAcrostic/> }.into_any(),
        Some(w) if w == INSIDE => view! { <LlamaInside/> }.into_any(),
        Some(w) if w == SCALING => view! { <LlamaScaling/> }.into_any(),
        Some(w) if w == SPEED => view! { <LlamaSpeed/> }.into_any(),
        _ => view! {
        <article data-testid="chapter-llama" class="chapter">
            <ChapterHead chapter=&CHAPTER/>
            <SectionProse section=sections::DATA/>
            <SectionProse section=sections::WRITE/>
            <LlamaWrite/>
            <EmbedHint widget=WRITE/>
            <SectionProse section=sections::ACROSTIC/>
            <LlamaAcrostic/>
            <EmbedHint widget=ACROSTIC/>
            <SectionProse section=sections::BLOCK/>
            <LlamaInside/>
            <EmbedHint widget=INSIDE/>
            <SectionProse section=sections::SCALING/>
            <LlamaScaling/>
            <EmbedHint widget=SCALING/>
            <LlamaSpeed/>
            <EmbedHint widget=SPEED/>
        </article>
        }
        .into_any(),
    })
}
