//! The chapter's embeddable widgets: each one's slug (`/embed/<slug>`) and
//! title. The page, the deck and the registry name them from here.

use crate::shell::{text::text, widget::Widget};

pub const CALCULATOR: Widget = Widget {
    slug: "kv-calculator",
    title: text!(attention.widget_calculator),
};

pub const LIVE: Widget = Widget {
    slug: "kv-live",
    title: text!(attention.widget_live),
};

pub const MEMORY: Widget = Widget {
    slug: "kv-memory",
    title: text!(attention.widget_memory),
};
