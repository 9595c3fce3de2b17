//! Chapter 6: an inverted index over the Tang poems, built here.

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
use embeds::{BUILD, INTERSECT, PIPELINE, QUERY};
use widgets::{
    build::SearchBuild, intersect::SearchIntersect, pipeline::SearchPipeline,
    results::SearchResults,
};

pub static CHAPTER: Chapter = Chapter {
    page: Page {
        slug: "search",
        title: text!(search.title),
        widgets: &[BUILD, QUERY, INTERSECT, PIPELINE],
        load,
    },
    group: Group::Search,
    summary: text!(search.summary),
    picture_alt: text!(search.picture_alt),
    sections: &sections::ALL,
    deck: deck::DECK,
};

fn load(widget: Option<Widget>) -> ChunkFuture {
    Box::pin(search_chunk(widget))
}

/// The chapter's chunk: everything below is fetched the first time the
/// page or one of its widgets is shown.
#[wasm_split(search, wasm_split_path = ::leptos::wasm_split, fallible)]
fn search_chunk(widget: Option<Widget>) -> Result<AnyView, ChunkError> {
    Ok(match widget {
        Some(w) if w == BUILD => view! { <SearchBuild/> }.into_any(),
        Some(w) if w == QUERY => view! { <SearchResults/> }.into_any(),
        Some(w) if w == INTERSECT => view! { <SearchIntersect/> }.into_any(),
        Some(w) if w == PIPELINE => view! { <SearchPipeline/> }.into_any(),
        _ => view! {
        <article data-testid="chapter-search" class="chapter">
            <ChapterHead chapter=&CHAPTER/>
            <SectionProse section=sections::INDEX/>
            <SearchBuild/>
            <EmbedHint widget=BUILD/>
            <SectionProse section=sections::TERMS/>
            <SectionProse section=sections::QUERIES/>
            <SearchResults/>
            <EmbedHint widget=QUERY/>
            <SearchIntersect/>
            <EmbedHint widget=INTERSECT/>
            <SectionProse section=sections::RANKING/>
            <SectionProse section=sections::PLATFORM/>
            <SearchPipeline/>
            <EmbedHint widget=PIPELINE/>
        </article>
        }
        .into_any(),
    })
}
