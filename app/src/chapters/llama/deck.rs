//! The chapter as a lecture deck (`present=1`): text steps, and widgets
//! with a preset query. Content only; the shell's `present.rs` shows it.

use crate::shell::{chapter::Step, text::text};

pub const DECK: &[Step] = &[
    Step::Text {
        heading: text!(llama.deck_1_heading),
        body: text!(llama.deck_1_body),
    },
    Step::Widget {
        widget: super::embeds::WRITE,
        query: "form=wujue&seed=1",
        caption: text!(llama.deck_2_caption),
    },
    Step::Widget {
        widget: super::embeds::WRITE,
        query: "form=qilv&seed=3&temp=1",
        caption: text!(llama.deck_3_caption),
    },
    Step::Text {
        heading: text!(llama.deck_4_heading),
        body: text!(llama.deck_4_body),
    },
    Step::Widget {
        widget: super::embeds::ACROSTIC,
        query: "heads=%E6%98%A5%E5%A4%8F%E7%A7%8B%E5%86%AC",
        caption: text!(llama.deck_5_caption),
    },
    Step::Text {
        heading: text!(llama.deck_6_heading),
        body: text!(llama.deck_6_body),
    },
    Step::Widget {
        widget: super::embeds::INSIDE,
        query: "layer=1",
        caption: text!(llama.deck_7_caption),
    },
    Step::Widget {
        widget: super::embeds::SCALING,
        query: "",
        caption: text!(llama.deck_8_caption),
    },
    Step::Widget {
        widget: super::embeds::SPEED,
        query: "",
        caption: text!(llama.deck_9_caption),
    },
    Step::Text {
        heading: text!(llama.deck_10_heading),
        body: text!(llama.deck_10_body),
    },
];

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{chapters::llama::widgets::LlamaState, shell::chapter::preset_notices};

    #[test]
    fn every_preset_query_parses_without_notices() {
        assert_eq!(preset_notices::<LlamaState>(DECK), Vec::<String>::new());
    }
}
