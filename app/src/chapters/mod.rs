//! The registry: every chapter, once, in reading order. The routes, the
//! Chapters menu, the home page's cards, embeds, decks and chunks all come
//! from this list; a chapter's own folder holds everything else it has.

use crate::shell::{
    chapter::{Chapter, Page},
    widget::Widget,
};

pub mod align;
pub mod attention;
pub mod autoregressive;
pub mod detr;
pub mod instruct;
pub mod llama;
pub mod lora;
pub mod search;
pub mod spp;

/// Every chapter, in reading order. A new chapter is its folder
/// (`chapters/<slug>/`), its locale files, its `mod` line above and its
/// entry here.
pub static ALL: &[&Chapter] = &[
    &autoregressive::CHAPTER,
    &attention::CHAPTER,
    &detr::CHAPTER,
    &llama::CHAPTER,
    &lora::CHAPTER,
    &search::CHAPTER,
    &instruct::CHAPTER,
    &align::CHAPTER,
    &spp::CHAPTER,
];

/// Every page with a chunk of its own: the chapters, then the GPU page.
pub fn pages() -> impl Iterator<Item = &'static Page> {
    ALL.iter()
        .map(|c| &c.page)
        .chain(std::iter::once(&crate::gpu::PAGE))
}

/// The chapter at `/<slug>`.
pub fn by_slug(slug: &str) -> Option<&'static Chapter> {
    ALL.iter().copied().find(|c| c.slug() == slug)
}

/// The widget at `/embed/<slug>`, with the page it belongs to.
pub fn widget(slug: &str) -> Option<(&'static Page, Widget)> {
    pages().find_map(|page| {
        page.widgets
            .iter()
            .find(|w| w.slug == slug)
            .map(|&w| (page, w))
    })
}

/// Every widget's slug, for the message an unknown embed shows.
pub fn widget_slugs() -> Vec<&'static str> {
    pages()
        .flat_map(|p| p.widgets.iter().map(|w| w.slug))
        .collect()
}

