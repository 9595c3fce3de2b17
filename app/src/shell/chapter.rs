//! What a chapter is, as data: the types each `chapters/<slug>/` fills in
//! and the registry (`chapters/mod.rs`) lists. The shell draws pages, menus,
//! decks and embeds from these alone, so it never names a chapter.

use std::{future::Future, pin::Pin};

use leptos::prelude::*;

use crate::{
    i18n::Locale,
    shell::{text::Text, widget::Widget},
};

/// A page whose code is a wasm chunk of its own: a chapter, or the GPU page.
#[derive(Debug)]
pub struct Page {
    /// The route, `/<slug>`, and the chunk's name.
    pub slug: &'static str,
    pub title: Text,
    /// Everything on the page that `/embed/<slug>` can show alone.
    pub widgets: &'static [Widget],
    /// The page's body (`None`) or one of its widgets, from its chunk: the
    /// chunk is fetched the first time one of its parts is shown.
    pub load: fn(Option<Widget>) -> ChunkFuture,
}

impl Page {
    pub fn path(&self) -> String {
        format!("/{}", self.slug)
    }
}

impl PartialEq for Page {
    fn eq(&self, other: &Self) -> bool {
        self.slug == other.slug
    }
}

pub type ChunkFuture = Pin<Box<dyn Future<Output = Result<AnyView, ChunkError>> + Send>>;

/// A chunk could not be fetched: offline before the chapter was ever
/// opened, or the site was redeployed under an open tab. The browser's
/// console has the details.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChunkError;

impl From<leptos::wasm_split::SplitLoaderError> for ChunkError {
    fn from(_: leptos::wasm_split::SplitLoaderError) -> Self {
        ChunkError
    }
}

/// The parts of the course, as the Chapters menu groups them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Group {
    Generative,
    Transformers,
    Vision,
    Search,
}

impl Group {
    pub const ALL: [Group; 4] = [
        Group::Generative,
        Group::Transformers,
        Group::Vision,
        Group::Search,
    ];

    pub fn name(self, locale: Locale) -> &'static str {
        use crate::i18n::td_string;
        match self {
            Group::Generative => td_string!(locale, shell.group_generative),
            Group::Transformers => td_string!(locale, shell.group_transformers),
            Group::Vision => td_string!(locale, shell.group_vision),
            Group::Search => td_string!(locale, shell.group_search),
        }
    }
}

/// A chapter: its page, where the menu lists it, its teaching text and its
/// lecture deck. Content only; its widgets and models load with its chunk.
#[derive(Debug)]
pub struct Chapter {
    pub page: Page,
    pub group: Group,
    /// One paragraph on what the chapter teaches, with its formulas.
    pub summary: Text,
    /// What the home page's picture of the chapter shows, in words (its alt
    /// text). The picture is `assets/pictures/<slug>.svg`, drawn from the
    /// chapter's models by `cargo xtask pictures`.
    pub picture_alt: Text,
    /// The teaching text, in page order (the table of contents).
    pub sections: &'static [Section],
    /// Presentation mode's steps (`present=1`).
    pub deck: &'static [Step],
}

impl Chapter {
    pub fn slug(&self) -> &'static str {
        self.page.slug
    }

    pub fn title(&self, locale: Locale) -> &'static str {
        (self.page.title)(locale)
    }

    pub fn picture(&self) -> String {
        format!("/assets/pictures/{}.svg", self.slug())
    }
}

impl PartialEq for Chapter {
    fn eq(&self, other: &Self) -> bool {
        self.page == other.page
    }
}

/// A section of a chapter's teaching text: a heading and paragraphs (one
/// body text, paragraphs apart by a blank line); the widgets sit between
/// sections.
#[derive(Debug, Clone, Copy)]
pub struct Section {
    /// The heading's anchor, `#<id>`.
    pub id: &'static str,
    pub heading: Text,
    pub body: Text,
}

impl Section {
    pub fn paragraphs(&self, locale: Locale) -> impl Iterator<Item = &'static str> {
        (self.body)(locale).split("\n\n")
    }
}

/// One step of a lecture deck.
#[derive(Debug, Clone, Copy)]
pub enum Step {
    /// A heading and at most about 40 words.
    Text { heading: Text, body: Text },
    /// One widget in a preset state, written as the URL query it would have
    /// on the chapter page (parameters left out keep their defaults), with a
    /// line saying what to look at.
    Widget {
        widget: Widget,
        query: &'static str,
        caption: Text,
    },
}

/// What the URL parser ignores in each widget step's preset query, as
/// debug text; a chapter's deck test expects none.
#[cfg(test)]
pub fn preset_notices<S: crate::shell::url_state::WidgetState>(deck: &[Step]) -> Vec<String> {
    deck.iter()
        .filter_map(|step| match step {
            Step::Widget { query, .. } => Some(*query),
            Step::Text { .. } => None,
        })
        .flat_map(|query| {
            let pairs: Vec<(String, String)> = serde_urlencoded::from_str(query).unwrap();
            crate::shell::url_state::parse_query::<S>(&pairs)
                .notices
                .into_iter()
                .map(move |n| format!("{query}: {n:?}"))
        })
        .collect()
}
