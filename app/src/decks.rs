//! Presentation mode's decks: each chapter as a sequence of steps for a
//! lecturer. Content only, like `chapters.rs`; `present.rs` shows them.
//!
//! A step is a short text in large type, or one widget with a preset state
//! written as the URL query it would have on the chapter page (parameters
//! left out keep their defaults).

use crate::{chapters::Chapter, widgets::Widget};

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Step {
    /// A heading and at most about 40 words.
    Text {
        heading: &'static str,
        body: &'static str,
    },
    /// One widget in a preset state, with a line saying what to look at.
    Widget {
        widget: Widget,
        query: &'static str,
        caption: &'static str,
    },
}

/// MNIST test digit 699, a 7, as chapter 1's drawing code (what "Load a real
/// test digit" writes for #699; a test checks it against the committed split).
/// A macro, so `concat!` can put it into queries.
macro_rules! test_seven {
    () => {
        "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAfAAAH8AAH_wAA-GAAAA4AAADgAAAcAAABwAAAGAAAA4AAADAAAAMAAABwAAAGAAAA4AAADgAAAMAAAAwAAADgAAAMAAAAAAA"
    };
}
pub const TEST_SEVEN: (usize, &str) = (699, test_seven!());

const AUTOREGRESSIVE: &[Step] = &[
    Step::Text {
        heading: "The chain rule over pixels",
        body: "Any 28×28 binary image has an exact probability: a product of 784 conditionals, \
               one pixel at a time in reading order. The models differ only in how they compute \
               $p(x_i = 1 \\mid x_{<i})$.",
    },
    Step::Widget {
        widget: Widget::ArScore,
        query: concat!("x=", test_seven!()),
        caption:
            "Test digit #699, a 7: its exact likelihood under all four models, and where each \
                  model was surprised. Draw on it to see the numbers move.",
    },
    Step::Text {
        heading: "Four ways to parameterise the conditionals",
        body: "FVSBN: a logistic regression per pixel, 307,720 weights. NADE: one shared hidden \
               layer, updated in O(d) per pixel. MADE: an autoencoder with masked connections. \
               PixelCNN: masked convolutions, weights shared across positions.",
    },
    Step::Widget {
        widget: Widget::ArSample,
        query: "model=nade&seed=3&speed=16",
        caption: "NADE draws a digit with seed 3, one pixel at a time. Press Sample.",
    },
    Step::Widget {
        widget: Widget::ArSample,
        query: "model=pixelcnn&seed=3&speed=16",
        caption: "PixelCNN with the same seed: the same random numbers, a different model, a \
                  different digit.",
    },
    Step::Text {
        heading: "Teacher forcing versus sampling",
        body: "Scoring feeds the true pixels, so every conditional comes from one parallel pass. \
               Sampling cannot be parallel: pixel i needs the value just drawn for pixel i − 1, \
               so a sample is 784 sequential steps.",
    },
    Step::Widget {
        widget: Widget::ArComplete,
        query: concat!("rows=14&x=", test_seven!()),
        caption:
            "Keep the top 14 rows of the 7 and let each model finish it. A raster-order model \
                  can only complete what comes after.",
    },
    Step::Widget {
        widget: Widget::ArCosts,
        query: "",
        caption: "What each model costs: parameters, and the time to score and to sample, \
                  measured on this device.",
    },
    Step::Text {
        heading: "What to remember",
        body: "Autoregressive models give exact likelihoods, so they can be compared in bits per \
               pixel. The price is sampling: one step per pixel, in order.",
    },
];

