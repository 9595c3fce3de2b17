//! Chapter 1: autoregressive models on MNIST (FVSBN, NADE, MADE, PixelCNN): exact likelihoods, sampling, receptive fields and teacher forcing.

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
use embeds::{COMPLETE, COSTS, RECEPTIVE, SAMPLE, SCORE};
use widgets::{
    complete::ArComplete, costs::ArCosts, receptive::ArReceptive, sample::ArSample, score::ArScore,
};

pub static CHAPTER: Chapter = Chapter {
    page: Page {
        slug: "autoregressive",
        title: text!(autoregressive.title),
        widgets: &[SCORE, SAMPLE, RECEPTIVE, COMPLETE, COSTS],
        load,
    },
    group: Group::Generative,
    summary: text!(autoregressive.summary),
    picture_alt: text!(autoregressive.picture_alt),
    sections: &sections::ALL,
    deck: deck::DECK,
};

fn load(widget: Option<Widget>) -> ChunkFuture {
    Box::pin(autoregressive_chunk(widget))
}

/// The chapter's chunk: everything below is fetched the first time the
/// page or one of its widgets is shown.
#[wasm_split(ar, wasm_split_path = ::leptos::wasm_split, fallible)]
fn autoregressive_chunk(widget: Option<Widget>) -> Result<AnyView, ChunkError> {
    Ok(match widget {
        Some(w) if w == SCORE => view! { <ArScore/> }.into_any(),
        Some(w) if w == SAMPLE => view! { <ArSample/> }.into_any(),
        Some(w) if w == RECEPTIVE => view! { <ArReceptive/> }.into_any(),
        Some(w) if w == COMPLETE => view! { <ArComplete/> }.into_any(),
        Some(w) if w == COSTS => view! { <ArCosts/> }.into_any(),
        _ => view! {
        <article data-testid="chapter-autoregressive" class="chapter">
            <ChapterHead chapter=&CHAPTER/>
            <SectionProse section=sections::CHAIN_RULE/>
            <ArScore/>
            <EmbedHint widget=SCORE/>
            <SectionProse section=sections::MODELS/>
            <ArSample/>
            <EmbedHint widget=SAMPLE/>
            <SectionProse section=sections::RECEPTIVE/>
            <ArReceptive/>
            <EmbedHint widget=RECEPTIVE/>
            <SectionProse section=sections::TEACHER_FORCING/>
            <ArComplete/>
            <EmbedHint widget=COMPLETE/>
            <ArCosts/>
            <EmbedHint widget=COSTS/>
        </article>
        }
        .into_any(),
    })
}