/// The chapters before and after `chapter`, in reading order.
pub fn neighbours(chapter: &Chapter) -> (Option<&'static Chapter>, Option<&'static Chapter>) {
    let at = ALL.iter().position(|c| *c == chapter);
    match at {
        Some(i) => (i.checked_sub(1).map(|j| ALL[j]), ALL.get(i + 1).copied()),
        None => (None, None),
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use super::*;
    use crate::{
        i18n::Locale,
        shell::{
            chapter::{Group, Step},
            math::{formula, pieces, Piece},
        },
    };

    /// Routes: each chapter at `/<slug>`, none shadowing the shell's own
    /// routes, every slug a plain path segment.
    #[test]
    fn every_chapter_has_its_own_route() {
        let mut seen = HashSet::new();
        for chapter in ALL {
            let slug = chapter.slug();
            assert!(seen.insert(slug), "{slug} twice");
            assert!(
                !["gpu", "embed", ""].contains(&slug),
                "{slug} is the shell's"
            );
            assert!(slug.chars().all(|c| c.is_ascii_lowercase() || c == '-'));
            assert_eq!(by_slug(slug), Some(*chapter));
        }
        assert_eq!(by_slug("gpu"), None);
        assert_eq!(ALL.len(), 9);
    }

    /// Embeds: every widget's slug is unique and finds its own page.
    #[test]
    fn every_widget_is_embeddable_from_its_page() {
        let slugs = widget_slugs();
        let unique: HashSet<_> = slugs.iter().collect();
        assert_eq!(unique.len(), slugs.len(), "{slugs:?}");
        for page in pages() {
            for &w in page.widgets {
                assert_eq!(widget(w.slug), Some((page, w)));
                for locale in [Locale::en, Locale::zh] {
                    assert!(!w.title(locale).is_empty(), "{}", w.slug);
                }
            }
        }
        assert_eq!(widget("nope"), None);
        assert_eq!(slugs.len(), 43);
    }

    /// Decks: at least eight steps, showing every widget of the chapter and
    /// no other chapter's.
    #[test]
    fn every_deck_has_eight_steps_and_uses_every_widget_of_its_chapter() {
        for chapter in ALL {
            let steps = chapter.deck;
            assert!(
                steps.len() >= 8,
                "{} has {} steps",
                chapter.slug(),
                steps.len()
            );
            for widget in chapter.page.widgets {
                assert!(
                    steps
                        .iter()
                        .any(|s| matches!(s, Step::Widget { widget: w, .. } if w == widget)),
                    "{}'s deck never shows {}",
                    chapter.slug(),
                    widget.slug
                );
            }
            for step in steps.iter() {
                if let Step::Widget { widget, .. } = step {
                    assert!(chapter.page.widgets.contains(widget), "{}", widget.slug);
                }
            }
        }
    }

    /// Projected text stays short: at most 45 English words, and at most
    /// 100 characters of Chinese.
    #[test]
    fn text_steps_are_short() {
        for step in ALL.iter().flat_map(|c| c.deck) {
            if let Step::Text { heading, body } = step {
                let words = body(Locale::en).split_whitespace().count();
                assert!(words <= 45, "“{}” has {words} words", heading(Locale::en));
                let chars = body(Locale::zh).chars().count();
                assert!(
                    chars <= 100,
                    "“{}” has {chars} characters",
                    heading(Locale::zh)
                );
            }
        }
    }

    /// The menu: every group has a chapter, and neighbours walk the list.
    #[test]
    fn groups_and_neighbours_follow_the_list() {
        for group in Group::ALL {
            assert!(ALL.iter().any(|c| c.group == group), "{group:?} is empty");
        }
        assert_eq!(neighbours(ALL[0]), (None, Some(ALL[1])));
        let last = ALL.len() - 1;
        assert_eq!(neighbours(ALL[last]), (Some(ALL[last - 1]), None));
        for i in 1..last {
            assert_eq!(neighbours(ALL[i]), (Some(ALL[i - 1]), Some(ALL[i + 1])));
        }
    }

    /// Every chapter has its picture for the home page, drawn by `cargo
    /// xtask pictures`: an SVG under 10 KB, described in both languages.
    #[test]
    fn every_chapter_has_a_small_picture() {
        for chapter in ALL {
            let path = format!("{}/..{}", env!("CARGO_MANIFEST_DIR"), chapter.picture());
            let svg = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
            assert!(
                svg.starts_with("<svg") && svg.trim_end().ends_with("</svg>"),
                "{path}"
            );
            assert!(svg.len() < 10 * 1024, "{path} is {} bytes", svg.len());
            for locale in [Locale::en, Locale::zh] {
                assert!(
                    (chapter.picture_alt)(locale).chars().count() > 10,
                    "{}",
                    chapter.slug()
                );
            }
        }
    }

    /// Every formula in the chapters' summaries, sections and decks is
    /// typeset, with words.
    #[test]
    fn every_formula_is_typeset() {
        let mut texts: Vec<&str> = Vec::new();
        for locale in [Locale::en, Locale::zh] {
            for chapter in ALL {
                texts.push((chapter.summary)(locale));
                for section in chapter.sections {
                    texts.push((section.heading)(locale));
                    texts.extend(section.paragraphs(locale));
                }
                for step in chapter.deck {
                    match *step {
                        Step::Text { heading, body } => {
                            texts.extend([heading(locale), body(locale)])
                        }
                        Step::Widget { caption, .. } => texts.push(caption(locale)),
                    }
                }
            }
        }
        let mut seen = 0;
        for text in texts {
            for piece in pieces(text) {
                if let Piece::Math(latex) = piece {
                    for locale in [Locale::en, Locale::zh] {
                        let (mathml, spoken) = formula(latex, locale)
                            .unwrap_or_else(|| panic!("`{latex}` is not typeset"));
                        assert!(mathml.starts_with("<math") && mathml.ends_with("</math>"));
                        assert!(
                            !spoken.is_empty() && !spoken.contains('\\'),
                            "{latex}: {spoken}"
                        );
                    }
                    seen += 1;
                }
            }
        }
        assert!(seen >= 10, "only {seen} formulas in the teaching text");
    }
}
