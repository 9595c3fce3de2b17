//! The chapter as a lecture deck (`present=1`): text steps, and widgets
//! with a preset query. Content only; the shell's `present.rs` shows it.

use crate::shell::{chapter::Step, text::text};

pub const DECK: &[Step] = &[
    Step::Text {
        heading: text!(detr.deck_1_heading),
        body: text!(detr.deck_1_body),
    },
    Step::Widget {
        widget: super::embeds::DETECT,
        query: "scene=1",
        caption: text!(detr.deck_2_caption),
    },
    Step::Text {
        heading: text!(detr.deck_3_heading),
        body: text!(detr.deck_3_body),
    },
    Step::Widget {
        widget: super::embeds::QUERIES,
        query: "scene=1",
        caption: text!(detr.deck_4_caption),
    },
    Step::Widget {
        widget: super::embeds::QUERIES,
        query: "scene=1&layer=0",
        caption: text!(detr.deck_5_caption),
    },
    Step::Widget {
        widget: super::embeds::ATTENTION,
        query: "scene=1&query=0&cell=66",
        caption: text!(detr.deck_6_caption),
    },
    Step::Text {
        heading: text!(detr.deck_7_heading),
        body: text!(detr.deck_7_body),
    },
    Step::Widget {
        widget: super::embeds::MATCHING,
        query: "scene=1",
        caption: text!(detr.deck_8_caption),
    },
    Step::Widget {
        widget: super::embeds::PIPELINE,
        query: "scene=1&stage=7&query=0",
        caption: text!(detr.deck_pipeline_caption),
    },
    Step::Widget {
        widget: super::embeds::DETECT,
        query: "scene=7&conf=30",
        caption: text!(detr.deck_9_caption),
    },
    Step::Text {
        heading: text!(detr.deck_10_heading),
        body: text!(detr.deck_10_body),
    },
];

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{chapters::detr::widgets::DetrState, shell::chapter::preset_notices};

    #[test]
    fn every_preset_query_parses_without_notices() {
        assert_eq!(preset_notices::<DetrState>(DECK), Vec::<String>::new());
    }
}
