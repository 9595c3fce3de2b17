//! The chapter as a lecture deck (`present=1`): text steps, and widgets
//! with a preset query. Content only; the shell's `present.rs` shows it.

use crate::shell::{chapter::Step, text::text};

/// 明月 故乡, percent-encoded.
macro_rules! moon_home {
    () => {
        "q=%E6%98%8E%E6%9C%88%20%E6%95%85%E4%B9%A1"
    };
}

pub const DECK: &[Step] = &[
    Step::Text {
        heading: text!(search.deck_1_heading),
        body: text!(search.deck_1_body),
    },
    Step::Widget {
        widget: super::embeds::BUILD,
        query: "q=%E6%98%8E%E6%9C%88",
        caption: text!(search.deck_2_caption),
    },
    Step::Widget {
        widget: super::embeds::QUERY,
        query: "q=%E6%98%8E%E6%9C%88",
        caption: text!(search.deck_3_caption),
    },
    Step::Text {
        heading: text!(search.deck_4_heading),
        body: text!(search.deck_4_body),
    },
    Step::Widget {
        widget: super::embeds::INTERSECT,
        query: concat!(moon_home!(), "&mode=merge&at=20"),
        caption: text!(search.deck_5_caption),
    },
    Step::Widget {
        widget: super::embeds::INTERSECT,
        query: concat!(moon_home!(), "&mode=gallop&at=20"),
        caption: text!(search.deck_6_caption),
    },
    Step::Text {
        heading: text!(search.deck_7_heading),
        body: text!(search.deck_7_body),
    },
    Step::Widget {
        widget: super::embeds::QUERY,
        query: concat!(moon_home!(), "&k1=2&b=0.3"),
        caption: text!(search.deck_8_caption),
    },
    Step::Widget {
        widget: super::embeds::PIPELINE,
        query: "q=%E6%98%8E%E6%9C%88&w=0.5",
        caption: text!(search.deck_9_caption),
    },
    Step::Text {
        heading: text!(search.deck_10_heading),
        body: text!(search.deck_10_body),
    },
];

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{chapters::search::widgets::SearchState, shell::chapter::preset_notices};

    #[test]
    fn every_preset_query_parses_without_notices() {
        assert_eq!(preset_notices::<SearchState>(DECK), Vec::<String>::new());
    }
}