const ATTENTION: &[Step] = &[
    Step::Text {
        heading: "Why the KV cache sets the limits",
        body: "Each new token attends to every earlier one, so servers keep every earlier token's \
               keys and values, in every layer. That cache grows by fixed bytes per token and \
               usually limits context and batch size.",
    },
    Step::Text {
        heading: "What each variant keeps per token and layer",
        body: "MHA: a key and a value for every head, $2 n_h d_h$. GQA: one pair per group of \
               heads, $2 n_g d_h$. MQA: one pair in all, $2 d_h$. MLA: one compressed latent and a \
               small RoPE key, $d_c + d_h^R$.",
    },
    Step::Widget {
        widget: Widget::KvCalculator,
        query: "preset=Llama-2-7B&variant=mha&layers=32&heads=32&kv_heads=32&head_dim=128&context=4096",
        caption: "Llama 2 7B, multi-head attention: every head keeps its own keys and values.",
    },
    Step::Widget {
        widget: Widget::KvCalculator,
        query: "preset=Llama-3.1-8B&variant=gqa&layers=32&heads=32&kv_heads=8&head_dim=128&context=131072",
        caption: "Llama 3.1 8B: grouped-query attention, 8 key/value heads for 32 query heads.",
    },
    Step::Widget {
        widget: Widget::KvCalculator,
        query: "preset=DeepSeek-V2&variant=mla&layers=60&heads=128&kv_heads=128&head_dim=128&kv_lora_rank=512&rope_dim=64&context=131072",
        caption: "DeepSeek-V2: 128 heads, yet per token only a 512-value latent and a 64-value \
                  RoPE key per layer.",
    },
    Step::Text {
        heading: "Sliding windows",
        body: "A window caps a layer's cache at the last w tokens. Mistral 7B windows every layer; \
               Gemma 2 alternates local and global layers, so only half of its cache stops \
               growing.",
    },
    Step::Widget {
        widget: Widget::KvCalculator,
        query: "preset=Gemma-2-9B&variant=gqa&layers=42&heads=16&kv_heads=8&head_dim=256&context=8192&window=4096&window_layers=alternate",
        caption: "Gemma 2 9B: windowed and global layers alternate.",
    },
    Step::Text {
        heading: "Four attentions, one task",
        body: "Four small transformers, trained here on MNIST as 196 patch tokens, share \
               everything but attention: MHA with 4 key/value heads, GQA with 2, MQA with 1, \
               and MLA with a 32-value latent.",
    },
    Step::Widget {
        widget: Widget::KvLive,
        query: "live=mha&live_seed=1&live_cache=true",
        caption: "MHA decoding live: its cache grows by every head's keys and values at each step.",
    },
    Step::Widget {
        widget: Widget::KvLive,
        query: "live=mla&live_seed=1&live_cache=true&live_form=absorbed",
        caption: "MLA on the same task, absorbed form: a far smaller cache, attention run \
                  directly over the latents.",
    },
    Step::Widget {
        widget: Widget::KvLive,
        query: "live=gqa&live_seed=1&live_cache=false",
        caption: "Without the cache every step recomputes the whole prefix: watch the per-step \
                  time climb.",
    },
];

const DETR: &[Step] = &[
    Step::Text {
        heading: "Detection as set prediction",
        body: "Classic detectors propose thousands of boxes and prune duplicates with \
               non-maximum suppression. DETR predicts a fixed set of N answers, each a class and \
               a box, where the class ∅ means “nothing here”.",
    },
    Step::Widget {
        widget: Widget::DetrDetect,
        query: "scene=1",
        caption: "A generated test scene. Draw your own digits, drop in real ones, or upload a \
                  photo.",
    },
    Step::Text {
        heading: "Object queries",
        body: "Ten learned vectors, the same for every image. Each decoder layer lets them attend \
               to each other, to divide the work, and to the image, to find something to claim. \
               Most answer ∅.",
    },
    Step::Widget {
        widget: Widget::DetrQueries,
        query: "scene=1",
        caption: "All ten queries after the last decoder layer: each one's 11-way distribution \
                  and its box. ∅ queries are dimmed.",
    },
    Step::Widget {
        widget: Widget::DetrQueries,
        query: "scene=1&layer=0",
        caption: "The same queries after the first decoder layer: rougher guesses, later refined.",
    },
    Step::Widget {
        widget: Widget::DetrAttention,
        query: "scene=1&query=0&cell=66",
        caption: "Where a query looks, per head, and how one encoder cell attends to the rest of \
                  the canvas.",
    },
    Step::Text {
        heading: "Hungarian matching",
        body:
            "A set has no order. DETR finds the one-to-one assignment of objects to queries with \
               the least total cost, then trains matched queries toward their digit and every \
               other query toward ∅.",
    },
    Step::Widget {
        widget: Widget::DetrMatching,
        query: "scene=1",
        caption: "The cost matrix, its parts, and the assignment. Without one-to-one matching, \
                  several queries would claim the same digit.",
    },
    Step::Widget {
        widget: Widget::DetrDetect,
        query: "scene=7&conf=30",
        caption: "Another scene, with the confidence threshold lowered to 30%.",
    },
    Step::Text {
        heading: "Why DETR trains slowly",
        body: "Early on every query attends everywhere and its match changes from step to step. \
               DETR-R50 needed 500 epochs on COCO for 42.0 AP (Carion et al., 2020).",
    },
];

