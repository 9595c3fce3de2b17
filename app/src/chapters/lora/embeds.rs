//! The chapter's embeddable widgets: each one's slug (`/embed/<slug>`) and
//! title. The page, the deck and the registry name them from here.

use crate::shell::{text::text, widget::Widget};

pub const TRAIN: Widget = Widget {
    slug: "lora-train",
    title: text!(lora.widget_train),
};

pub const COMPARE: Widget = Widget {
    slug: "lora-compare",
    title: text!(lora.widget_compare),
};

pub const INSIDE: Widget = Widget {
    slug: "lora-inside",
    title: text!(lora.widget_inside),
};

pub const TABLE: Widget = Widget {
    slug: "lora-table",
    title: text!(lora.widget_table),
};
