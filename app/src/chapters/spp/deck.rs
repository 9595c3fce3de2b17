//! The chapter as a lecture deck (`present=1`): text steps, and widgets
//! with a preset query. Content only; the shell's `present.rs` shows it.

use crate::shell::{chapter::Step, text::text};

pub const DECK: &[Step] = &[
    Step::Text {
        heading: text!(spp.deck_1_heading),
        body: text!(spp.deck_1_body),
    },
    Step::Widget {
        widget: super::embeds::ANY_SIZE,
        query: "face=3&input=2&bin=0",
        caption: text!(spp.deck_2_caption),
    },
    Step::Widget {
        widget: super::embeds::ANY_SIZE,
        query: "face=3&input=2&bin=12",
        caption: text!(spp.deck_3_caption),
    },
    Step::Text {
        heading: text!(spp.deck_4_heading),
        body: text!(spp.deck_4_body),
    },
    Step::Widget {
        widget: super::embeds::WINDOW,
        query: "scene=1&wx=96&wy=80&wh=64",
        caption: text!(spp.deck_5_caption),
    },
    Step::Widget {
        widget: super::embeds::RACE,
        query: "scene=1&windows=2000",
        caption: text!(spp.deck_6_caption),
    },
    Step::Widget {
        widget: super::embeds::DETECT,
        query: "scene=1&conf=50",
        caption: text!(spp.deck_7_caption),
    },
    Step::Text {
        heading: text!(spp.deck_8_heading),
        body: text!(spp.deck_8_body),
    },
];

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{chapters::spp::widgets::SppState, shell::chapter::preset_notices};

    #[test]
    fn every_preset_query_parses_without_notices() {
        assert_eq!(preset_notices::<SppState>(DECK), Vec::<String>::new());
    }
}
