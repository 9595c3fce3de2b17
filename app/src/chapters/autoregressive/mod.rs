//! Chapter 1: autoregressive models on MNIST (FVSBN, NADE, MADE, PixelCNN): exact likelihoods, sampling, receptive fields and teacher forcing.

mod deck;
mod sections;
pub mod session;
pub mod widgets;

use leptos::{prelude::*, wasm_split::wasm_split};

use crate::shell::{
    chapter::{text, Chapter, ChunkError, ChunkFuture, Group, Page},
    page_parts::{ChapterHead, EmbedHint, SectionProse},
    widget::Widget,
};
use widgets::{
    complete::ArComplete, costs::ArCosts, receptive::ArReceptive, sample::ArSample, score::ArScore,
};

pub const SCORE: Widget = Widget {
    slug: "ar-score",
    title: text!(autoregressive.widget_score),
};

pub const SAMPLE: Widget = Widget {
    slug: "ar-sample",
    title: text!(autoregressive.widget_sample),
};

pub const RECEPTIVE: Widget = Widget {
    slug: "ar-receptive",
    title: text!(autoregressive.widget_receptive),
};

pub const COMPLETE: Widget = Widget {
    slug: "ar-complete",
    title: text!(autoregressive.widget_complete),
};

pub const COSTS: Widget = Widget {
    slug: "ar-costs",
    title: text!(autoregressive.widget_costs),
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