/// The chapter's deck.
pub fn deck(chapter: Chapter) -> &'static [Step] {
    match chapter {
        Chapter::Autoregressive => AUTOREGRESSIVE,
        Chapter::Attention => ATTENTION,
        Chapter::Detr => DETR,
    }
}

/// Every text of every deck (headings, bodies, captions), for checks that
/// cover all content.
pub fn all_text() -> impl Iterator<Item = &'static str> {
    Chapter::ALL
        .into_iter()
        .flat_map(|c| deck(c).iter())
        .flat_map(|step| match *step {
            Step::Text { heading, body } => [heading, body],
            Step::Widget { caption, .. } => [caption, ""],
        })
}

#[cfg(test)]
mod tests {
    use compute::kv_cache::parse_presets;

    use super::*;
    use crate::{
        url_state::{parse_query, WidgetState},
        widgets::{ar::ArState, attention::KvState, detr::DetrState},
    };

    fn pairs(query: &str) -> Vec<(String, String)> {
        serde_urlencoded::from_str(query).unwrap()
    }

    fn notices<S: WidgetState>(query: &str) -> Vec<String> {
        parse_query::<S>(&pairs(query)).notices
    }

    #[test]
    fn every_deck_has_eight_steps_and_uses_every_widget_of_its_chapter() {
        for chapter in Chapter::ALL {
            let steps = deck(chapter);
            assert!(steps.len() >= 8, "{chapter:?} has {} steps", steps.len());
            let page = format!("/{}", chapter.slug());
            for widget in Widget::ALL.into_iter().filter(|w| w.page() == page) {
                assert!(
                    steps
                        .iter()
                        .any(|s| matches!(s, Step::Widget { widget: w, .. } if *w == widget)),
                    "{chapter:?}'s deck never shows {widget:?}"
                );
            }
        }
    }

    #[test]
    fn text_steps_are_short() {
        for step in Chapter::ALL.into_iter().flat_map(deck) {
            if let Step::Text { heading, body } = step {
                let words = body.split_whitespace().count();
                assert!(words <= 45, "“{heading}” has {words} words");
            }
        }
    }

    #[test]
    fn every_preset_query_parses_without_notices() {
        for step in Chapter::ALL.into_iter().flat_map(deck) {
            let Step::Widget { widget, query, .. } = step else {
                continue;
            };
            let ignored = match widget.page() {
                "/autoregressive" => notices::<ArState>(query),
                "/attention" => notices::<KvState>(query),
                "/detr" => notices::<DetrState>(query),
                other => panic!("{widget:?} belongs to {other}, which has no deck"),
            };
            assert!(ignored.is_empty(), "{widget:?} {query}: {ignored:?}");
        }
    }

    /// A calculator step naming a preset shows exactly that preset's shape.
    #[test]
    fn calculator_steps_match_their_presets() {
        let presets =
            parse_presets(include_str!("../../assets/reference/kv-cache-models.json")).unwrap();
        let mut checked = 0;
        for step in deck(Chapter::Attention) {
            let Step::Widget {
                widget: Widget::KvCalculator,
                query,
                ..
            } = step
            else {
                continue;
            };
            let state = parse_query::<KvState>(&pairs(query)).state;
            let preset = presets.iter().find(|p| p.name == state.preset).unwrap();
            assert_eq!(state.with_preset(preset).unwrap(), state, "{query}");
            checked += 1;
        }
        assert!(checked >= 3);
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
        for step in deck(Chapter::Autoregressive) {
            if let Step::Widget { query, .. } = step {
                if let Some(x) = query.split('&').find_map(|p| p.strip_prefix("x=")) {
                    assert_eq!(x, code, "{query}");
                }
            }
        }
    }
}
