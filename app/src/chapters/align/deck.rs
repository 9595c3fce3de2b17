//! The chapter as a lecture deck (`present=1`): text steps, and widgets
//! with a preset query. Content only; the shell's `present.rs` shows it.

use crate::shell::{chapter::Step, text::text};

pub const DECK: &[Step] = &[
    Step::Text {
        heading: text!(align.deck_1_heading),
        body: text!(align.deck_1_body),
    },
    Step::Widget {
        widget: super::embeds::CHECKER,
        query: "",
        caption: text!(align.deck_2_caption),
    },
    Step::Widget {
        widget: super::embeds::CHECKER,
        query: "poem=%E5%BA%8A%E5%89%8D%E6%98%8E%E6%9C%88%E5%85%89%EF%BC%8C%E7%96%91%E6%98%AF%E5%9C%B0%E4%B8%8A%E9%9C%9C%E3%80%82%E4%B8%BE%E5%A4%B4%E6%9C%9B%E6%98%8E%E6%9C%88%EF%BC%8C%E4%BD%8E%E5%A4%B4%E6%80%9D%E6%95%85%E4%B9%A1%E3%80%82",
        caption: text!(align.deck_3_caption),
    },
    Step::Widget {
        widget: super::embeds::STAGES,
        query: "",
        caption: text!(align.deck_4_caption),
    },
    Step::Widget {
        widget: super::embeds::FRONTIER,
        query: "run=bon-16",
        caption: text!(align.deck_5_caption),
    },
    Step::Widget {
        widget: super::embeds::PROXY,
        query: "",
        caption: text!(align.deck_6_caption),
    },
    Step::Widget {
        widget: super::embeds::IMPLICIT,
        query: "",
        caption: text!(align.deck_7_caption),
    },
    Step::Widget {
        widget: super::embeds::LABELLER,
        query: "",
        caption: text!(align.deck_8_caption),
    },
    Step::Text {
        heading: text!(align.deck_9_heading),
        body: text!(align.deck_9_body),
    },
];

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{chapters::align::widgets::AlignState, shell::chapter::preset_notices};

    #[test]
    fn every_preset_query_parses_without_notices() {
        assert_eq!(preset_notices::<AlignState>(DECK), Vec::<String>::new());
    }
}
