//! Chapter 9: SPP-net. A face detector convolves a scene once and pools
//! every candidate window from the shared feature map, raced against
//! R-CNN's crop-and-convolve on the same windows.

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
use embeds::{ANY_SIZE, DETECT, RACE, WINDOW};
use widgets::{
    any_size::SppAnySize, detect::SppDetect, race::SppRace, window::SppWindow, SppModelFacts,
    SppSessionScope,
};

pub static CHAPTER: Chapter = Chapter {
    page: Page {
        slug: "spp",
        title: text!(spp.title),
        widgets: &[ANY_SIZE, WINDOW, RACE, DETECT],
        load,
    },
    group: Group::Vision,
    summary: text!(spp.summary),
    picture_alt: text!(spp.picture_alt),
    sections: &sections::ALL,
    deck: deck::DECK,
};

fn load(widget: Option<Widget>) -> ChunkFuture {
    Box::pin(spp_chunk(widget))
}

/// The chapter's chunk: everything below is fetched the first time the
/// page or one of its widgets is shown.
#[wasm_split(spp, wasm_split_path = ::leptos::wasm_split, fallible)]
fn spp_chunk(widget: Option<Widget>) -> Result<AnyView, ChunkError> {
    Ok(match widget {
        Some(w) if w == ANY_SIZE => view! { <SppAnySize/> }.into_any(),
        Some(w) if w == WINDOW => view! { <SppWindow/> }.into_any(),
        Some(w) if w == RACE => view! { <SppRace/> }.into_any(),
        Some(w) if w == DETECT => view! { <SppDetect/> }.into_any(),
        _ => view! {
        <article data-testid="chapter-spp" class="chapter">
            <ChapterHead chapter=&CHAPTER/>
            <SppSessionScope>
                <SectionProse section=sections::FIXED/>
                <SppAnySize/>
                <EmbedHint widget=ANY_SIZE/>
                <SectionProse section=sections::ONCE/>
                <SppWindow/>
                <EmbedHint widget=WINDOW/>
                <SectionProse section=sections::RACE/>
                <SppRace/>
                <EmbedHint widget=RACE/>
                <SectionProse section=sections::DETECT/>
                <SppDetect/>
                <EmbedHint widget=DETECT/>
                <SectionProse section=sections::NEXT/>
                <SppModelFacts/>
            </SppSessionScope>
        </article>
        }
        .into_any(),
    })
}
