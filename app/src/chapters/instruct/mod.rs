//! Chapter 7: instruction tuning, Alpaca-style, with instructions a
//! program can check.

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
use embeds::{ACCURACY, FUNNEL, RECIPE, TRY};
use widgets::{
    accuracy::InstructAccuracy, funnel::InstructFunnel, recipe::InstructRecipe, try_it::InstructTry,
};

pub static CHAPTER: Chapter = Chapter {
    page: Page {
        slug: "instruct",
        title: text!(instruct.title),
        widgets: &[RECIPE, FUNNEL, TRY, ACCURACY],
        load,
    },
    group: Group::Transformers,
    summary: text!(instruct.summary),
    picture_alt: text!(instruct.picture_alt),
    sections: &sections::ALL,
    deck: deck::DECK,
};

fn load(widget: Option<Widget>) -> ChunkFuture {
    Box::pin(instruct_chunk(widget))
}

/// The chapter's chunk: everything below is fetched the first time the
/// page or one of its widgets is shown.
#[wasm_split(instruct, wasm_split_path = ::leptos::wasm_split, fallible)]
fn instruct_chunk(widget: Option<Widget>) -> Result<AnyView, ChunkError> {
    Ok(match widget {
        Some(w) if w == RECIPE => view! { <InstructRecipe/> }.into_any(),
        Some(w) if w == FUNNEL => view! { <InstructFunnel/> }.into_any(),
        Some(w) if w == TRY => view! { <InstructTry/> }.into_any(),
        Some(w) if w == ACCURACY => view! { <InstructAccuracy/> }.into_any(),
        _ => view! {
        <article data-testid="chapter-instruct" class="chapter">
            <ChapterHead chapter=&CHAPTER/>
            <SectionProse section=sections::SFT/>
            <InstructRecipe/>
            <EmbedHint widget=RECIPE/>
            <SectionProse section=sections::DATA/>
            <InstructFunnel/>
            <EmbedHint widget=FUNNEL/>
            <SectionProse section=sections::CHECK/>
            <InstructTry/>
            <EmbedHint widget=TRY/>
            <SectionProse section=sections::RESULTS/>
            <InstructAccuracy/>
            <EmbedHint widget=ACCURACY/>
        </article>
        }
        .into_any(),
    })
}
