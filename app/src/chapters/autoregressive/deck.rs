//! The chapter as a lecture deck (`present=1`): text steps, and widgets
//! with a preset query. Content only; the shell's `present.rs` shows it.

use crate::shell::{chapter::Step, text::text};

/// MNIST test digit 699, a 7, as chapter 1's drawing code (what "Load a real
/// test digit" writes for #699; a test checks it against the committed split).
/// A macro, so `concat!` can put it into queries.
macro_rules! test_seven {
    () => {
        "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAfAAAH8AAH_wAA-GAAAA4AAADgAAAcAAABwAAAGAAAA4AAADAAAAMAAABwAAAGAAAA4AAADgAAAMAAAAwAAADgAAAMAAAAAAA"
    };
}
#[cfg(test)]
pub const TEST_SEVEN: (usize, &str) = (699, test_seven!());

pub const DECK: &[Step] = &[
    Step::Text {
        heading: text!(autoregressive.deck_1_heading),
        body: text!(autoregressive.deck_1_body),
    },
    Step::Widget {
        widget: super::embeds::SCORE,
        query: concat!("x=", test_seven!()),
        caption: text!(autoregressive.deck_2_caption),
    },
    Step::Text {
        heading: text!(autoregressive.deck_3_heading),
        body: text!(autoregressive.deck_3_body),
    },
    Step::Widget {
        widget: super::embeds::SAMPLE,
        query: "model=nade&seed=3&speed=16",
        caption: text!(autoregressive.deck_4_caption),
    },
    Step::Widget {
        widget: super::embeds::SAMPLE,
        query: "model=pixelcnn&seed=3&speed=16",
        caption: text!(autoregressive.deck_5_caption),
    },
    Step::Widget {
        widget: super::embeds::RECEPTIVE,
        query: concat!("pixel=400&x=", test_seven!()),
        caption: text!(autoregressive.deck_receptive_caption),
    },
    Step::Text {
        heading: text!(autoregressive.deck_6_heading),
        body: text!(autoregressive.deck_6_body),
    },
    Step::Widget {
        widget: super::embeds::COMPLETE,
        query: concat!("rows=14&x=", test_seven!()),
        caption: text!(autoregressive.deck_7_caption),
    },
    Step::Widget {
        widget: super::embeds::COSTS,
        query: "",
        caption: text!(autoregressive.deck_8_caption),
    },
    Step::Text {
        heading: text!(autoregressive.deck_9_heading),
        body: text!(autoregressive.deck_9_body),
    },
];

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{chapters::autoregressive::widgets::ArState, shell::chapter::preset_notices};

    #[test]
    fn every_preset_query_parses_without_notices() {
        assert_eq!(preset_notices::<ArState>(DECK), Vec::<String>::new());
    }

    /// TEST_SEVEN is what "Load a real test digit" writes for its index.
    #[test]
    fn the_test_seven_is_test_digit_699() {
        let bytes = std::fs::read(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../assets/data/mnist-test.safetensors"
        ))
        .unwrap();
        let st = safetensors::SafeTensors::deserialize(&bytes).unwrap();
        let images = st.tensor("images").unwrap();
        let labels = st.tensor("labels").unwrap();
        let (index, code) = TEST_SEVEN;
        assert_eq!(labels.data()[index], 7);
        let image: Vec<f32> = images.data()[index * 784..(index + 1) * 784]
            .iter()
            .map(|&p| (p >= 128) as u8 as f32)
            .collect();
        assert_eq!(compute::models::ar::image_to_code(&image), code);
        for step in DECK {
            if let Step::Widget { query, .. } = step {
                if let Some(x) = query.split('&').find_map(|p| p.strip_prefix("x=")) {
                    assert_eq!(x, code, "{query}");
                }
            }
        }
    }
}
