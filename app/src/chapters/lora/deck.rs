//! The chapter as a lecture deck (`present=1`): text steps, and widgets
//! with a preset query. Content only; the shell's `present.rs` shows it.

use crate::shell::{chapter::Step, text::text};

pub const DECK: &[Step] = &[
    Step::Text {
        heading: text!(lora.deck_1_heading),
        body: text!(lora.deck_1_body),
    },
    Step::Widget {
        widget: super::embeds::TRAIN,
        query: "steps=40",
        caption: text!(lora.deck_2_caption),
    },
    Step::Text {
        heading: text!(lora.deck_3_heading),
        body: text!(lora.deck_3_body),
    },
    Step::Widget {
        widget: super::embeds::COMPARE,
        query: "swap=base",
        caption: text!(lora.deck_4_caption),
    },
    Step::Widget {
        widget: super::embeds::COMPARE,
        query: "swap=dufu&poet=dufu",
        caption: text!(lora.deck_5_caption),
    },
    Step::Widget {
        widget: super::embeds::INSIDE,
        query: "swap=libai&poet=libai",
        caption: text!(lora.deck_6_caption),
    },
    Step::Widget {
        widget: super::embeds::TABLE,
        query: "poet=baijuyi",
        caption: text!(lora.deck_7_caption),
    },
    Step::Text {
        heading: text!(lora.deck_8_heading),
        body: text!(lora.deck_8_body),
    },
];

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{chapters::lora::widgets::LoraState, shell::chapter::preset_notices};

    #[test]
    fn every_preset_query_parses_without_notices() {
        assert_eq!(preset_notices::<LoraState>(DECK), Vec::<String>::new());
    }
}
