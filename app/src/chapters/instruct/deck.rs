//! The chapter as a lecture deck (`present=1`): text steps, and widgets
//! with a preset query. Content only; the shell's `present.rs` shows it.

use crate::shell::{chapter::Step, text::text};

pub const DECK: &[Step] = &[
    Step::Text {
        heading: text!(instruct.deck_1_heading),
        body: text!(instruct.deck_1_body),
    },
    Step::Widget {
        widget: super::embeds::RECIPE,
        query: "",
        caption: text!(instruct.deck_2_caption),
    },
    Step::Text {
        heading: text!(instruct.deck_3_heading),
        body: text!(instruct.deck_3_body),
    },
    Step::Widget {
        widget: super::embeds::FUNNEL,
        query: "instruction=%E5%86%99%E4%B8%80%E9%A6%96%E4%BA%94%E7%BB%9D",
        caption: text!(instruct.deck_4_caption),
    },
    Step::Widget {
        widget: super::embeds::TRY,
        query: "instruction=%E5%86%99%E4%B8%80%E9%A6%96%E4%B8%83%E5%BE%8B&seed=1",
        caption: text!(instruct.deck_5_caption),
    },
    Step::Widget {
        widget: super::embeds::TRY,
        query: "instruction=%E4%BB%A5%E3%80%8C%E6%98%A5%E9%A3%8E%E7%A7%8B%E6%9C%88%E3%80%8D%E4%B8%BA%E8%97%8F%E5%A4%B4%E5%86%99%E4%B8%80%E9%A6%96%E4%BA%94%E7%BB%9D&seed=2",
        caption: text!(instruct.deck_6_caption),
    },
    Step::Widget {
        widget: super::embeds::ACCURACY,
        query: "",
        caption: text!(instruct.deck_7_caption),
    },
    Step::Text {
        heading: text!(instruct.deck_8_heading),
        body: text!(instruct.deck_8_body),
    },
];

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{chapters::instruct::widgets::InstructState, shell::chapter::preset_notices};

    #[test]
    fn every_preset_query_parses_without_notices() {
        assert_eq!(preset_notices::<InstructState>(DECK), Vec::<String>::new());
    }
}
